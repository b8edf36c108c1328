"""Sharing the work between processes: each piece is run by the one process holding its lease.

The lease names, and the work behind each, are in bot.lease_names. Not the feed's alone, so not in
bot/feed: the feed, the join-request cards and the bot's gateway all ask this module.

Each process runs a LeaseKeeper. Every third of the lease time (jittered) it reads the lease table and
the bindings, and in one statement renews what it holds and takes what it should (bot.store.leases).
"What it should" is a fair share: ⌈leases of a kind / live members⌉, accounts first, then groups
(each paired with its serving account), then channels (each paired with a group that feeds it).
Below it, a process takes free or expired leases; above it (a process joined), it gives leases
back, stopping that work first.
When a holder dies, its leases expire and the survivors, who look again right after the earliest
expiry, take them within the lease time.

A holder must never work on past its lease: a lease counts as held only until a little before its
database expiry, measured on this process's monotonic clock from *before* the renewal was sent. If
renewals fail (the database is unreachable) the work stops by itself. What it had begun is safe:
storing audit entries is idempotent, an outbox row is claimed only while 'pending' and while the
lease is held in the database, and a message in flight carries its nonce, which Discord de-duplicates.
A process frozen past its lease (SIGSTOP, a paused VM) wakes up with work half done and its own view
not yet renewed: so each step of that work that goes out (a VRChat call, a Discord post or edit, a
decision) first asks the database whether the lease is still this process's
(bot.store.leases.lease_guard), and a lost one ends the work, which the new holder does.

On SQLite only one process may run (bot.store.process_lock), so it holds everything, taking over its
own dead predecessor's leases at once instead of waiting for them to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.lease_names import (
    ACCOUNT,
    CHANNEL,
    GATEWAY_LEASE,
    GROUP,
    MEMBER,
    account_lease,
    channel_lease,
    describe_work,
    group_lease,
)
from bot.store.leases import Lease, LeaseFence
from bot.store.ports import BindingReader, LeaseStore

log = logging.getLogger(__name__)

POOLS = (ACCOUNT, GROUP, CHANNEL)  # shared out between the members, in this order (pairs follow)

# A lease counts as held for this fraction of its time after the renewal was sent: the rest is the
# margin for clock skew between hosts and for work already under way when a renewal fails.
VALID_FRACTION = 5 / 6
RETRY_SOON = (0.1, 0.3)  # seconds: another try right away when others took what we reached for
PURGE_AFTER = timedelta(days=1)  # forget dead processes' presence leases unheld for this long
STOP_GRACE = 5.0  # seconds a round under way may take to finish at a stop before it is cut short

Listener = Callable[[frozenset[str], frozenset[str]], Awaitable[None]]  # (gained, lost)
# The work to share: lease names, or names mapped to the lease each would rather share a process with.
Wanted = Callable[[], Awaitable[Mapping[str, str | None] | Iterable[str]]]


def new_owner_id() -> str:
    """host:pid:random: readable in the status and the logs, and unique even after a PID is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def bound_lease_names(
    store: BindingReader,
    accounts: Iterable[str] = (),
    serving: Callable[[str], str | None] = lambda _: None,
) -> dict[str, str | None]:
    """The mirror's work: a lease per VRChat account (`accounts`: with several processes only), per
    bound group and per feed channel. A group is paired with the account serving it (`serving`, once
    known) and a channel with a group that feeds it, so that one process tends to hold all three: its
    polls then go out on its own account instead of through the account's holder, and the poller wakes
    its own outbox worker at once, where another process would only notice on its next idle round."""
    wanted: dict[str, str | None] = dict.fromkeys(map(account_lease, accounts))
    held_accounts = bool(wanted)  # without account leases a group pairs with nothing
    for b in sorted(await store.list_bindings(), key=lambda b: (b.group_id, b.feed_channel_id)):
        account = serving(b.group_id) if held_accounts else None
        wanted.setdefault(group_lease(b.group_id), account_lease(account) if account is not None else None)
        wanted.setdefault(channel_lease(b.feed_channel_id), group_lease(b.group_id))
    return wanted


@dataclass
class LeaseRound:
    """What one tick did."""

    held: frozenset[str]
    gained: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()  # taken from us: it had expired, someone else has it now
    released: frozenset[str] = frozenset()  # given back: over our share, or no longer bound
    members: int = 1
    processes: int = 1  # live processes calling VRChat: the members and a gateway-only process
    next_delay: float = 0.0
    leases: dict[str, Lease] = field(default_factory=dict)


class LeaseKeeper:
    """Holds this process's leases and tells the listeners what it gained and lost."""

    def __init__(
        self,
        store: LeaseStore,
        wanted: Wanted,
        *,
        ttl: float = 30.0,
        owner: str | None = None,
        member: bool = True,
        exclusive: bool = False,
        pinned: Collection[str] = (),
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_processes: Callable[[int], None] | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.store = store
        self._stop_grace = stop_grace
        # Told every round how many live processes share the VRChat account(s): see share_rate.
        self._on_processes = on_processes
        self.ttl = ttl
        self.owner = owner or new_owner_id()
        self.member = member  # takes a share of the pools; a gateway-only process does not
        self.exclusive = exclusive
        self._wanted = wanted
        self._pinned = set(pinned) | ({f"{MEMBER}{self.owner}"} if member else set())
        self._rng = rng or random.Random()
        self._clock = clock
        self._held: dict[str, Lease] = {}
        self._valid_until = 0.0
        self._listeners: list[Listener] = []
        self._untold: frozenset[str] = frozenset()
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- what the workers ask ----------------------------------------------------------------------

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._held) if self._clock() < self._valid_until else frozenset()

    def holds(self, name: str) -> bool:
        return name in self._held and self._clock() < self._valid_until

    def fence(self, name: str) -> LeaseFence | None:
        return LeaseFence(name, self.owner, self._held[name].generation) if self.holds(name) else None

    def lease(self, name: str) -> Lease | None:
        return self._held.get(name)

    def subscribe(self, listener: Listener) -> None:
        """`listener(gained, lost)` runs after every change. For leases given back it runs before the
        release reaches the database, and must return only once that work has stopped."""
        self._listeners.append(listener)

    # -- one round ---------------------------------------------------------------------------------

    async def tick(self) -> LeaseRound:
        """Read the table, give back what is over our share, renew the rest and take what is due."""
        async with self._lock:
            return await self._tick()

    async def _tick(self) -> LeaseRound:
        listed = await self._wanted() if self.member else {}
        wanted = dict(listed) if isinstance(listed, Mapping) else dict.fromkeys(listed)
        table = {lease.name: lease for lease in await self.store.list_leases()}
        members = 1 + sum(
            1 for n, x in table.items() if n.startswith(MEMBER) and x.live and x.owner != self.owner
        )
        processes = _processes(table, self.owner)
        if self._on_processes is not None:
            self._on_processes(processes)
        take, give = self._plan(wanted, table, members)
        # Renew what we keep before giving anything back: stopping the given-back work can take a
        # while (a channel's message in flight), and the kept leases must not lapse meanwhile.
        started = self._clock()
        asked = (set(self._held) | take | self._pinned) - give
        got = await self.store.acquire_leases(asked, self.owner, self.ttl, force=self.exclusive)
        before = set(self._held) - give
        self._held, self._valid_until = got, started + self.ttl * VALID_FRACTION
        gained, lost = frozenset(set(got) - before), frozenset(before - set(got))
        # A listener that failed on a gain (the database briefly away) is told again, so a lease is
        # never held for long without its work running.
        retold, self._untold = self._untold & set(got), frozenset()
        if gained:  # name#generation: each tenure of a lease has its own generation
            log.debug("Leases acquired: %s", " ".join(f"{n}#{got[n].generation}" for n in sorted(gained)))
            if work := describe_work(gained):
                log.info("This process now runs %s.", work)
        if lost:
            log.debug("Leases lost: %s", " ".join(sorted(lost)))
            log.warning(
                "Another process took over %s; this process stopped that work.",
                describe_work(lost) or "this process's place",
            )
        if gained or lost or retold:
            await self._notify(gained | retold, lost)
        if give:
            await self._give_back(give)
        missed = bool(take - set(got))  # others were quicker: look again soon, not in ttl/3
        return LeaseRound(
            held=frozenset(got),
            gained=gained,
            lost=lost,
            released=frozenset(give),
            members=members,
            processes=processes,
            next_delay=self._next_delay(table, set(wanted), missed),
            leases=dict(got),
        )

    def _plan(
        self, wanted: dict[str, str | None], table: dict[str, Lease], members: int
    ) -> tuple[set[str], set[str]]:
        """(leases to take, leases to give back): a fair share of each pool, keeping pairs together."""
        mine = set(self._held) - self._pinned
        give = mine - set(wanted)  # unbound since
        if self.exclusive:
            return set(wanted) - mine, give
        take: set[str] = set()
        for prefix in POOLS:  # accounts first, then groups: each follows what it is paired with
            names = {n for n in wanted if n.startswith(prefix)}
            have = sorted(mine & names)
            share = math.ceil(len(names) / members)
            after = (mine | take) - give

            def paired(name: str, after: set[str] = after) -> bool:
                return wanted.get(name) in after

            if len(have) > share:
                give |= set(self._pick(have, len(have) - share, first=lambda n: not paired(n)))
            elif len(have) < share:
                free = sorted(n for n in names - mine if not self._held_by_other(table.get(n)))
                take |= set(self._pick(free, share - len(have), first=paired))
        return take, give

    def _pick(self, names: list[str], count: int, first: Callable[[str], bool]) -> list[str]:
        """`count` of `names`, those with `first` before the rest, at random within each: members
        starting together then reach for different leases."""
        shuffled = list(names)
        self._rng.shuffle(shuffled)
        return sorted(shuffled, key=lambda n: not first(n))[:count]

    def _held_by_other(self, lease: Lease | None) -> bool:
        return lease is not None and lease.live and lease.owner != self.owner

    def _next_delay(self, table: dict[str, Lease], wanted: set[str], missed: bool) -> float:
        delay = self.ttl / 3 * self._rng.uniform(0.8, 1.0)  # jittered, and never later than ttl/3
        if missed:
            return min(delay, self._rng.uniform(*RETRY_SOON))
        # When a lease we may need (or a member's presence) runs out before then, look right after:
        # that is how a dead process's work is taken over within the lease time.
        watched = wanted | self._pinned
        others = [
            x.remaining
            for n, x in table.items()
            if self._held_by_other(x) and (n in watched or (self.member and n.startswith(MEMBER)))
        ]
        if others:
            delay = min(delay, min(others) + self._rng.uniform(*RETRY_SOON))
        return max(delay, 0.0)

    async def _give_back(self, names: set[str]) -> None:
        for name in names:
            self._held.pop(name, None)  # no new work on them from here on
        await self._notify(frozenset(), frozenset(names))  # ...and what was under way has stopped
        await self.store.release_leases(self.owner, names)
        log.debug("Leases given back: %s", " ".join(sorted(names)))
        if work := describe_work(names):
            log.info("Handed %s over to other processes.", work)

    async def _notify(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        for listener in self._listeners:
            try:
                await listener(gained, lost)
            except Exception:
                log.exception("A lease listener failed; its gains are announced again next round")
                self._untold |= gained
        self._changed.set()
        self._changed = asyncio.Event()

    # -- the loop ----------------------------------------------------------------------------------

    async def start(self) -> LeaseRound:
        """The first round (its errors are the caller's), then renewals in the background."""
        with contextlib.suppress(Exception):  # tidying only; never a reason not to start
            await self.store.purge_leases(PURGE_AFTER, prefix=MEMBER)
        first = await self.tick()
        self._stop.clear()
        self._task = asyncio.create_task(self._run(first.next_delay), name="leases")
        return first

    async def _run(self, delay: float) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._bounded(delay))
            if self._stop.is_set():
                return
            try:
                delay = (await self.tick()).next_delay
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Renewing the leases failed (%s); trying again shortly.", exc)
                delay = self.ttl / 10
            await self._drop_if_overdue()

    def _bounded(self, delay: float) -> float:
        if not self._held:
            return delay
        return max(0.0, min(delay, self._valid_until - self._clock()))

    async def _drop_if_overdue(self) -> None:
        if self._held and self._clock() >= self._valid_until:
            lost = frozenset(self._held)
            self._held = {}
            log.error("Leases could not be renewed in time; stopping their work: %s", ", ".join(sorted(lost)))
            await self._notify(frozenset(), lost)

    async def take_over(self, name: str) -> None:
        """Take `name` now, even from a live holder, and keep it. Only for a process that knows the
        holder is gone: the gateway lock (bot.store.gateway_lock) frees the moment its holder's
        connection dies, long before the dead holder's lease would run out."""
        async with self._lock:
            await self.store.acquire_leases([name], self.owner, self.ttl, force=True)
            self._pinned.add(name)
            await self._tick()

    async def wait_for(self, name: str) -> bool:
        """Until `name` is held (True) or the keeper stops (False). Logs who holds it meanwhile."""
        told = False
        while not self.holds(name):
            if self._stop.is_set() or self._task is None:
                return False
            if not told:
                holder = next((x for x in await self.store.list_leases(name) if x.name == name), None)
                log.warning(
                    "Waiting for the %s lease, held by %s for another %.0f s (only one process may do this).",
                    name,
                    holder.owner if holder else "nobody",
                    holder.remaining if holder else 0,
                )
                told = True
            changed, stopping = self._changed, asyncio.ensure_future(self._stop.wait())
            waiter = asyncio.ensure_future(changed.wait())
            await asyncio.wait({waiter, stopping}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopping.cancel()
        return True

    async def stop(self) -> None:
        """Clean shutdown: stop renewing, let the listeners stop the work, then release everything so
        other processes take over at once instead of after the lease time."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            # An idle loop ends by itself at once on _stop. A round under way (its listeners stopping
            # the work of a missed renewal, say) is let finish, within the grace: cancelled, that
            # work would be left half stopped, and the leases it lost are no longer ours to tell of.
            await asyncio.wait({task}, timeout=self._stop_grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._lock:
            held, self._held = frozenset(self._held), {}
            if not held:
                return
            await self._notify(frozenset(), held)
            try:
                await self.store.release_leases(self.owner)
            except Exception as exc:  # they expire by themselves within the lease time
                log.warning("Could not release the leases (%s); they expire in %g s.", exc, self.ttl)
            else:
                log.debug("Released %d lease(s).", len(held))


def _processes(table: Mapping[str, Lease], me: str) -> int:
    """Distinct live owners of member and gateway leases, this process included: everyone who calls
    VRChat with the same account(s) and so shares their rate."""
    owners = {x.owner for n, x in table.items() if x.live and (n.startswith(MEMBER) or n == GATEWAY_LEASE)}
    return len(owners | {me})
