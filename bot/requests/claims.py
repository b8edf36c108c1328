"""Decisions claimed in Discord by a process that died before it answered VRChat.

A moderator's decision claims the request's cards in the store first and calls VRChat second
(bot.requests.service). A process killed in between leaves the request claimed while VRChat still
lists it pending: the card keeps its buttons, a click on it within a minute was told "already
accepted", and only after STALE_DECISION (bot.requests.reconcile) was the card started over, as a new
message beside the old one.

The card round settles such a claim as soon as it is sure the claim's process is gone. The card row
names that process (``claimed_by``, its bot.leases owner id): it is gone once it holds no unexpired
lease, and a lone process (SQLite, bot.store.process_lock) has no other process to wait for. A claim
made before the column existed names no process: it is settled once every other live process that
can decide (its member or gateway lease) started after the claim, so the claim is this process's own
or a dead one's. This process's own decision still in flight is waited for (the service's lock per
request). Then VRChat is asked about that one request (JoinRequestService.settle_claim), and nothing
is ever sent to VRChat on the claim's behalf:

- still pending: the claim is released, and the card's buttons work again (the same message);
- accepted or blocked as the claim said: the decision went through before the process died; it is
  recorded and the card closed;
- gone otherwise (a rejection looks like a withdrawal): released, and the round closes the card with
  what VRChat's log says happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.store import RequestCard
from bot.store.leases import LeaseGuard
from bot.vrchat.models import GroupMember

# Settlement of one claim: "pending" released, VRChat still lists the request; "decided" the claim's
# decision reached VRChat; "ended" released, the request left VRChat's list another way; "kept"
# nothing done (settled meanwhile, or VRChat could not say).
Settlement = Literal["pending", "decided", "ended", "kept"]


@dataclass(frozen=True, slots=True)
class OtherProcesses:
    """The other live processes, as the leases table shows them when the round asks."""

    owners: frozenset[str]  # every owner holding an unexpired lease, this process excepted
    since: datetime | None  # when the oldest of those that can decide requests started; None: none


ALONE = OtherProcesses(frozenset(), None)  # a lone process: a claim not its own is a dead one's
OthersNow = Callable[[], Awaitable[OtherProcesses]]
# The processes' clocks (a claim's time, a lease's) may differ this much between hosts.
CLOCK_SKEW = timedelta(seconds=5)


class ClaimSettler(Protocol):
    async def __call__(self, card: RequestCard, guard: LeaseGuard) -> Settlement: ...


def in_doubt(card: RequestCard, request: GroupMember) -> bool:
    """A Discord decision on this very request (not an earlier one: it was made after the user asked)
    whose card is not known to be closed, while VRChat lists the request as pending."""
    return (
        not card.pending
        and card.closed_at is None
        and card.handled_where == "Discord"
        and card.handled_by_discord_id is not None
        and card.handled_at is not None
        and (request.created_at is None or card.handled_at >= request.created_at)
    )


def maybe_alive(card: RequestCard, others: OtherProcesses) -> bool:
    """Another live process may have made this claim and be calling VRChat: the one named on the row
    still holds a lease, or (a claim from before the row named its process) one started before it."""
    if card.claimed_by is not None:
        return card.claimed_by in others.owners
    since = others.since
    return since is not None and card.handled_at is not None and card.handled_at >= since - CLOCK_SKEW


async def settle_claims(
    settle: ClaimSettler,
    pending: dict[str, GroupMember],
    cards: Iterable[RequestCard],
    others: OthersNow,
    guard: LeaseGuard,
) -> dict[str, Settlement]:
    """Settle the claims on the listed requests (`pending`, by requester) that only a process gone
    since can have made: what changed, per requester. A request whose decision went through, or that
    ended otherwise, leaves `pending`, so that the round closes its cards (with the claim's outcome,
    or with what VRChat's log says)."""
    doubtful = {c.user_id: c for c in cards if c.user_id in pending and in_doubt(c, pending[c.user_id])}
    if not doubtful:
        return {}
    processes = await others()  # asked only when there is a claim in doubt: one query
    settled: dict[str, Settlement] = {}
    for user_id, claim in sorted(doubtful.items()):
        if maybe_alive(claim, processes):
            continue  # its process may still be answering VRChat: STALE_DECISION, as before
        outcome = await settle(claim, guard)
        if outcome in ("decided", "ended"):
            del pending[user_id]
        if outcome != "kept":
            settled[user_id] = outcome
    return settled
