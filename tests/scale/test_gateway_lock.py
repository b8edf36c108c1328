"""Issue #17: a standby gateway takes over in seconds when the gateway dies, not after its lease.

The PostgreSQL advisory lock is freed by the server the moment its holder's connection ends, which
is what a SIGKILL does; the lock holder then takes the gateway lease from the dead holder at once.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from bot.lease_names import GATEWAY_LEASE
from bot.leases import LeaseKeeper
from bot.store import Store
from bot.store.gateway_lock import GATEWAY_LOCK_KEY, GatewayLock

pytestmark = pytest.mark.postgres

TTL = 30.0  # the default lease: a takeover that waited for it would not pass these tests


async def open_stores(url: str, count: int) -> list[Store]:
    stores = [await Store.open(url) for _ in range(count)]
    await stores[0].upgrade()
    return stores


def lock_of(store: Store) -> GatewayLock:
    lock = store.gateway_lock()
    assert lock is not None
    return lock


async def test_one_holder_and_the_lock_frees_when_the_holders_connection_dies(postgres_db_url: str) -> None:
    stores = await open_stores(postgres_db_url, 2)
    first, second = lock_of(stores[0]), lock_of(stores[1])
    try:
        assert await first.try_acquire() and await first.try_acquire()  # held: asking again is free
        assert not await second.try_acquire()
        # The holder dies: its backend goes, as when the kernel closes a killed process's socket.
        async with stores[1].engine.connect() as conn:
            pids = (
                (
                    await conn.execute(
                        select(text("pid"))
                        .select_from(text("pg_locks"))
                        .where(text("locktype = 'advisory' AND granted"))
                    )
                )
                .scalars()
                .all()
            )
            assert len(pids) == 1
            await conn.execute(select(func.pg_terminate_backend(pids[0])))
        async with asyncio.timeout(5):
            while not await second.try_acquire():  # noqa: ASYNC110 - asking is the subject here
                await asyncio.sleep(0.05)
        assert second.held
    finally:
        await first.release()
        await second.release()
        for store in stores:
            await store.close()


async def test_a_released_lock_goes_back_to_nobody_not_to_the_pool(postgres_db_url: str) -> None:
    (store,) = await open_stores(postgres_db_url, 1)
    lock = lock_of(store)
    try:
        assert await lock.try_acquire()
        await lock.release()
        async with store.engine.connect() as conn:  # any pooled connection may be the old one
            held = (await conn.execute(select(func.pg_try_advisory_lock(GATEWAY_LOCK_KEY)))).scalar_one()
            assert held
            await conn.execute(select(func.pg_advisory_unlock(GATEWAY_LOCK_KEY)))
    finally:
        await store.close()


async def test_the_lock_holder_takes_the_gateway_lease_from_a_dead_holder_at_once(
    postgres_db_url: str,
) -> None:
    stores = await open_stores(postgres_db_url, 2)
    dead = LeaseKeeper(
        stores[0], lambda: _nothing(), ttl=TTL, member=False, pinned=(GATEWAY_LEASE,), owner="gw0"
    )
    standby = LeaseKeeper(stores[1], lambda: _nothing(), ttl=TTL, member=False, owner="gw1")
    try:
        await dead.start()
        await standby.start()
        assert dead.holds(GATEWAY_LEASE) and not standby.holds(GATEWAY_LEASE)
        (before,) = await stores[1].list_leases(GATEWAY_LEASE)
        assert before.remaining > TTL / 2  # a wait for the lease would take this long

        await standby.take_over(GATEWAY_LEASE)
        assert standby.holds(GATEWAY_LEASE)
        (after,) = await stores[1].list_leases(GATEWAY_LEASE)
        assert (after.owner, after.generation) == ("gw1", before.generation + 1)
        # Had the old gateway been alive after all (cut off from the database), it finds out at its
        # next round and steps down (GroupBridgeBot._watch_gateway_lease).
        assert GATEWAY_LEASE in (await dead.tick()).lost
        assert standby.holds(GATEWAY_LEASE)  # and renewals keep it
        await standby.tick()
        assert standby.holds(GATEWAY_LEASE)
    finally:
        await standby.stop()
        await dead.stop()
        for store in stores:
            await store.close()


async def _nothing() -> list[str]:
    return []
