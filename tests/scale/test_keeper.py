"""LeaseKeeper: fair shares, give-back before release, takeover after death, local expiry, standby.

Keepers are driven one tick at a time (no loops, no sleeps) except where the loop itself is the
subject. Each keeper has its own Store, as each process would; their database clock is shared and
moved by hand, and each keeper's own monotonic clock is a number the test sets.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable

import pytest

from bot.lease_names import GATEWAY_LEASE, channel_lease, group_lease
from bot.leases import STOP_GRACE, LeaseKeeper, Listener
from bot.store import Store
from tests.scale.conftest import Clock, OpenStore

TTL = 30.0
GROUPS = [group_lease(f"grp_{i:02d}") for i in range(60)]
CHANNELS = [channel_lease(1000 + i) for i in range(60)]
PAIRS = dict(zip(CHANNELS, GROUPS, strict=True))  # each group feeds one channel of its own


class Names:
    """The work to share; a test may change it between ticks (a group linked or unlinked)."""

    def __init__(self, names: Iterable[str], pairs: dict[str, str] | None = None) -> None:
        self.names = list(names)
        self.pairs = pairs

    async def __call__(self) -> list[str] | dict[str, str | None]:
        if self.pairs is None:
            return self.names
        return {n: self.pairs.get(n) for n in self.names}


class Mono:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A listener that also checks, at the moment it is told, what the database says."""

    def __init__(self, keeper: LeaseKeeper, store: Store) -> None:
        self.keeper, self.store = keeper, store
        self.gained: set[str] = set()
        self.lost: set[str] = set()
        self.still_mine_when_told: list[bool] = []
        keeper.subscribe(self)

    async def __call__(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        self.gained |= gained
        self.lost |= lost
        if lost:
            table = {x.name: x for x in await self.store.list_leases()}
            self.still_mine_when_told.append(
                all(table[n].owner == self.keeper.owner and table[n].live for n in lost)
            )


async def keepers(open_store: OpenStore, names: Names, count: int, **kwargs: object) -> list[LeaseKeeper]:
    made = []
    for k in range(count):
        made.append(
            LeaseKeeper(
                await open_store(),
                names,
                ttl=TTL,
                owner=f"p{k}",
                rng=random.Random(k),
                **kwargs,  # type: ignore[arg-type]
            )
        )
    return made


def pools(keeper: LeaseKeeper) -> set[str]:
    return {n for n in keeper.held if n.startswith(("group:", "channel:"))}


async def settle(members: list[LeaseKeeper], rounds: int = 4) -> None:
    for _ in range(rounds):
        for keeper in members:
            await keeper.tick()


async def test_members_share_the_work_evenly_and_never_twice(open_store: OpenStore) -> None:
    names = Names(GROUPS + CHANNELS, PAIRS)
    a, b, c = await keepers(open_store, names, 3)
    told = Recorder(a, a.store)
    first = await a.tick()
    assert first.members == 1 and pools(a) == set(GROUPS + CHANNELS)  # alone so far: everything
    await b.tick()
    await c.tick()
    assert pools(b) == pools(c) == set()  # all taken; a gives back on its next round
    await settle([a, b, c])
    held = [pools(k) for k in (a, b, c)]
    assert set().union(*held) == set(GROUPS + CHANNELS)
    assert sum(len(h) for h in held) == 120  # disjoint
    for h in held:
        assert len(h & set(GROUPS)) == 20 and len(h & set(CHANNELS)) == 20
        assert {PAIRS[c] for c in h & set(CHANNELS)} == h & set(GROUPS)  # a group with its channel
    # a stopped the work of what it gave back before the release reached the database.
    assert len(told.lost) == 80 and told.still_mine_when_told == [True]
    table = {x.name: x.owner for x in await a.store.list_leases()}
    assert {n for n, owner in table.items() if owner == "p1"} == pools(b) | {"member:p1"}


async def test_a_dead_members_work_is_taken_over_within_the_lease_time(
    open_store: OpenStore, clock: Clock
) -> None:
    names = Names(GROUPS + CHANNELS)
    a, b, dead = await keepers(open_store, names, 3)
    await settle([a, b, dead])
    orphans = pools(dead)
    assert len(orphans) == 40
    before = {x.name: x.generation for x in await a.store.list_leases()}

    clock.advance(TTL - 2)  # dead stopped renewing; the survivors renewed just now...
    for keeper in (a, b):
        round_ = await keeper.tick()
        assert round_.gained == frozenset()
        # ...and plan to look again right after dead's leases expire, not a third of TTL later.
        assert round_.next_delay <= 2 + 0.3
    clock.advance(2.01)
    await settle([a, b], rounds=3)
    assert pools(a) | pools(b) == set(GROUPS + CHANNELS) and not pools(a) & pools(b)
    assert len(pools(a)) == len(pools(b)) == 60
    table = {x.name: x for x in await a.store.list_leases()}
    assert all(table[n].generation == before[n] + 1 for n in orphans)  # each changed hands once


async def test_give_back_what_is_no_longer_bound(open_store: OpenStore) -> None:
    names = Names(GROUPS[:3])
    (a,) = await keepers(open_store, names, 1)
    told = Recorder(a, a.store)
    await a.tick()
    names.names = GROUPS[:2]
    round_ = await a.tick()
    assert round_.released == {GROUPS[2]} and told.lost == {GROUPS[2]}
    assert pools(a) == set(GROUPS[:2])
    (gone,) = await a.store.list_leases(GROUPS[2])
    assert not gone.live


async def test_a_keeper_that_cannot_renew_stops_its_work_in_time(open_store: OpenStore) -> None:
    names = Names(GROUPS[:2])
    mono = Mono()
    (a,) = await keepers(open_store, names, 1, clock=mono)
    told = Recorder(a, a.store)
    failing = asyncio.Event()

    async def wanted() -> list[str]:
        if failing.is_set():
            raise OSError("database unreachable")
        return names.names

    a._wanted = wanted
    await a.start()
    try:
        assert a.holds(GROUPS[0])
        failing.set()
        mono.now += TTL * 5 / 6 - 0.01
        assert a.holds(GROUPS[0])
        mono.now += 0.02  # past the local deadline, which lies before the database expiry
        assert not a.holds(GROUPS[0]) and a.fence(GROUPS[0]) is None
        async with asyncio.timeout(10):
            while GROUPS[0] not in told.lost:  # noqa: ASYNC110 - the keeper's own loop tells it
                await asyncio.sleep(0.01)
    finally:
        await a.stop()
    (lease, *_) = await a.store.list_leases(GROUPS[0])
    assert lease.live  # the database still shows it: the process gave up before the expiry


async def test_the_lone_sqlite_process_takes_everything_at_once(open_store: OpenStore) -> None:
    names = Names(GROUPS[:5])
    store = await open_store()
    await store.acquire_leases(GROUPS[:5], "killed predecessor", TTL)
    keeper = LeaseKeeper(store, names, ttl=TTL, exclusive=True)
    await keeper.tick()
    assert pools(keeper) == set(GROUPS[:5])


@pytest.mark.postgres
async def test_a_second_gateway_waits_until_the_first_is_gone(postgres_db_url: str) -> None:
    stores = [await Store.open(postgres_db_url) for _ in range(2)]
    await stores[0].upgrade()
    first, second = (
        LeaseKeeper(s, Names(()), ttl=3.0, member=False, pinned=(GATEWAY_LEASE,), owner=f"gw{k}")
        for k, s in enumerate(stores)
    )
    try:
        await first.start()
        await second.start()
        assert first.holds(GATEWAY_LEASE) and not second.holds(GATEWAY_LEASE)
        waiting = asyncio.create_task(second.wait_for(GATEWAY_LEASE))
        await second.tick()
        assert not waiting.done()
        await first.stop()  # released: the standby takes it at its next round
        async with asyncio.timeout(10):
            assert await waiting
        assert second.holds(GATEWAY_LEASE)
        (lease,) = await stores[0].list_leases(GATEWAY_LEASE)
        assert (lease.owner, lease.generation) == ("gw1", 2)
    finally:
        await second.stop()
        for store in stores:
            await store.close()


async def test_every_process_calling_vrchat_is_told_its_share_of_the_account(open_store: OpenStore) -> None:
    names = Names(GROUPS)
    told: dict[str, list[int]] = {"p0": [], "p1": [], "gw": []}
    a, b = [
        LeaseKeeper(await open_store(), names, ttl=TTL, owner=f"p{k}", on_processes=told[f"p{k}"].append)
        for k in range(2)
    ]
    gateway = LeaseKeeper(
        await open_store(),
        Names(()),
        ttl=TTL,
        owner="gw",
        member=False,
        pinned=(GATEWAY_LEASE,),
        on_processes=told["gw"].append,
    )
    assert (await a.tick()).processes == 1  # alone: the whole rate
    await gateway.tick()
    await b.tick()
    await a.tick()
    assert told == {"p0": [1, 3], "p1": [3], "gw": [2]}  # the gateway calls VRChat too: it counts
    await b.stop()  # a clean stop releases: the others go back to a larger share
    await a.tick()
    assert told["p0"][-1] == 2


async def test_a_gain_its_listener_failed_on_is_announced_again(open_store: OpenStore) -> None:
    (a,) = await keepers(open_store, Names(GROUPS[:2]), 1)
    heard: list[frozenset[str]] = []
    broken = True

    async def listener(gained: frozenset[str], lost: frozenset[str]) -> None:
        if broken and gained:
            raise OSError("database unreachable")  # e.g. listing the bindings to start the pollers
        heard.append(gained)

    a.subscribe(listener)
    await a.tick()
    assert heard == [] and set(GROUPS[:2]) <= a.held  # held, but nobody started their work
    broken = False
    await a.tick()  # nothing new is won this round...
    assert heard and set(GROUPS[:2]) <= heard[-1]  # ...yet the work is started now
    await a.tick()
    assert len(heard) == 1  # and only once


async def test_what_a_member_keeps_is_renewed_before_it_gives_anything_back(
    open_store: OpenStore, clock: Clock
) -> None:
    names = Names(GROUPS[:4])
    a, b = await keepers(open_store, names, 2)
    await a.tick()  # alone: all four
    await b.tick()  # a member more: a must give two back on its next round
    clock.advance(TTL / 2)
    renewed_first: list[bool] = []

    async def slow_to_stop(gained: frozenset[str], lost: frozenset[str]) -> None:
        if lost:  # stopping the given-back work: by now the kept leases must be fresh again
            table = {x.name: x for x in await a.store.list_leases()}
            kept = [n for n in GROUPS[:4] if n not in lost]
            renewed_first.append(all(table[n].remaining > TTL * 0.9 for n in kept))

    a.subscribe(slow_to_stop)
    round_ = await a.tick()
    assert len(round_.released) == 2 and renewed_first == [True]


async def keeper_missing_a_renewal(
    open_store: OpenStore, listener: Listener, *, stop_grace: float = STOP_GRACE
) -> LeaseKeeper:
    """A keeper whose own loop misses its next renewal (the database is away) and so tells `listener`
    of the loss: a short lease time brings that round soon, its monotonic clock is moved by hand."""
    mono = Mono()
    store, names = await open_store(), Names(GROUPS[:2])
    keeper = LeaseKeeper(store, names, ttl=0.3, owner="p0", clock=mono, stop_grace=stop_grace)
    keeper.subscribe(listener)
    await keeper.start()

    async def unreachable() -> list[str]:
        raise OSError("database unreachable")

    keeper._wanted = unreachable
    mono.now += 1.0  # past the local deadline
    return keeper


async def test_a_stop_lets_the_work_of_a_missed_renewal_finish_stopping(open_store: OpenStore) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    stopped: list[frozenset[str]] = []

    async def slow_to_stop(gained: frozenset[str], lost: frozenset[str]) -> None:
        if lost:
            entered.set()
            await release.wait()  # e.g. a message in flight on a channel given up
            stopped.append(lost)

    keeper = await keeper_missing_a_renewal(open_store, slow_to_stop)
    async with asyncio.timeout(10):
        await entered.wait()
        stopping = asyncio.create_task(keeper.stop())
        await asyncio.sleep(0)  # the stop has begun while the listener is still at work
        release.set()
        await stopping
    assert len(stopped) == 1 and set(GROUPS[:2]) <= stopped[0]  # told, and not cut short


async def test_a_stop_cuts_a_stuck_round_short_after_the_grace(open_store: OpenStore) -> None:
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(gained: frozenset[str], lost: frozenset[str]) -> None:
        if lost:
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

    keeper = await keeper_missing_a_renewal(open_store, stuck, stop_grace=0.05)
    async with asyncio.timeout(10):
        await entered.wait()
        await keeper.stop()
    assert cancelled.is_set()


async def test_an_idle_keeper_stops_without_waiting_for_the_grace(open_store: OpenStore) -> None:
    (keeper,) = await keepers(open_store, Names(GROUPS[:2]), 1, stop_grace=3600.0)
    await keeper.start()
    async with asyncio.timeout(10):  # fails, rather than hangs, if the stop waited for the grace
        await keeper.stop()
    assert keeper.held == frozenset()
