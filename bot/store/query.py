"""Search, CSV export and retention over the stored audit log."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypedDict, Unpack

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import aliased

from bot.store._base import StoreBase, entry_from_row, like_escape
from bot.store.models import AuditEntryRow, OutboxRow, SetAsideRow
from bot.store.types import EntryPage, InvalidCursorError, StoredEntry

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Outbox states that still owe a Discord post; retention must not delete their entries.
_UNDELIVERED = ("pending", "sending")
CSV_FIELDS = (
    "id",
    "created_at",
    "event_type",
    "actor_id",
    "actor_display_name",
    "target_id",
    "description",
    "data",
)
EXPORT_PAGE = 1000
# A user's history (`subject_id`): every entry done to them, and of what they did themselves, what
# is about their own membership (asking, joining, leaving) and the invites they sent. Moderation they
# carried out as a moderator is someone else's history.
SUBJECT_ACTOR_TYPES = (
    "group.request.create",
    "group.request.withdraw",
    "group.member.join",
    "group.member.leave",
    "group.invite.create",
    "group.invite.cancel",
)


class TextSink(Protocol):
    def write(self, s: str, /) -> Any: ...


def encode_cursor(created_at: datetime, entry_id: str) -> str:
    """Compact opaque token ('<µs since epoch>:<id>'), short enough for a Discord button custom_id."""
    return f"{(created_at - _EPOCH) // _MICROSECOND}:{entry_id}"


def decode_cursor(token: str) -> tuple[datetime, str]:
    micros, sep, entry_id = token.partition(":")
    try:
        if not sep or not entry_id:
            raise ValueError(token)
        return _EPOCH + int(micros) * _MICROSECOND, entry_id
    except (ValueError, OverflowError) as exc:
        raise InvalidCursorError(f"not a search cursor: {token!r}") from exc


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formula injection: a cell a spreadsheet would evaluate gets a leading '.

    Display names and descriptions come from arbitrary VRChat users, so '=HYPERLINK(...)' is real.
    Tab and carriage return are included because some spreadsheets strip them before parsing.
    """
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class EntryFilters(TypedDict, total=False):
    """What search_entries and export_csv match on; each one left out (or None) matches everything.
    `since` is inclusive, `until` exclusive; `event_types` are raw dotted types (see _type_matches)."""

    group_id: str | None
    actor_id: str | None
    target_id: str | None
    event_types: Sequence[str] | None
    since: datetime | None
    until: datetime | None
    subject_id: str | None  # the user the entry is about (see SUBJECT_ACTOR_TYPES)


def _conditions(flt: EntryFilters) -> list[ColumnElement[bool]]:
    e = AuditEntryRow
    out: list[ColumnElement[bool]] = []
    for name, column in (("group_id", e.group_id), ("actor_id", e.actor_id), ("target_id", e.target_id)):
        if (wanted := flt.get(name)) is not None:
            out.append(column == wanted)
    if event_types := flt.get("event_types"):
        out.append(or_(*(_type_matches(pattern) for pattern in event_types)))
    if (since := flt.get("since")) is not None:
        out.append(e.created_at >= since)
    if (until := flt.get("until")) is not None:
        out.append(e.created_at < until)
    if (subject := flt.get("subject_id")) is not None:
        out.append(
            or_(e.target_id == subject, and_(e.actor_id == subject, e.event_type.in_(SUBJECT_ACTOR_TYPES)))
        )
    return out


def _type_matches(pattern: str) -> ColumnElement[bool]:
    """'group.user.ban' matches itself; 'group.user' or 'group.user.*' match every type below it.

    Raw dotted event types (search and export), not the friendly bot.events families.
    """
    base = pattern.removesuffix(".*").removesuffix(".")
    return or_(
        AuditEntryRow.event_type == base,
        AuditEntryRow.event_type.like(like_escape(base) + ".%", escape="\\"),
    )


class QueryOps(StoreBase):
    async def get_entry(self, entry_id: str) -> StoredEntry | None:
        return await self._get(AuditEntryRow, entry_id, entry_from_row)

    async def set_discord_actor(self, entry_id: str, discord_user_id: int, discord_user_name: str) -> bool:
        """Attribute an entry the bot caused to the Discord moderator who asked for it."""
        async with self._sessions.begin() as session:
            row = await session.get(AuditEntryRow, entry_id)
            if row is None:
                return False
            row.discord_actor_id = discord_user_id
            row.discord_actor_name = discord_user_name
            return True

    async def _page(
        self, flt: EntryFilters, limit: int, before: tuple[datetime, str] | None
    ) -> tuple[list[StoredEntry], bool]:
        e = AuditEntryRow
        conditions = _conditions(flt)
        if before is not None:
            at, entry_id = before
            # Keyset: strictly "older" than the last row shown, ties on created_at broken by id.
            conditions.append(or_(e.created_at < at, and_(e.created_at == at, e.id < entry_id)))
        stmt = select(e).where(*conditions).order_by(e.created_at.desc(), e.id.desc()).limit(limit + 1)
        rows = await self._all(stmt, entry_from_row)
        return rows[:limit], len(rows) > limit

    async def search_entries(
        self, *, limit: int = 25, before_cursor: str | None = None, **filters: Unpack[EntryFilters]
    ) -> EntryPage:
        """One page of matching entries, newest first. since is inclusive, until exclusive.

        Pass the returned next_cursor as before_cursor to get the next (older) page; it stays
        correct while new entries keep arriving, unlike OFFSET paging.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        before = decode_cursor(before_cursor) if before_cursor is not None else None
        entries, more = await self._page(filters, limit, before)
        next_cursor = encode_cursor(entries[-1].created_at, entries[-1].id) if more and entries else None
        return EntryPage(entries=entries, next_cursor=next_cursor)

    async def export_csv(
        self, stream: TextSink, *, limit: int | None = None, **filters: Unpack[EntryFilters]
    ) -> int:
        """Write matching entries (newest first) as CSV with a header row; returns the row count.

        Reads page by page, so an export of the whole log does not load it all into memory.
        """
        writer = csv.writer(stream)
        writer.writerow(CSV_FIELDS)
        written = 0
        before: tuple[datetime, str] | None = None
        while limit is None or written < limit:
            size = EXPORT_PAGE if limit is None else min(EXPORT_PAGE, limit - written)
            entries, more = await self._page(filters, size, before)
            writer.writerows(_csv_row(entry) for entry in entries)
            written += len(entries)
            if not more or not entries:
                break
            before = (entries[-1].created_at, entries[-1].id)
        return written

    async def purge_older_than(self, days: float, *, now: datetime | None = None) -> int:
        """Delete entries older than `days`, except those still waiting to be posted. Returns count.

        Their sent/failed/skipped outbox rows go too; pending and in-flight ones keep their entry.
        In batches (StoreBase._delete_in_batches): the first purge after feed.retention_days is set
        may meet years of a mirror, and one transaction would hold the database's write lock while
        the poller waits to store what it fetched.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        cutoff = (now or self._now()) - timedelta(days=days)
        e, o = AuditEntryRow, OutboxRow
        # An alias, so the subquery cannot be auto-correlated to the outer DELETE FROM outbox.
        owed = aliased(OutboxRow)
        undelivered = exists().where(owed.entry_id == e.id, owed.state.in_(_UNDELIVERED))
        return await self._delete_in_batches(
            e, e.created_at < cutoff, ~undelivered, children=(o.entry_id, SetAsideRow.entry_id)
        )


def _csv_row(entry: StoredEntry) -> Iterable[str]:
    data = "" if entry.data is None else json.dumps(entry.data, ensure_ascii=False, sort_keys=True)
    return (
        csv_safe(entry.id),
        entry.created_at.isoformat(),
        csv_safe(entry.event_type),
        csv_safe(entry.actor_id or ""),
        csv_safe(entry.actor_display_name or ""),
        csv_safe(entry.target_id or ""),
        csv_safe(entry.description),
        csv_safe(data),
    )
