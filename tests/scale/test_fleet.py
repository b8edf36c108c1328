"""Three `groupbridge run --role worker` processes and one gateway on one PostgreSQL database.

Sixty bound groups, each with its own feed channel, a stream of audit entries, and one worker
SIGKILLed half way: its groups are polled again by the survivors within the lease time, every entry
reaches its channel exactly once and in order, every poll left from the holder of the one VRChat
account's lease (never two processes in one tenure), and no lease tenure (name and generation) was
ever acquired by two processes.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sandbox.world import WorldSettings
from bot.store import Store
from tests.scale.fleet import Fleet, build_world, collapse, is_subsequence, owners, shares, wait_until

# Worker processes on PostgreSQL, one of them killed.
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("bot-process")]

GROUPS = 60
WORKERS = ("w1", "w2", "w3")
LEASE = 3.0
STREAM = 600  # entries, ten per group on average
STREAM_SECONDS = 6.0


async def stream(fleet: Fleet, expected: dict[str, list[str]], kill_after: int, kill: asyncio.Event) -> None:
    state, bot_id, rng = fleet.world.sim.state, fleet.world.community.bot.id, random.Random(8)
    for n in range(STREAM):
        group = fleet.groups[n % GROUPS] if n < GROUPS else rng.choice(fleet.groups)
        entry = state.add_audit_entry(group, "group.update", bot_id, group, f"stream {n}")
        expected[group].append(entry.id)
        if n == kill_after:
            kill.set()
        await asyncio.sleep(STREAM_SECONDS / STREAM)


async def test_workers_share_sixty_groups_and_survive_a_sigkill(postgres_db_url: str, tmp_path: Path) -> None:
    settings = WorldSettings(
        database_url=postgres_db_url,
        poll_interval=1.0,
        validate=False,  # 30 requests/s against the spec would eat the CPU the processes need
        env={"GROUPBRIDGE_FEED__LEASE_SECONDS": str(LEASE)},
    )
    fleet = await build_world(tmp_path, settings, GROUPS)
    store: Store | None = None
    try:
        first = await fleet.start("w1", "worker")  # alone first: it logs in and saves the session
        await fleet.world.wait_for(lambda: "Leases acquired" in first.log(), "w1 to start", 60, process=first)
        for label in WORKERS[1:]:
            await fleet.start(label, "worker")
        gateway = await fleet.start("gw", "gateway")
        store = await Store.open(postgres_db_url)
        workers = [fleet.processes[w] for w in WORKERS]

        async def balanced() -> bool:
            want = {w: GROUPS // len(WORKERS) for w in WORKERS}
            return [await shares(store, fleet, kind) for kind in ("group:", "channel:")] == [want, want]

        async def first_polls_done() -> bool:
            return sum(c.backfill_done for c in await store.list_cursors()) == GROUPS

        await wait_until(balanced, "an even share for each worker", 60, workers)
        await wait_until(first_polls_done, "every group's first poll", 30, workers)

        # The gateway answers commands (here: which of the sixty groups, since none was named).
        exchange = await fleet.world.command("vrc", "requests", {})
        await exchange.wait_for(lambda x: x.callback is not None, 20, "an answer")
        assert exchange.callback is not None and "group" in str(exchange.callback.body)

        expected: dict[str, list[str]] = {g: [] for g in fleet.groups}
        kill = asyncio.Event()
        streaming = asyncio.create_task(stream(fleet, expected, STREAM // 3, kill))
        await kill.wait()
        victim = fleet.processes["w2"]
        victim_groups = {
            n.removeprefix("group:")
            for n, owner in owners(await store.list_leases(), "group:").items()
            if fleet.label_of_owner(owner) == "w2"
        }
        await victim.kill()
        killed_at = time.monotonic()  # the simulator records request times on this same clock
        killed_wall = datetime.now(UTC)  # the processes' lease times are on this one
        survivors = [fleet.processes["w1"], fleet.processes["w3"]]

        def resumed() -> dict[str, float]:
            firsts = {}
            for group in victim_groups:
                after = [at for at, label in fleet.polls(group, killed_at) if label in ("w1", "w3")]
                if after:
                    firsts[group] = after[0] - killed_at
            return firsts

        async def all_resumed() -> bool:
            return len(resumed()) == len(victim_groups)

        await wait_until(all_resumed, "the victim's groups to be polled again", 8 * LEASE, survivors)
        first_poll = max(resumed().values())
        taken = {x.name: x for x in await store.list_leases("group:")}
        takeover = max((taken[f"group:{g}"].acquired_at - killed_wall).total_seconds() for g in victim_groups)
        await streaming

        async def all_delivered() -> bool:
            return all(len(fleet.delivered(fleet.channels[g])) >= len(ids) for g, ids in expected.items())

        await wait_until(all_delivered, "every entry in its channel", 90, survivors)
        for group, ids in expected.items():
            assert fleet.delivered(fleet.channels[group]) == ids, group  # once each, in order

        # One account: every poll leaves from the process holding its lease (bot.accounts), whichever
        # process holds the group, and never from two processes in one tenure of the account.
        account = collapse(
            [
                labels[0]
                for (name, _), labels in sorted(fleet.acquisitions().items())
                if name.startswith("account:")
            ]
        )
        for group in fleet.groups:
            polled = collapse([label for _, label in fleet.polls(group)])
            assert None not in polled and "gw" not in polled, polled
            assert is_subsequence(polled, account), (group, polled, account)
        twice = {key: who for key, who in fleet.acquisitions().items() if len(who) > 1}
        assert twice == {}
        assert fleet.world.discord.gateway.identify_count == 1  # workers never connect to the gateway

        for process in (*survivors, gateway):
            assert await process.stop() == 0
        left = [x for x in await store.list_leases() if x.live]
        assert [x.owner for x in left if fleet.label_of_owner(x.owner) != "w2"] == []  # released
        print(
            f"\nafter SIGKILL, {len(victim_groups)} groups (lease {LEASE:g} s): leases taken over within "
            f"{takeover:.2f} s, every group polled again within {first_poll:.2f} s"
        )
    finally:
        await fleet.stop_all()
        if store is not None:
            await store.close()
        await fleet.world.close()
