"""What a page of VRChat's audit log becomes: entries to store, and placeholders for what cannot be.

Every entry VRChat serves ends up in the store exactly once under a key of the group's: its own id,
or, when it has none it can be known by (no usable id, or an id another group's entry already holds:
VRChat's ids are global, a second holder would be taken for a duplicate and silently dropped), a
digest scoped to the group. An entry that cannot be read, or that claims a time implausibly far
ahead (as the cursor's newest it would hide every entry after it), is stored as a set-aside
placeholder in its place (bot.store.set_aside), so the feed announces it instead of stopping on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.store import AuditEntryIn, SetAsideIn
from bot.store.ports import PollerStore
from bot.store.set_aside import MAX_PLACEHOLDER_TYPE, raw_json
from bot.store.types import UNKNOWN_EVENT_TYPE
from bot.vrchat.models import AuditLogEntry, AuditLogPage, UnreadableEntry

# An entry dated further ahead than this is set aside: as the cursor's newest it would hide every
# real entry after it (they would all look older than the overlap window).
MAX_FUTURE = timedelta(days=1)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def scoped_key(prefix: str, group_id: str, text: str) -> str:
    """A key for an entry that has no id of its own in this group; the same on every poll."""
    digest = hashlib.sha256(f"{group_id}\n{text}".encode()).hexdigest()
    return f"{prefix}:{digest[:32]}"


def to_entry_in(entry: AuditLogEntry) -> AuditEntryIn:
    return AuditEntryIn(
        id=entry.id,
        created_at=_aware(entry.created_at),
        event_type=entry.event_type or UNKNOWN_EVENT_TYPE,
        actor_id=entry.actor_id,
        actor_display_name=entry.actor_display_name,
        target_id=entry.target_id,
        description=entry.description or "",
        data=entry.data or {},
    )


@dataclass
class PageEntries:
    """A page as entries to store, newest first; unreadable ones as set-aside placeholders.

    `untimed` holds the placeholders for which not even a neighbour's time was at hand (a page with
    nothing readable): they sort as "now" and must not move the cursor. `known` (after
    `claim_keys`): the keys the group already has stored.
    """

    entries: list[AuditEntryIn]
    untimed: set[str]
    known: set[str] = dataclasses.field(default_factory=set)


def page_entries(page: AuditLogPage, now: datetime, group_id: str) -> PageEntries:
    """Every entry of the page in VRChat's order, readable or not.

    A placeholder takes the entry's own time when that could be read, else the time of the nearest
    readable entry after it in the page (older), else of the one before it, so it keeps its place
    in the feed.
    """
    items: list[AuditLogEntry | UnreadableEntry] = []
    for item in page.in_order():
        if isinstance(item, AuditLogEntry) and _aware(item.created_at) > now + MAX_FUTURE:
            raw = item.model_dump(mode="json", by_alias=True)
            reason = f"its time {item.created_at.isoformat()} lies in the future"
            item = UnreadableEntry.of(raw, reason, 0).model_copy(update={"created_at": None})
        items.append(item)
    times = [_aware(i.created_at) if i.created_at is not None else None for i in items]
    entries: list[AuditEntryIn] = []
    untimed: set[str] = set()
    for index, item in enumerate(items):
        if isinstance(item, AuditLogEntry):
            entries.append(to_entry_in(item))
            continue
        key = item.id or scoped_key("unreadable", group_id, item.key)
        older = next((t for t in times[index + 1 :] if t is not None), None)
        newer = next((t for t in reversed(times[:index]) if t is not None), None)
        moment = times[index] or older or newer
        if moment is None:
            moment = now
            untimed.add(key)
        event_type = (item.event_type or "")[:MAX_PLACEHOLDER_TYPE] or UNKNOWN_EVENT_TYPE
        entries.append(
            AuditEntryIn(
                id=key,
                created_at=moment,
                event_type=event_type,
                set_aside=SetAsideIn("parse", f"could not be read: {item.reason}", raw_json(item.raw)),
            )
        )
    return PageEntries(entries, untimed)


def _elsewhere(entry: AuditEntryIn, group_id: str, key: str, other_group: str) -> AuditEntryIn:
    reason = f"its id {entry.id[:100]!r} is already used by an entry of {other_group[:100]}"
    raw = raw_json(dataclasses.asdict(entry))
    return AuditEntryIn(
        id=key,
        created_at=entry.created_at,
        event_type=entry.event_type[:MAX_PLACEHOLDER_TYPE] or UNKNOWN_EVENT_TYPE,
        set_aside=SetAsideIn("parse", reason, raw),
    )


async def claim_keys(store: PollerStore, group_id: str, read: PageEntries) -> PageEntries:
    """Fill in `known`, and re-key the entries whose id another group's entry already holds (one
    query for the page): they are set aside under a key of this group's instead of being lost."""
    alternatives = {e.id: scoped_key("elsewhere", group_id, e.id) for e in read.entries}
    owners = await store.entry_groups([*alternatives, *alternatives.values()])
    entries: list[AuditEntryIn] = []
    known: set[str] = set()
    for entry in read.entries:
        owner = owners.get(entry.id)
        if owner is not None and owner != group_id:
            key = alternatives[entry.id]
            if entry.id in read.untimed:
                read.untimed.add(key)
            entry = _elsewhere(entry, group_id, key, owner)
        if owners.get(entry.id) == group_id:
            known.add(entry.id)
        entries.append(entry)
    return PageEntries(entries, read.untimed, known)
