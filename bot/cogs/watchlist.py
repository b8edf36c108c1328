"""`/bridge watchlist add|remove|list`: a server's private list of VRChat groups to flag on
join-request cards. Admins only; the service checks again on every call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.store import WatchEntry
from bot.store.watchlist import NOTE_MAX
from bot.text import safe_text
from bot.views.context import actor_of, services_of
from bot.views.group_option import LINKED_GROUP_HELP, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

DESCRIPTION_MAX = 4000  # Discord allows 4096 in an embed description


def watch_lines(entries: list[WatchEntry]) -> str:
    """One line per entry, as many as fit, then how many more there are."""
    lines: list[str] = []
    used = 0
    for shown, entry in enumerate(entries):
        note = f": {safe_text(entry.note, NOTE_MAX)}" if entry.note else ""
        line = f"• {safe_text(entry.group_id, 60)}{note}"
        if used + len(line) + 40 > DESCRIPTION_MAX:
            lines.append(f"… and {len(entries) - shown} more")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


@app_commands.command(name="add", description="Flag join requests from members of a VRChat group")
@app_commands.describe(
    watched="The watched group's ID (grp_…), its vrchat.com link, or its short code (ABCDE.1234)",
    note=f"Why it is watched (shown on the cards, at most {NOTE_MAX} characters)",
)
@group_option(LINKED_GROUP_HELP)
async def add(
    interaction: Interaction,
    watched: str,
    note: app_commands.Range[str, 0, NOTE_MAX] = "",
    group: str | None = None,
) -> None:
    services = services_of(interaction)
    entry = await services.watchlist.add(
        actor_of(interaction), interaction.guild_id or 0, group, watched, note
    )
    await send_ephemeral(interaction, f"Added {safe_text(entry.group_id, 60)} to this server's watchlist.")


@app_commands.command(name="remove", description="Stop flagging a VRChat group")
@app_commands.describe(
    watched="The watched group's ID (grp_…), its vrchat.com link, or its short code",
)
@group_option(LINKED_GROUP_HELP)
async def remove(interaction: Interaction, watched: str, group: str | None = None) -> None:
    services = services_of(interaction)
    await services.watchlist.remove(actor_of(interaction), interaction.guild_id or 0, group, watched)
    await send_ephemeral(interaction, "Removed from this server's watchlist.")


@app_commands.command(name="list", description="The VRChat groups this server flags on join requests")
@group_option(LINKED_GROUP_HELP)
async def list_watched(interaction: Interaction, group: str | None = None) -> None:
    services = services_of(interaction)
    binding, entries = await services.watchlist.list(actor_of(interaction), interaction.guild_id or 0, group)
    label = safe_text(services.access.group_label(binding.group_id), 100, single_line=True)
    if not entries:
        await send_ephemeral(interaction, f"The watchlist for {label} is empty.")
        return
    embed = discord.Embed(title=f"Watchlist for {label}", colour=discord.Colour.orange())
    embed.description = watch_lines(entries)
    await send_ephemeral(interaction, embed=embed)


async def setup(bot: GroupBridgeBot) -> None:
    watchlist = app_commands.Group(
        name="watchlist",
        description="Flag join requests from members of chosen groups",
        parent=bot.groups.bridge,
    )
    subcommands: tuple[app_commands.Command[Any, ..., None], ...] = (add, remove, list_watched)
    for command in subcommands:
        watchlist.add_command(command)
