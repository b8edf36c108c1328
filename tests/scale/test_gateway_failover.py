"""Issue #17: a gateway that dies is replaced in seconds, at the default 30 s lease.

Two `groupbridge run --role gateway` processes on PostgreSQL; the first is SIGKILLed. The standby
must connect to Discord and answer a slash command while the dead gateway's lease still has most of
its 30 s to run: only the gateway lock (freed with the dead process's connection) can have let it.
The failover time is printed, not asserted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.lease_names import GATEWAY_LEASE
from bot.sandbox.world import WorldSettings
from bot.store import Store
from tests.scale.fleet import build_world, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("bot-process")]


async def test_a_standby_gateway_takes_over_long_before_the_dead_gateways_lease_ends(
    postgres_db_url: str, tmp_path: Path
) -> None:
    settings = WorldSettings(database_url=postgres_db_url, poll_interval=1.0)
    fleet = await build_world(tmp_path, settings, 1)
    world, store = fleet.world, None
    gateway = world.discord.gateway
    try:
        first = await fleet.start("gw1", "gateway")
        await world.wait_for(lambda: gateway.identify_count >= 1, "the first gateway", 60, process=first)
        second = await fleet.start("gw2", "gateway")
        await world.wait_for(lambda: "Standing by" in second.log(), "the standby", 60, process=second)
        store = await Store.open(postgres_db_url)
        (before,) = await store.list_leases(GATEWAY_LEASE)
        assert fleet.label_of_owner(before.owner) == "gw1"

        identified = gateway.identify_count
        await first.kill()
        killed_at, killed_wall = time.monotonic(), datetime.now(UTC)
        await world.wait_for(
            lambda: gateway.identify_count > identified, "the standby to connect", 60, process=second
        )
        connected = time.monotonic() - killed_at
        exchange = await world.command("vrc", "requests", {})
        await exchange.wait_for(lambda x: x.callback is not None, 20, "an answer from the new gateway")
        answered = time.monotonic() - killed_at

        async def taken() -> bool:
            (lease,) = await store.list_leases(GATEWAY_LEASE)
            return fleet.label_of_owner(lease.owner) == "gw2"

        await wait_until(taken, "the lease to name the new gateway", 10, [second])
        (after,) = await store.list_leases(GATEWAY_LEASE)
        # Taken over while the dead gateway's lease still ran: not by waiting it out.
        assert after.acquired_at < before.expires_at and after.generation == before.generation + 1
        left = (before.expires_at - killed_wall).total_seconds()
        print(
            f"\ngateway failover at the default lease: connected {connected:.1f} s and answered "
            f"{answered:.1f} s after the SIGKILL; the dead gateway's lease had {left:.1f} s left"
        )
    finally:
        await fleet.stop_all()
        if store is not None:
            await store.close()
        await world.close()
