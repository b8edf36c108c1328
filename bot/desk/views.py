"""A user's history on Discord: the pages, their Prev/Next buttons, the History button (join-request
cards, the feed's action panel) and the summary fields on a join-request card.

The History button is a DynamicItem (`gb:uh:<grp_…>:<usr_…>`, at most 87 characters), so it works
after a restart with no lookup table; the service checks the clicker's permission on every click.
Prev/Next (`gb:hp:<pager id>:<page>`) sit on the clicker's own ephemeral reply and serve only them;
the pager row (bot.store.history_pagers) keeps the reply's cursors, so they too outlive a restart.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.desk.service import DeskService, PagedHistory, UserHistory, UserSummary
from bot.feed.render import title_for
from bot.store import HistoryItem, ModeratorNote
from bot.text import fit_embed, profile_link, safe_text
from bot.views.base import ReportedClick
from bot.views.context import actor_of, bridge_interaction
from bot.views.reply import NO_MENTIONS, send_ephemeral

if TYPE_CHECKING:
    from bot.bot import Interaction

log = logging.getLogger(__name__)

_ID = r"[A-Za-z0-9_-]+"
HISTORY_TEMPLATE = rf"gb:uh:(?P<group>grp_{_ID}):(?P<user>{_ID})"
# At most 18 digits: every pager id fits SQLite's 64-bit integer (a forged 19-digit one would not).
PAGE_TEMPLATE = r"gb:hp:(?P<pager>[0-9]{1,18}):(?P<number>[0-9]{1,6})"
NOTE_SHOWN = 300  # characters of a note on a card
ITEM_SHOWN = 500  # characters of an entry's description or a note in the history


def desk_of(interaction: discord.Interaction) -> DeskService:
    return bridge_interaction(interaction).client.desk


def _when(moment: datetime) -> str:
    return discord.utils.format_dt(moment, "f")


def note_line(note: ModeratorNote, limit: int) -> str:
    """A note as moderators read it: the text, who wrote it, when."""
    who = safe_text(note.author_name, 80, single_line=True)
    edited = f" (edited {_when(note.edited_at)})" if note.edited_at is not None else ""
    return f"{safe_text(note.text, limit)}\n— {who}, {_when(note.created_at)}{edited}"


def _item_field(item: HistoryItem) -> tuple[str, str]:
    if item.note is not None:
        return f"📝 Note · {_when(item.note.created_at)}", note_line(item.note, ITEM_SHOWN)
    entry = item.entry
    assert entry is not None
    who = entry.discord_actor_name or entry.actor_display_name or entry.actor_id or "?"
    text = safe_text(entry.description or "—", ITEM_SHOWN)
    return (
        f"{title_for(entry.event_type)} · {_when(entry.created_at)}",
        f"{text}\nby {safe_text(who, 80, single_line=True)}",
    )


def history_embed(history: UserHistory, number: int) -> discord.Embed:
    group = safe_text(history.group_name, 100, single_line=True)
    embed = discord.Embed(
        title=f"History in {group} — page {number}",
        description=f"{profile_link(history.user_id)}\n{safe_text(history.summary.line, 1000)}",
        colour=discord.Colour.blurple(),
    )
    if not history.items:
        embed.add_field(name="Nothing yet", value="The mirror has no entries and there are no notes.")
    for item in history.items:
        name, value = _item_field(item)
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=f"{history.group_id} · {history.user_id}")
    return fit_embed(embed)


class HistoryPageButton(
    ReportedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=PAGE_TEMPLATE
):
    """◂ Prev or Next ▸ under a history reply: the page it shows, of the pager row that keeps the
    reply's cursors; the service checks on every click that the clicker opened it and moderates."""

    def __init__(self, pager_id: int, number: int, label: str, *, disabled: bool = False) -> None:
        self.pager_id, self.number = pager_id, number
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"gb:hp:{pager_id}:{number}",
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> HistoryPageButton:
        return cls(int(match["pager"]), int(match["number"]), getattr(item, "label", None) or "Page")

    async def clicked(self, interaction: Interaction) -> None:
        shown = await desk_of(interaction).history_page(actor_of(interaction), self.pager_id, self.number)
        await interaction.response.edit_message(
            embed=history_embed(shown.history, shown.number),
            view=pager_view(shown),
            allowed_mentions=NO_MENTIONS,
        )


def pager_view(shown: PagedHistory) -> discord.ui.View:
    """◂ Prev / Next ▸ for page `shown.number`; on the first and the last page one of them is off (a
    history of one page has no pager: both are off, and id 0 is no pager's)."""
    view = discord.ui.View(timeout=None)
    pager_id, number = shown.pager_id or 0, shown.number
    view.add_item(HistoryPageButton(pager_id, number - 1, "◂ Prev", disabled=number == 1))
    last = shown.history.next_cursor is None
    view.add_item(HistoryPageButton(pager_id, number + 1, "Next ▸", disabled=last))
    return view


async def send_history(
    interaction: discord.Interaction, group_id: str, user: str, *, csv: bool = False
) -> None:
    """The history (or its CSV) as an ephemeral reply; the service checks the permission first."""
    desk, actor = desk_of(interaction), actor_of(interaction)
    if csv:
        # A long history takes a moment to write out; the refusals come just as quickly after it.
        await interaction.response.defer(ephemeral=True, thinking=True)
        export = await desk.export_csv(actor, group_id, user)
        file = discord.File(io.BytesIO(export.data), filename=export.filename)
        await send_ephemeral(interaction, export.note, file=file)
        return
    shown = await desk.open_history(actor, group_id, user)
    await send_ephemeral(interaction, embed=history_embed(shown.history, 1), view=pager_view(shown))


class HistoryButton(ReportedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=HISTORY_TEMPLATE):
    def __init__(self, group_id: str, user_id: str) -> None:
        self.group_id, self.user_id = group_id, user_id
        super().__init__(
            discord.ui.Button(
                label="History",
                style=discord.ButtonStyle.secondary,
                custom_id=f"gb:uh:{group_id}:{user_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> HistoryButton:
        return cls(match["group"], match["user"])

    async def clicked(self, interaction: Interaction) -> None:
        await send_history(interaction, self.group_id, self.user_id)


# ------------------------------------------------------------------ on a join-request card


def add_summary(card: discord.Embed, summary: UserSummary) -> discord.Embed:
    """`card` with the user's history line and the latest note, still within Discord's limits."""
    card.add_field(name="History here", value=safe_text(summary.line, 1000), inline=False)
    if summary.latest_note is not None:
        card.add_field(name="Latest note", value=note_line(summary.latest_note, NOTE_SHOWN), inline=False)
    return fit_embed(card)


async def with_history(
    desk: DeskService,
    card: discord.Embed,
    group_id: str,
    user_id: str,
    channel_id: int,
    requested_at: datetime | None,
) -> discord.Embed:
    """The join-request card with the summary of the requester's earlier history and the latest note.
    A card without them is still a card: a failure here is logged and the card goes out as it was."""
    try:
        summary = await desk.card_summary(group_id, user_id, channel_id, requested_at)
    except Exception:
        log.exception("Could not read the history of %s for a join-request card", user_id)
        return card
    return add_summary(card, summary)


def history_button(group_id: str, user_id: str) -> discord.ui.Item[Any]:
    return HistoryButton(group_id, user_id)
