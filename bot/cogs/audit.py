"""`/audit search`: the mirrored audit log, filtered, a page at a time, or as a CSV file."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.feed.render import title_for
from bot.services.registry import Actor, AuditPage, InvalidInput
from bot.text import fit_embed, safe_text
from bot.views.base import OwnedView
from bot.views.context import actor_of, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import NO_MENTIONS, send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

PAGE_SIZE = 10


def parse_when(text: str | None, name: str) -> datetime | None:
    """`2026-11-25` or `2026-11-25T18:30` (UTC unless an offset is given)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date like 2026-11-25 or 2026-11-25T18:30, not {text[:40]!r}."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def page_embed(page: AuditPage, number: int) -> discord.Embed:
    embed = discord.Embed(title=f"Audit log — page {number}", colour=discord.Colour.blurple())
    if not page.entries:
        embed.description = "No entries match."
    for entry in page.entries:
        who = safe_text(entry.discord_actor_name or entry.actor_display_name or entry.actor_id or "?", 80)
        embed.add_field(
            name=f"{title_for(entry.event_type)} · {discord.utils.format_dt(entry.created_at, 'f')}",
            value=f"{safe_text(entry.description or '—', 700)}\nby {who}",
            inline=False,
        )
    return fit_embed(embed)


class Pager(OwnedView):
    """Older ▸ for one moderator's search; the filters live here, the cursor comes from the store."""

    def __init__(self, actor: Actor, group_id: str, filters: dict[str, Any], page: AuditPage) -> None:
        super().__init__(
            actor.user_id, "Only the moderator who ran this search can page through it.", timeout=600
        )
        self.actor, self.group_id, self.filters = actor, group_id, filters
        self.cursor, self.number = page.next_cursor, 1
        self.older.disabled = page.next_cursor is None

    @discord.ui.button(label="Older ▸", style=discord.ButtonStyle.secondary)
    async def older(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        page = await services_of(interaction).audit.search(
            actor_of(interaction), self.group_id, **self.filters, cursor=self.cursor, page_size=PAGE_SIZE
        )
        self.cursor, self.number = page.next_cursor, self.number + 1
        button.disabled = page.next_cursor is None
        await interaction.response.edit_message(
            embed=page_embed(page, self.number), view=self, allowed_mentions=NO_MENTIONS
        )


@app_commands.command(name="search", description="Search the mirrored audit log")
@app_commands.describe(
    actor="Who did it (VRChat user ID)",
    target="Who or what it was done to (an ID)",
    event_type="An event type such as group.user.ban, or a family prefix such as group.user",
    since="From this date (UTC), e.g. 2026-11-01",
    until="Before this date (UTC)",
    csv="Attach the matching entries as a CSV file",
)
@group_option()
async def search(
    interaction: Interaction,
    actor: str | None = None,
    target: str | None = None,
    event_type: str | None = None,
    since: str | None = None,
    until: str | None = None,
    csv: bool = False,
    group: str | None = None,
) -> None:
    services = services_of(interaction)
    who = actor_of(interaction)
    group_id = await chosen_group(interaction, group)
    filters: dict[str, Any] = {
        "actor_id": actor,
        "target_id": target,
        "event_type": event_type,
        "since": parse_when(since, "since"),
        "until": parse_when(until, "until"),
    }
    page = await services.audit.search(who, group_id, **filters, page_size=PAGE_SIZE)  # checks permission
    await interaction.response.defer(ephemeral=True, thinking=True)
    if csv:
        export = await services.audit.export_csv(who, group_id, **filters)
        file = discord.File(io.BytesIO(export.data), filename=export.filename)
        await send_ephemeral(interaction, export.note, file=file)
        return
    await send_ephemeral(interaction, embed=page_embed(page, 1), view=Pager(who, group_id, filters, page))


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.audit.add_command(search)
