"""The lease table on both backends: grant, renew, expire, take over, release, and races.

Each test's stores share one hand-moved clock, so expiry is a step of the clock rather than a wait.
Two owners are two Store instances (two engines, two connection pools), as two processes would be.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.leases import LeaseKeeper
from bot.store import BindingIn, Store
from bot.store.leases import LeaseFence, check_fence
from tests.scale.conftest import T0, Clock, OpenStore
from tests.store.helpers import GROUP, entries

TTL = 30.0


async def test_a_free_lease_is_granted_renewed_and_kept_from_others(
    open_store: OpenStore, clock: Clock
) -> None:
    a, b = await open_store(), await open_store()
    got = await a.acquire_leases(["group:x"], "A", TTL)
    assert got["group:x"].owner == "A" and got["group:x"].generation == 1
    assert got["group:x"].acquired_at == T0 and got["group:x"].expires_at == T0 + timedelta(seconds=TTL)

    clock.advance(TTL - 1)  # still A's, to the last second
    assert await b.acquire_leases(["group:x"], "B", TTL) == {}
    renewed = await a.acquire_leases(["group:x"], "A", TTL)
    lease = renewed["group:x"]
    assert (lease.generation, lease.acquired_at) == (1, T0)  # the same tenure, longer
    assert lease.expires_at == clock.now + timedelta(seconds=TTL)

    clock.advance(TTL - 1)  # past the first expiry, not the renewed one
    assert await b.acquire_leases(["group:x"], "B", TTL) == {}
    (listed,) = await b.list_leases()
    assert listed.owner == "A" and listed.live and listed.remaining == pytest.approx(1.0)


async def test_an_expired_lease_goes_to_whoever_asks_first(open_store: OpenStore, clock: Clock) -> None:
    a, b = await open_store(), await open_store()
    await a.acquire_leases(["group:x", "channel:1"], "A", TTL)
    clock.advance(TTL + 0.001)
    taken = await b.acquire_leases(["group:x"], "B", TTL)
    assert taken["group:x"].owner == "B" and taken["group:x"].generation == 2
    assert taken["group:x"].acquired_at == clock.now
    # A comes back (it was paused, say): the group is B's now; its channel nobody took, so still A's.
    back = await a.acquire_leases(["group:x", "channel:1"], "A", TTL)
    assert set(back) == {"channel:1"} and back["channel:1"].generation == 1
    listed = {x.name: x.owner for x in await a.list_leases()}
    assert listed == {"channel:1": "A", "group:x": "B"}


async def test_release_lets_others_in_at_once_and_keeps_the_generation(
    open_store: OpenStore, clock: Clock
) -> None:
    a, b = await open_store(), await open_store()
    await a.acquire_leases(["group:x", "group:y", "channel:1"], "A", TTL)
    assert await b.release_leases("B") == 0  # nothing of B's
    assert await a.release_leases("A", ["group:x"]) == 1
    clock.advance(0.001)
    assert set(await b.acquire_leases(["group:x", "group:y"], "B", TTL)) == {"group:x"}
    assert await a.release_leases("A") == 2  # everything else of A's
    clock.advance(0.001)
    got = await b.acquire_leases(["group:y", "channel:1"], "B", TTL)
    assert {n: x.generation for n, x in got.items()} == {"group:y": 2, "channel:1": 2}
    assert [x.name for x in await b.list_leases("group:")] == ["group:x", "group:y"]


async def test_force_takes_a_live_lease(open_store: OpenStore) -> None:
    """Only for the one process on a SQLite file, after its predecessor was killed."""
    a, b = await open_store(), await open_store()
    await a.acquire_leases(["group:x"], "dead predecessor", TTL)
    got = await b.acquire_leases(["group:x"], "B", TTL, force=True)
    assert got["group:x"].owner == "B" and got["group:x"].generation == 2


async def test_racing_owners_each_lease_has_exactly_one_winner(open_store: OpenStore, clock: Clock) -> None:
    stores = [await open_store() for _ in range(4)]
    names = [f"group:{i}" for i in range(20)]
    for round_no in range(3):  # free leases, then expired ones twice
        results = await asyncio.gather(
            *(s.acquire_leases(names, f"owner-{k}", TTL) for k, s in enumerate(stores))
        )
        for name in names:
            winners = [k for k, got in enumerate(results) if name in got]
            assert len(winners) == 1, (round_no, name, winners)
        table = {x.name: x for x in await stores[0].list_leases()}
        assert {n: f"owner-{k}" for k, got in enumerate(results) for n in got} == {
            n: x.owner for n, x in table.items()
        }
        clock.advance(TTL + 1)


async def test_a_claim_is_all_or_nothing_and_fenced_by_the_lease(open_store: OpenStore, clock: Clock) -> None:
    a, b = await open_store(), await open_store()
    await a.add_binding(BindingIn(group_id=GROUP, guild_id=1, feed_channel_id=10))
    await a.ingest(GROUP, entries(range(6)))
    rows = [i.id for i in await a.pending_for_channel(10)]
    await a.acquire_leases(["channel:10"], "A", TTL)
    fence_a = LeaseFence("channel:10", "A")

    assert await a.claim_pending(rows[:2], "n1", fence=fence_a)
    assert not await a.claim_pending(rows[:2], "n1", fence=fence_a)  # packed already
    assert not await a.claim_pending(rows[1:4], "n2", fence=fence_a)  # one of them packed already...
    assert [i.id for i in await a.pending_for_channel(10)] == rows[2:]  # ...so none of them changed

    clock.advance(TTL + 1)
    await b.acquire_leases(["channel:10"], "B", TTL)
    # A was paused past its lease: its claim fails in the database, whatever A believes.
    assert not await a.claim_pending(rows[2:4], "n3", fence=fence_a)
    assert await b.claim_pending(rows[2:4], "n3", fence=LeaseFence("channel:10", "B"))
    in_flight = await b.rows_in_flight(10)
    assert [(i.id, i.nonce, i.attempts) for i in in_flight] == [
        *((r, "n1", 1) for r in rows[:2]),
        *((r, "n3", 1) for r in rows[2:4]),
    ]


async def test_a_fence_from_an_earlier_tenure_fails_once_the_lease_came_back(
    open_store: OpenStore, clock: Clock
) -> None:
    a, b = await open_store(), await open_store()
    first = (await a.acquire_leases(["channel:10"], "A", TTL))["channel:10"]
    before = LeaseFence("channel:10", "A", first.generation)
    assert await a.still_holds(before)

    clock.advance(TTL + 1)  # A paused past its lease; B takes the channel, then hands it back
    await b.acquire_leases(["channel:10"], "B", TTL)
    await b.release_leases("B", ["channel:10"])
    again = (await a.acquire_leases(["channel:10"], "A", TTL))["channel:10"]

    assert again.generation == first.generation + 2
    assert not await a.still_holds(before)  # what A began before the pause is not A's to finish
    assert await a.still_holds(LeaseFence("channel:10", "A", again.generation))


async def test_a_fence_from_an_earlier_tenure_fails_once_the_lease_came_back_days_later(
    open_store: OpenStore, clock: Clock
) -> None:
    """A process paused for days: another took its lease and went, a process starting since tidied
    the lease table up, and the paused one takes the lease again. Its tenure before the pause must
    not pass for the one after (the generation must not have started over)."""
    a, b = await open_store(), await open_store()

    async def channel() -> list[str]:
        return ["channel:10"]

    keeper = LeaseKeeper(a, channel, ttl=TTL, owner="A", clock=lambda: 0.0)
    await keeper.tick()
    before = keeper.fence("channel:10")
    assert before is not None and await a.still_holds(before)

    clock.advance(TTL + 1)  # A paused past its lease; B takes the channel (and does what A began)
    other = LeaseKeeper(b, channel, ttl=TTL, owner="B", clock=lambda: 0.0)
    await other.start()
    await other.stop()
    clock.advance(2 * 86400)
    starting = LeaseKeeper(b, channel, ttl=TTL, owner="C", member=False, clock=lambda: 0.0)
    await starting.start()  # tidies the table up, then takes the channel...
    await starting.stop()  # ...and stops again at once
    await keeper.tick()  # A wakes up and takes the channel anew

    assert keeper.lease("channel:10") is not None
    assert not await a.still_holds(before)  # what A began before the pause is not A's to finish
    after = keeper.fence("channel:10")
    assert after is not None and await a.still_holds(after)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_transaction_left_open_under_a_fence_does_not_hold_the_takeover_up(
    open_store: OpenStore, clock: Clock
) -> None:
    """A process frozen inside a fenced write keeps the lease row share-locked; the server ends that
    transaction once it idles past the lease's time left, so the takeover waits no longer than that."""
    a, b = await open_store(), await open_store()
    await a.acquire_leases(["channel:10"], "A", 1.0)
    frozen = AsyncSession(a.engine)
    await check_fence(frozen, LeaseFence("channel:10", "A"), clock())  # ...and nothing more from A

    clock.advance(2.0)
    async with asyncio.timeout(30):  # without the limit, for as long as A's transaction stays open
        taken = await b.acquire_leases(["channel:10"], "B", TTL)
    assert taken["channel:10"].owner == "B"
    with contextlib.suppress(DBAPIError):  # the server ended A's session
        await frozen.close()


async def test_purge_forgets_only_long_expired_leases(open_store: OpenStore, clock: Clock) -> None:
    a = await open_store()
    await a.acquire_leases(["member:dead", "channel:10"], "dead", TTL)
    clock.advance(3600)
    await a.acquire_leases(["member:alive"], "alive", TTL)
    assert await a.purge_leases(timedelta(minutes=30), prefix="member:") == 1
    # A work lease stays: its generation goes on counting when it is taken again.
    assert [x.name for x in await a.list_leases()] == ["channel:10", "member:alive"]


@pytest.mark.postgres
async def test_startup_work_runs_one_process_at_a_time(postgres_db_url: str) -> None:
    """Two processes starting together would race to create tables and insert the config's bindings."""
    first, second, observer = [await Store.open(postgres_db_url) for _ in range(3)]
    order: list[str] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with first.startup_lock():
            order.append("first in")
            await release.wait()
            order.append("first out")

    async def follow() -> None:
        async with second.startup_lock():
            order.append("second in")

    try:
        holder = asyncio.create_task(hold())
        while not order:  # noqa: ASYNC110 - the lock is taken in another connection
            await asyncio.sleep(0.01)
        follower = asyncio.create_task(follow())
        async with observer.engine.connect() as conn:
            waiting = 0
            while waiting == 0:  # the second is blocked in PostgreSQL, visibly
                await asyncio.sleep(0.01)
                result = await conn.execute(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                )
                waiting = int(result.scalar_one())
                await conn.rollback()
        assert order == ["first in"]
        release.set()
        await asyncio.gather(holder, follower)
        assert order == ["first in", "first out", "second in"]
    finally:
        for store in (first, second, observer):
            await store.close()
