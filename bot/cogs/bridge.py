"""`/bridge link|unlink|events|resume|status`: server admins link this server to a VRChat group."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.cogs._status import RecentProblems, about_this_server, status_embed
from bot.events import EVENT_FAMILIES, FAMILY_DESCRIPTIONS
from bot.services.processes import ProcessLine
from bot.services.registry import StatusReport
from bot.text import safe_text
from bot.views.context import actor_of, services_of
from bot.views.group_option import group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

log = logging.getLogger(__name__)


# The bot's own loggers, and discord.py's HTTP one: it warns of each 429 it waits out.
WATCHED_LOGGERS = ("bot", "discord.http")
RECENT_LINES = 50  # looked through for /bridge status: repeats collapse, other servers' lines go


@app_commands.command(name="link", description="Link a VRChat group to this server")
@app_commands.describe(
    group="The group's ID (grp_…), its vrchat.com link, or its short code (ABCDE.1234)",
    feed="Channel for the group's audit log",
    requests="Channel for join-request cards",
    moderator_role="Role whose members may moderate (admins always can)",
)
async def link(
    interaction: Interaction,
    group: str,
    feed: discord.TextChannel,
    requests: discord.TextChannel | None = None,
    moderator_role: discord.Role | None = None,
) -> None:
    services = services_of(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    linked = await services.bindings.link(
        actor_of(interaction),
        interaction.guild_id or 0,
        group,
        feed.id,
        requests.id if requests else None,
        [moderator_role.id] if moderator_role else [],
    )
    label = safe_text(services.access.group_label(linked.binding.group_id), 100)
    if linked.permission_problem is None:
        reply = f"Linked {label}: its audit log will appear in {feed.mention}."
    else:
        reply = (
            f"Linked {label} to {feed.mention}, but it will not work yet.\n⚠ {linked.permission_problem} "
            "`/bridge status` shows what is missing until it is fixed."
        )
    await send_ephemeral(interaction, reply)


@app_commands.command(name="unlink", description="Stop mirroring a VRChat group here")
@group_option("The linked VRChat group to unlink from this server")
async def unlink(interaction: Interaction, group: str) -> None:
    services = services_of(interaction)
    removed = await services.bindings.unlink(actor_of(interaction), interaction.guild_id or 0, group)
    await send_ephemeral(interaction, f"Unlinked ({len(removed)} feed channel(s)).")


@app_commands.command(name="events", description="Choose which kinds of audit events the feed shows")
@app_commands.describe(
    families=f"Comma-separated: {', '.join(EVENT_FAMILIES)}",
)
@group_option("The linked VRChat group whose feed to filter")
async def events(interaction: Interaction, group: str, families: str) -> None:
    services = services_of(interaction)
    chosen = [f for f in families.split(",") if f.strip()]
    await services.bindings.set_events(actor_of(interaction), interaction.guild_id or 0, group, chosen)
    described = "\n".join(f"• {f}: {FAMILY_DESCRIPTIONS[f.strip().lower()]}" for f in chosen)
    await send_ephemeral(interaction, f"The feed now shows:\n{described}")


@app_commands.command(name="resume", description="Resume a feed channel paused after a Discord error")
@app_commands.describe(channel="The paused feed channel (after fixing the bot's permissions there)")
async def resume(interaction: Interaction, channel: discord.TextChannel) -> None:
    services = services_of(interaction)
    await services.bindings.resume(actor_of(interaction), interaction.guild_id or 0, channel.id)
    await send_ephemeral(interaction, f"Resumed {channel.mention}; waiting entries will be posted.")


@app_commands.command(name="status", description="Session health, polling, outbox and paused channels")
async def status(interaction: Interaction) -> None:
    services = services_of(interaction)
    services.access.require_admin(actor_of(interaction))
    # The report may ask VRChat again about a permission it lacked (at most a couple of seconds).
    await interaction.response.defer(ephemeral=True, thinking=True)
    report = await services.bindings.status(interaction.guild_id or 0)
    recorder = interaction.client.recent_problems
    recent = about_this_server(report, recorder.recent(limit=RECENT_LINES)) if recorder else []
    embed = status_embed(report, recent, await _processes(interaction.client, report))
    # Not while the database is locked: their queries would wait past Discord's patience, and the
    # status must answer exactly then (the report already says why it cannot look further).
    if report.database is None:
        for contributor in interaction.client.status_contributors:
            try:
                line = await contributor.status_text(interaction.guild_id or 0)
            except Exception:  # the database went away in between
                log.warning(
                    "The %s line of /bridge status could not be read", contributor.status_title, exc_info=True
                )
                line = "not known right now: the database did not answer"
            if line:
                embed.add_field(name=contributor.status_title, value=line, inline=False)
    await send_ephemeral(interaction, embed=embed)


async def _processes(bot: GroupBridgeBot, report: StatusReport) -> tuple[ProcessLine, ...]:
    """Every bot process, as this server may see it; none while the database is locked (see below),
    when this process's own lines say what it knows."""
    if bot.processes is None or report.database is not None:
        return ()
    try:
        return await bot.processes.board([g.group_id for g in report.groups])
    except Exception:  # the database went away in between
        log.warning("The processes of /bridge status could not be read", exc_info=True)
        return ()


async def setup(bot: GroupBridgeBot) -> None:
    # One recorder per bot (tests run many bots in one process, one after another).
    recorder = bot.recent_problems = RecentProblems()
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(recorder)
    subcommands: tuple[app_commands.Command[Any, ..., None], ...] = (link, unlink, events, resume, status)
    for command in subcommands:
        bot.groups.bridge.add_command(command)


async def teardown(bot: GroupBridgeBot) -> None:
    recorder, bot.recent_problems = bot.recent_problems, None
    if recorder is not None:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(recorder)
