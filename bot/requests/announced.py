"""One listing per new join request, whichever tells of it first: VRChat's pipeline or the mirror.

Where the pipeline listens and the audit log is mirrored, a new request is told twice: by the
pipeline's notice (in seconds) and by its mirrored `group.request.create` entry (at the group's next
poll). Each runs the group's card round, and each round lists the group's requests (a VRChat
request). The second is skipped:

- the entry, when its request already has its card posted and pending (the notice's round did it);
- the notice, when an entry's round listed the request it names (group and requester) and no notice
  had told of it yet. A notice that names no requester always gets its round. A listed request
  whose notice never comes (the pipeline dropped it) is forgotten when a later entry of that
  requester is mirrored (the request was accepted, rejected, withdrawn), or once KEEP newer ones
  are listed; until then a new request of the same user, should its notice come before its own
  entry, waits for that entry's round (the group's next poll, which the notice hastens).

Entries of the other `group.request.*` types (accept, reject, block, withdraw) always get their round.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.store import NO_CHANNEL, RequestCard, StoredEntry

REQUEST_CREATE = "group.request.create"
KEEP = 1000  # listed requests remembered at most (each is a few dozen bytes)
# A card made for an earlier request of the same user is not this entry's: VRChat's request time and
# its entry's time lie within seconds of each other.
REQUEST_TIME_SLACK = timedelta(minutes=1)


class CardLookup(Protocol):
    async def cards_for(self, group_id: str, user_id: str) -> list[RequestCard]: ...


async def already_carded(store: CardLookup, entry: StoredEntry) -> bool:
    """True when `entry` tells of a new request whose card is posted and still pending."""
    if entry.event_type != REQUEST_CREATE or not entry.target_id:
        return False
    cards = [c for c in await store.cards_for(entry.group_id, entry.target_id) if c.channel_id != NO_CHANNEL]
    return bool(cards) and all(
        c.pending and c.message_id is not None and _same_request(c.requested_at, entry.created_at)
        for c in cards
    )


def _same_request(requested_at: datetime | None, entry_at: datetime) -> bool:
    return requested_at is None or requested_at >= entry_at - REQUEST_TIME_SLACK


class UntoldRequests:
    """The new requests, by (group, requester), an entry's round listed that no notice told of yet."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._listed: dict[tuple[str, str], None] = {}  # oldest first

    def listed(self, group_id: str, user_id: str) -> None:
        self._listed.pop((group_id, user_id), None)
        self._listed[group_id, user_id] = None
        while len(self._listed) > self._keep:
            del self._listed[next(iter(self._listed))]

    def resolved(self, group_id: str, user_id: str) -> None:
        """Another entry of the request: a later request of the user's is a new one."""
        self._listed.pop((group_id, user_id), None)

    def told(self, group_id: str, user_id: str | None) -> bool:
        """A notice: True when an entry's round listed its request already (the notice is then
        matched and forgotten); False when the notice needs its own round."""
        if user_id is None or (group_id, user_id) not in self._listed:
            return False
        del self._listed[group_id, user_id]
        return True
