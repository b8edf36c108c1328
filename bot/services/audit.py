"""Searching and exporting the mirrored audit log (moderators only)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

from bot.events import KNOWN_EVENT_TYPES, OTHER, is_family
from bot.services.access import Access
from bot.services.common import ActionLog, Actor, Clock, InvalidInput, checked_group_id
from bot.store import InvalidCursorError, StoredEntry
from bot.store.ports import AuditArchive
from bot.text import quoted
from bot.vrchat import InvalidReference, parse_user_id
from bot.vrchat.ids import USER_FORMS

PAGE_MAX = 25
EXPORT_CAP = 50_000
_EVENT_TYPE = re.compile(r"^group(\.[A-Za-z]+)*(\.\*)?$")
_TARGET = re.compile(r"^\S{1,300}$")


@dataclass(frozen=True, slots=True)
class AuditPage:
    group_id: str
    entries: tuple[StoredEntry, ...]
    next_cursor: str | None  # pass back as `cursor` for the next (older) page; None on the last page


@dataclass(frozen=True, slots=True)
class CsvExport:
    data: bytes  # UTF-8 CSV with a header row, newest entry first
    rows: int
    capped: bool  # True when more entries matched than `rows`
    filename: str

    @property
    def note(self) -> str:
        if self.capped:
            return (
                f"Exported the newest {self.rows:,} matching entries; that is the limit for one file. "
                "Narrow the time range to export the older ones."
            )
        return f"Exported {self.rows:,} matching {'entry' if self.rows == 1 else 'entries'}."

    @property
    def logged(self) -> dict[str, Any]:
        """What the action log keeps of an export."""
        return {"rows": self.rows, "capped": self.capped}


@dataclass(frozen=True, slots=True)
class _Filters:
    actor_id: str | None
    target_id: str | None
    event_types: list[str] | None
    since: datetime | None
    until: datetime | None

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "target_id": self.target_id,
            "event_types": self.event_types,
            "since": self.since,
            "until": self.until,
        }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _event_types(text: str | None) -> list[str] | None:
    value = (text or "").strip()
    if not value:
        return None
    if is_family(value.lower()):
        family = value.lower()
        if family == OTHER:
            raise InvalidInput(
                "“other” cannot be searched for as such; give an exact event type like group.update."
            )
        return sorted(t for t, f in KNOWN_EVENT_TYPES.items() if f == family)
    if not _EVENT_TYPE.match(value):
        raise InvalidInput(
            f"{quoted(value)} is not an event type. Use a kind of event (requests, members, moderation, …) "
            "or a VRChat event type like group.user.ban or group.member.*"
        )
    return [value]


class AuditQuery(TypedDict, total=False):
    """What /vrc audit search and its export filter on; each left out (or None) matches everything."""

    actor_id: str | None  # a user ID or profile link
    target_id: str | None  # a user, post, role or instance ID
    event_type: str | None  # a friendly family (bot.events) or a dotted type or prefix
    since: datetime | None
    until: datetime | None


def _filters(**query: Unpack[AuditQuery]) -> _Filters:
    actor_id, target_id, event_type = query.get("actor_id"), query.get("target_id"), query.get("event_type")
    since, until = query.get("since"), query.get("until")
    actor = None
    if actor_id and actor_id.strip():
        try:
            actor = parse_user_id(actor_id)
        except InvalidReference:
            raise InvalidInput(f"The actor must be {USER_FORMS}.") from None
    target = None
    if target_id and target_id.strip():
        try:
            target = parse_user_id(target_id)
        except InvalidReference:
            target = target_id.strip()
            if not _TARGET.match(target):
                raise InvalidInput(
                    f"{quoted(target)} is not a VRChat ID; the target is a user, post, role or instance ID."
                ) from None
    start, end = _aware(since), _aware(until)
    if start is not None and end is not None and start >= end:
        raise InvalidInput("The start of the time range must be before its end.")
    return _Filters(actor, target, _event_types(event_type), start, end)


class RowSink:
    """A text buffer that remembers where each written row ends (csv.writer writes one row per call),
    so that an export can be cut after a row: a row's quoted field may hold line breaks of its own."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.ends: list[int] = []

    def write(self, text: str, /) -> int:
        written = self.buffer.write(text)
        self.ends.append(self.buffer.tell())
        return written

    def export(self, written: int, limit: int, name: str, at: datetime) -> CsvExport:
        """The file `<name>-<at>.csv`: the header and at most `limit` rows of the `written` ones, and
        whether any were cut (exports ask for one row more than allowed to know)."""
        text = self.buffer.getvalue()
        if written > limit:
            text = text[: self.ends[limit]]  # ends[0] is the header row
        filename = f"{name}-{at.strftime('%Y%m%d-%H%M%S')}.csv"
        return CsvExport(text.encode("utf-8"), min(written, limit), written > limit, filename)


class AuditService:
    def __init__(self, store: AuditArchive, access: Access, actions: ActionLog, clock: Clock) -> None:
        self._store = store
        self._access = access
        self._actions = actions
        self._clock = clock

    async def search(
        self,
        actor: Actor,
        group_id: str,
        *,
        cursor: str | None = None,
        page_size: int = 10,
        **query: Unpack[AuditQuery],
    ) -> AuditPage:
        """One page of the group's mirrored audit log, newest first."""
        gid = checked_group_id(group_id)
        flt = _filters(**query)
        if not 1 <= page_size <= PAGE_MAX:
            raise InvalidInput(f"A page shows between 1 and {PAGE_MAX} entries.")
        await self._access.require_moderator(actor, gid)
        try:
            page = await self._store.search_entries(
                group_id=gid, **flt.as_kwargs(), limit=page_size, before_cursor=cursor or None
            )
        except InvalidCursorError:
            raise InvalidInput("That page is no longer valid; run the search again.") from None
        return AuditPage(gid, tuple(page.entries), page.next_cursor)

    async def export_csv(
        self, actor: Actor, group_id: str, *, limit: int = EXPORT_CAP, **query: Unpack[AuditQuery]
    ) -> CsvExport:
        """The matching entries as a CSV file, at most `limit` rows (the newest); `capped` says so."""
        gid = checked_group_id(group_id)
        flt = _filters(**query)
        if not 1 <= limit <= EXPORT_CAP:
            raise InvalidInput(f"An export holds between 1 and {EXPORT_CAP:,} entries.")
        await self._access.require_moderator(actor, gid)
        sink = RowSink()
        written = await self._store.export_csv(sink, group_id=gid, **flt.as_kwargs(), limit=limit + 1)
        export = sink.export(written, limit, f"audit-{gid}", self._clock())
        details = export.logged | {"event_types": flt.event_types}
        await self._actions.record(actor, gid, "audit.export", target_id=gid, details=details)
        return export
