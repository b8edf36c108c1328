"""One VRChat user's history in a group: the mirrored audit entries about them and the server's
moderator notes, merged newest first, with keyset paging and CSV export.

The entries come through the audit search's own filter and keyset page (bot.store.query, with its
`subject_id` condition) and the CSV through its row format; this module only merges in the notes.
The merged order is: created_at descending; at the same moment notes before entries; then id
descending. A cursor is "<µs since epoch>:<n|e>:<id>" (the last item shown), so paging stays correct
while new entries and notes arrive.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.store.models import AuditEntryRow
from bot.store.notes import ModeratorNote, NoteOps
from bot.store.query import (
    _EPOCH,
    _MICROSECOND,
    CSV_FIELDS,
    QueryOps,
    TextSink,
    _conditions,
    _csv_row,
    csv_safe,
)
from bot.store.types import InvalidCursorError, StoredEntry

NOTE_EVENT_TYPE = "moderator.note"  # how a note shows in the CSV's event_type column
HISTORY_EXPORT_PAGE = 500


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One line of a history: an audit entry or a note (exactly one of the two)."""

    entry: StoredEntry | None = None
    note: ModeratorNote | None = None

    @property
    def at(self) -> datetime:
        if self.entry is not None:
            return self.entry.created_at
        assert self.note is not None
        return self.note.created_at

    def sort_key(self) -> tuple[datetime, int, str, int]:
        # Descending by this key: notes (1) before entries (0) at the same moment.
        if self.note is not None:
            return (self.note.created_at, 1, "", self.note.id)
        assert self.entry is not None
        return (self.entry.created_at, 0, self.entry.id, 0)

    def cursor(self) -> str:
        micros = (self.at - _EPOCH) // _MICROSECOND
        if self.note is not None:
            return f"{micros}:n:{self.note.id}"
        assert self.entry is not None
        return f"{micros}:e:{self.entry.id}"


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[HistoryItem]
    next_cursor: str | None  # the next (older) page; None on the last


@dataclass(frozen=True, slots=True)
class EventTally:
    """How often one event type happened to a user, and when first and last."""

    count: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True, slots=True)
class _Cursor:
    at: datetime
    kind: str  # "n" or "e"
    key: str

    @classmethod
    def decode(cls, token: str) -> _Cursor:
        micros, _, rest = token.partition(":")
        kind, _, key = rest.partition(":")
        try:
            if kind not in ("n", "e") or not key or (kind == "n" and not key.isdigit()):
                raise ValueError(token)
            return cls(_EPOCH + int(micros) * _MICROSECOND, kind, key)
        except (ValueError, OverflowError) as exc:
            raise InvalidCursorError(f"not a history cursor: {token!r}") from exc

    def entries_before(self) -> tuple[datetime, str]:
        if self.kind == "e":
            return self.at, self.key
        # A note: every entry of that same moment is still to come (entries sort after notes). No id
        # is below "", so the keyset rule reduces to created_at < at + 1 µs, i.e. at or before it.
        return self.at + _MICROSECOND, ""

    def notes_before(self) -> tuple[datetime, int | None]:
        return (self.at, int(self.key)) if self.kind == "n" else (self.at, None)


class HistoryOps(QueryOps, NoteOps):
    async def user_history(
        self,
        *,
        guild_id: int,
        group_id: str,
        user_id: str,
        limit: int = 10,
        before_cursor: str | None = None,
    ) -> HistoryPage:
        """One page of the user's history in the group, newest first (entries and this server's notes)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        cursor = _Cursor.decode(before_cursor) if before_cursor is not None else None
        entries, _ = await self._page(
            {"group_id": group_id, "subject_id": user_id},
            limit + 1,
            cursor.entries_before() if cursor else None,
        )
        notes = await self.notes_page(
            guild_id, group_id, user_id, limit=limit + 1, before=cursor.notes_before() if cursor else None
        )
        merged = sorted(
            [HistoryItem(entry=e) for e in entries] + [HistoryItem(note=n) for n in notes],
            key=HistoryItem.sort_key,
            reverse=True,
        )
        shown = merged[:limit]
        more = len(merged) > limit
        return HistoryPage(shown, shown[-1].cursor() if more and shown else None)

    async def export_history_csv(
        self, stream: TextSink, *, guild_id: int, group_id: str, user_id: str, limit: int | None = None
    ) -> int:
        """The user's history as CSV (the audit export's columns; a note is a row of type
        moderator.note whose actor is the Discord author), newest first; returns the row count."""
        writer = csv.writer(stream)
        writer.writerow(CSV_FIELDS)
        written, cursor = 0, None
        while limit is None or written < limit:
            size = HISTORY_EXPORT_PAGE if limit is None else min(HISTORY_EXPORT_PAGE, limit - written)
            page = await self.user_history(
                guild_id=guild_id, group_id=group_id, user_id=user_id, limit=size, before_cursor=cursor
            )
            writer.writerows(_history_row(item) for item in page.items)
            written += len(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        return written

    async def user_event_tallies(
        self, group_id: str, user_id: str, *, before: datetime | None = None
    ) -> dict[str, EventTally]:
        """Per event type: how many entries about the user the group has (before `before` when
        given), and when the first and the last happened."""
        e = AuditEntryRow
        conditions = _conditions({"group_id": group_id, "subject_id": user_id, "until": before})
        stmt = (
            select(e.event_type, func.count(), func.min(e.created_at), func.max(e.created_at))
            .where(*conditions)
            .group_by(e.event_type)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        return {kind: EventTally(int(n), _aware(first), _aware(last)) for kind, n, first, last in rows}

    async def latest_note(self, guild_id: int, group_id: str, user_id: str) -> ModeratorNote | None:
        found = await self.notes_page(guild_id, group_id, user_id, limit=1)
        return found[0] if found else None


def _aware(moment: datetime) -> datetime:
    """Aggregates bypass the column type on SQLite (min/max come back as text or naive)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_EPOCH.tzinfo)


def _history_row(item: HistoryItem) -> Iterable[str]:
    if item.entry is not None:
        return _csv_row(item.entry)
    note = item.note
    assert note is not None
    return (
        f"note:{note.id}",
        note.created_at.isoformat(),
        NOTE_EVENT_TYPE,
        f"discord:{note.author_discord_id}",
        csv_safe(note.author_name),
        csv_safe(note.vrchat_user_id),
        csv_safe(note.text),
        "",
    )
