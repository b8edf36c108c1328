"""One listing per new join request, whichever tells of it first: VRChat's pipeline or the mirror.

Where the pipeline listens and the audit log is mirrored, a new request is told twice: by the
pipeline's notice (in seconds) and by its mirrored `group.request.create` entry (at the group's next
poll). Each runs the group's card round, and each round lists the group's requests (a VRChat
request). The second is skipped:

- the entry, when its request already has its card posted and pending (the notice's round did it);
- the notice, when an entry's round listed a new request of that group that no notice had told of,
  within MATCH_SECONDS: the notice is about that request. It names only the group when it reaches
  the card loop, so this is a count per group; an entry whose notice never came (the pipeline
  dropped it) stops counting after MATCH_SECONDS, so the worst a wrong match costs is one request's
  card at the group's next poll (the notice wakes the poller) instead of in seconds.

Entries of the other `group.request.*` types (accept, reject, block, withdraw) always get their round.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.store import NO_CHANNEL, RequestCard, StoredEntry

REQUEST_CREATE = "group.request.create"
MATCH_SECONDS = 120.0
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
    """Per group, when an entry's round listed a new request that no pipeline notice had told of."""

    def __init__(self, window: float = MATCH_SECONDS) -> None:
        self._window = window
        self._listed: dict[str, list[float]] = {}

    def listed(self, group_id: str, now: float) -> None:
        recent = [at for at in self._listed.get(group_id, []) if now - at <= self._window]
        self._listed[group_id] = [*recent, now]

    def told(self, group_id: str, now: float) -> bool:
        """A notice for the group: True when it tells of a request an entry's round listed already
        (that entry is then matched); False when the notice needs its own round."""
        recent = [at for at in self._listed.pop(group_id, []) if now - at <= self._window]
        if not recent:
            return False
        if len(recent) > 1:
            self._listed[group_id] = recent[1:]
        return True
