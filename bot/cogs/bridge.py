"""`/bridge link|unlink|events|resume|status`: server admins link this server to a VRChat group."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.cogs._groups import group_autocomplete
from bot.events import EVENT_FAMILIES, FAMILY_DESCRIPTIONS
from bot.replies import NO_MENTIONS, send_ephemeral
from bot.services import StatusReport
from bot.text import safe_text
from bot.views.context import actor_of, services_of

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot


def _age(delta: timedelta | None) -> str:
    if delta is None:
        return "never"
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def status_embed(report: StatusReport) -> discord.Embed:
    healthy = not report.session_blocked and report.vrchat_user_id
    embed = discord.Embed(
        title="GroupBridge status",
        colour=discord.Colour.green() if healthy and not report.paused_channels else discord.Colour.orange(),
        timestamp=report.generated_at,
    )
    session = (
        "expired: run `groupbridge login`" if report.session_blocked else f"OK ({report.vrchat_user_id})"
    )
    embed.add_field(name="VRChat session", value=session, inline=False)
    for group in report.groups[:10]:
        lines = [
            f"last poll {_age(report.generated_at - group.last_poll_at if group.last_poll_at else None)}",
            f"newest entry {_age(group.cursor_age)}",
        ]
        if group.last_error:
            lines.append(f"last error: {safe_text(group.last_error, 300)}")
        embed.add_field(
            name=safe_text(group.group_name, 100, single_line=True), value="\n".join(lines), inline=False
        )
    outbox = f"{report.outbox_pending} entries waiting"
    oldest = [c.oldest_pending_age for c in report.channels if c.oldest_pending_age]
    if oldest:
        outbox += f", oldest {_age(max(oldest))}"
    embed.add_field(name="Feed outbox", value=outbox, inline=False)
    for channel in report.paused_channels[:5]:
        embed.add_field(
            name="Paused feed channel",
            value=f"<#{channel.channel_id}>: {safe_text(channel.paused_reason or 'no reason recorded', 300)}",
            inline=False,
        )
    if report.gaps:
        embed.add_field(name="Unannounced gaps", value=str(len(report.gaps)), inline=False)
    return embed


@app_commands.command(name="link", description="Link a VRChat group to this server")
@app_commands.describe(
    group="The group's ID (grp_…) or its vrchat.com link",
    feed="Channel for the group's audit log",
    requests="Channel for join-request cards",
    moderator_role="Role whose members may moderate (admins always can)",
)
async def link(
    interaction: discord.Interaction,
    group: str,
    feed: discord.TextChannel,
    requests: discord.TextChannel | None = None,
    moderator_role: discord.Role | None = None,
) -> None:
    services = services_of(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    binding = await services.bindings.link(
        actor_of(interaction),
        interaction.guild_id or 0,
        group,
        feed.id,
        requests.id if requests else None,
        [moderator_role.id] if moderator_role else [],
    )
    label = safe_text(services.access.group_label(binding.group_id), 100)
    await send_ephemeral(interaction, f"Linked {label}: its audit log will appear in {feed.mention}.")


@app_commands.command(name="unlink", description="Stop mirroring a VRChat group here")
@app_commands.autocomplete(group=group_autocomplete)
async def unlink(interaction: discord.Interaction, group: str) -> None:
    services = services_of(interaction)
    removed = await services.bindings.unlink(actor_of(interaction), interaction.guild_id or 0, group)
    await send_ephemeral(interaction, f"Unlinked ({len(removed)} feed channel(s)).")


@app_commands.command(name="events", description="Choose which kinds of audit events the feed shows")
@app_commands.describe(families=f"Comma-separated: {', '.join(EVENT_FAMILIES)}")
@app_commands.autocomplete(group=group_autocomplete)
async def events(interaction: discord.Interaction, group: str, families: str) -> None:
    services = services_of(interaction)
    chosen = [f for f in families.split(",") if f.strip()]
    await services.bindings.set_events(actor_of(interaction), interaction.guild_id or 0, group, chosen)
    described = "\n".join(f"• {f}: {FAMILY_DESCRIPTIONS[f.strip().lower()]}" for f in chosen)
    await send_ephemeral(interaction, f"The feed now shows:\n{described}")


@app_commands.command(name="resume", description="Resume a feed channel paused after a Discord error")
async def resume(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
    services = services_of(interaction)
    await services.bindings.resume(actor_of(interaction), interaction.guild_id or 0, channel.id)
    await send_ephemeral(interaction, f"Resumed {channel.mention}; waiting entries will be posted.")


@app_commands.command(name="status", description="Session health, polling, outbox and paused channels")
async def status(interaction: discord.Interaction) -> None:
    services = services_of(interaction)
    services.access.require_admin(actor_of(interaction))
    report = await services.bindings.status(interaction.guild_id or 0)
    await interaction.response.send_message(
        embed=status_embed(report), ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def setup(bot: GroupBridgeBot) -> None:
    for command in (link, unlink, events, resume, status):
        bot.groups.bridge.add_command(command)
