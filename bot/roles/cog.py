"""`/rolesync map|unmap|list|diff|membership|mode` (Manage Server), the role-sync loop, and Discord
member updates when the Server Members intent is on. Thin: bot.roles.service decides and checks."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.roles.loop import FULL_EVERY, RoleSyncLoop
from bot.roles.plan import Change
from bot.roles.service import DiscordRole, RoleSyncView
from bot.store.role_sync import DIRECTIONS, MEMBERSHIP, SYNC_MODES, Side
from bot.text import clip, safe_text
from bot.views.context import actor_of
from bot.views.group_option import LINKED_GROUP_HELP, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

DIFF_LINES = 15  # changes listed per side; the rest are counted


def _role(interaction: Interaction, role: discord.Role) -> DiscordRole:
    # @everyone's ID is the server's (Role.is_default needs the guild, which a DM does not resolve).
    return DiscordRole(role.id, role.name, managed=role.managed, is_default=role.id == interaction.guild_id)


def _vrchat_role(view: RoleSyncView, role_id: str) -> str:
    name = view.role_names.get(role_id)
    return f"{safe_text(name, 60, single_line=True)} (`{role_id}`)" if name else f"`{role_id}`"


@app_commands.command(name="map", description="Sync a VRChat group role with a Discord role")
@app_commands.describe(
    vrchat_role="The VRChat group role: its ID (grol_…) or exact name",
    discord_role="The Discord role",
    direction="Which way changes are copied",
    source_of_truth="Which side wins when the two disagree with no history (default: vrchat)",
    allow_management="Allow mapping onto a VRChat role with management permissions (an escalation path)",
)
@app_commands.choices(
    direction=[app_commands.Choice(name=d, value=d) for d in DIRECTIONS],
    source_of_truth=[app_commands.Choice(name=s, value=s) for s in ("vrchat", "discord")],
)
@group_option(LINKED_GROUP_HELP)
async def map_role(
    interaction: Interaction,
    vrchat_role: app_commands.Range[str, 1, 100],
    discord_role: discord.Role,
    direction: str,
    source_of_truth: str = "vrchat",
    allow_management: bool = False,
    group: str | None = None,
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)  # asks VRChat for the roles
    mapping, role = await interaction.client.role_sync.map(
        actor_of(interaction),
        interaction.guild_id or 0,
        group,
        vrchat_role,
        _role(interaction, discord_role),
        direction,
        source_of_truth,
        allow_management=allow_management,
    )
    await send_ephemeral(
        interaction,
        f"Mapped VRChat role {safe_text(role.name or role.id, 60, single_line=True)} ↔ "
        f"{discord_role.mention} "
        f"({mapping.direction}, source of truth: {mapping.source_of_truth}). "
        "`/rolesync diff` shows what sync would change.",
    )


@app_commands.command(name="unmap", description="Stop syncing a mapped role")
@app_commands.describe(role="The VRChat role (ID or name) or the Discord role ID of the mapping")
@group_option(LINKED_GROUP_HELP)
async def unmap_role(
    interaction: Interaction, role: app_commands.Range[str, 1, 100], group: str | None = None
) -> None:
    removed = await interaction.client.role_sync.unmap(
        actor_of(interaction), interaction.guild_id or 0, group, role
    )
    await send_ephemeral(
        interaction,
        f"Unmapped `{removed.vrchat_role_id}` ↔ <@&{removed.discord_role_id}>; "
        "roles already given stay as they are.",
    )


@app_commands.command(
    name="membership", description="The Discord role linked members of the VRChat group get"
)
@app_commands.describe(role="The membership role (leave out to stop giving one)")
@group_option(LINKED_GROUP_HELP)
async def membership(
    interaction: Interaction, role: discord.Role | None = None, group: str | None = None
) -> None:
    await interaction.client.role_sync.set_membership_role(
        actor_of(interaction), interaction.guild_id or 0, group, _role(interaction, role) if role else None
    )
    text = (
        f"Linked members of the VRChat group get {role.mention}, and lose it when they leave, are removed "
        "or banned, or unlink."
        if role
        else "No membership role: role sync gives none (roles already given stay)."
    )
    await send_ephemeral(interaction, text)


@app_commands.command(name="mode", description="Role sync: off, shadow (plan and log only) or on")
@app_commands.describe(mode="off: nothing; shadow: plan and log, change nothing; on: sync")
@app_commands.choices(mode=[app_commands.Choice(name=m, value=m) for m in SYNC_MODES])
@group_option(LINKED_GROUP_HELP)
async def mode(interaction: Interaction, mode: str, group: str | None = None) -> None:
    settings = await interaction.client.role_sync.set_mode(
        actor_of(interaction), interaction.guild_id or 0, group, mode
    )
    text = {
        "off": "Role sync is off.",
        "shadow": "Role sync is in shadow mode: it plans and logs what it would change, and changes nothing.",
        "on": "Role sync is on. Refused roles are tried again once.",
    }[settings.mode]
    await send_ephemeral(interaction, text)


@app_commands.command(name="list", description="The role mappings, membership role and mode of this server")
@group_option(LINKED_GROUP_HELP)
async def list_roles(interaction: Interaction, group: str | None = None) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    view = await interaction.client.role_sync.view(actor_of(interaction), interaction.guild_id or 0, group)
    embed = discord.Embed(title="Role sync", colour=discord.Colour.blurple())
    lines = [
        f"{_vrchat_role(view, m.vrchat_role_id)} ↔ <@&{m.discord_role_id}>: {m.direction}, source "
        f"{m.source_of_truth}{', management allowed' if m.allow_management else ''}"
        for m in view.mappings
    ]
    member_role = view.settings.membership_role_id
    lines.append(f"Membership role: {f'<@&{member_role}>' if member_role else 'none'}")
    lines.extend(
        f"⚠ refused: {'<@&' + w.role_id + '>' if w.side == 'discord' else _vrchat_role(view, w.role_id)} "
        f"({clip(str((w.details or {}).get('reason', '')), 120)})"
        for w in view.refusals
    )
    embed.description = clip("\n".join(lines) or "No mappings.", 4000)
    embed.set_footer(text=f"Mode: {view.settings.mode}")
    await send_ephemeral(interaction, embed=embed)


def _change_line(change: Change) -> str:
    verb, to = ("give", "to") if change.op == "add" else ("take", "from")
    if change.side == "discord":
        what = f"{verb} <@&{change.role_id}> {to} <@{change.discord_user_id}>"
    else:
        what = f"{verb} `{change.role_id}` {to} `{change.vrchat_user_id}`"
    return f"{what} ({clip(change.why, 60)})"


@app_commands.command(name="diff", description="Dry run: exactly what the next role sync would change")
@group_option(LINKED_GROUP_HELP)
async def diff(interaction: Interaction, group: str | None = None) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)  # pages the group's members
    result = await interaction.client.role_sync.diff(actor_of(interaction), interaction.guild_id or 0, group)
    plan = result.outcome.plan
    embed = discord.Embed(
        title=f"Role sync dry run (mode: {result.view.settings.mode})", colour=discord.Colour.blurple()
    )
    sides: tuple[tuple[Side, str], ...] = (("vrchat", "In VRChat"), ("discord", "In Discord"))
    for side, label in sides:
        changes = plan.on(side)
        shown = [_change_line(c) for c in changes[:DIFF_LINES]]
        if len(changes) > DIFF_LINES:
            shown.append(f"… and {len(changes) - DIFF_LINES} more")
        embed.add_field(
            name=f"{label}: {len(changes)} change(s)",
            value=clip("\n".join(shown) or "nothing", 1024),
            inline=False,
        )
    notes = list(result.outcome.notes)
    if plan.held_back:
        notes.append(
            f"{plan.held_back} removal(s) held back: a listing failed or was partial, so nothing is removed"
        )
    if plan.refused:
        notes.append(f"{plan.refused} change(s) skipped: roles the bot may not change (see `/rolesync list`)")
    if notes:
        embed.add_field(name="Notes", value=clip("\n".join(notes), 1024), inline=False)
    embed.set_footer(text=f"{result.outcome.vrchat_requests} VRChat request(s); nothing was changed.")
    await send_ephemeral(interaction, embed=embed)


class RoleSync(commands.Cog):
    def __init__(self, bot: GroupBridgeBot) -> None:
        self.bot = bot
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: RoleSyncLoop | None = None

    @property
    def loop(self) -> RoleSyncLoop:
        if self._loop is None:
            self._loop = RoleSyncLoop(
                self.bot.role_sync,
                self.bot.store,
                self.bot.vrchat,
                holds_group=self.bot.holds_group,
                leases=lambda: self.bot.leases,
            )
        return self._loop

    status_title = "Role sync"

    async def cog_load(self) -> None:
        self.bot.status_contributors.append(self)
        if self.bot.run_feed:
            self._task = asyncio.create_task(self._run(), name="role sync")

    async def _run(self) -> None:
        await self.bot.work_started.wait()  # the leases and the mirror
        if self.bot.feed is not None:
            self.bot.feed.subscribe_ingest(self.loop.nudge)
        self.bot.group_activity.subscribe_asked(self.loop.asked)  # heard through the WakeRelay
        if self.bot.leases is not None:
            self.bot.leases.subscribe(self.loop.leases_changed)
        await self.loop.run(self._stop)

    async def cog_unload(self) -> None:
        self.bot.status_contributors.remove(self)
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def status_text(self, guild_id: int) -> str | None:
        """Its field of /bridge status (a bot.features.StatusContributor)."""
        return await self.bot.role_sync.status_text(
            guild_id, members_intent=self.bot.intents.members, full_every=FULL_EVERY
        )

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Only with the Server Members intent: a member's roles changed in Discord. Heard also by a
        gateway process that runs no role sync itself: it asks the groups' holders."""
        if {r.id for r in before.roles} == {r.id for r in after.roles}:
            return
        await self.loop.discord_member_changed(after.guild.id, after.id)


async def setup(bot: GroupBridgeBot) -> None:
    roles = bot.groups.rolesync
    subcommands: tuple[app_commands.Command[Any, ..., None], ...] = (
        map_role,
        unmap_role,
        list_roles,
        diff,
        membership,
        mode,
    )
    for command in subcommands:
        roles.add_command(command)
    await bot.add_cog(RoleSync(bot))


__all__ = ["MEMBERSHIP", "RoleSync"]
