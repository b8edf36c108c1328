"""`AuditPoller.wake()`: a group VRChat's pipeline says is active is polled soon, within the floor."""

from __future__ import annotations

import asyncio

import pytest

from bot.feed.poller import AuditPoller, PollSettings
from bot.store import Store
from bot.vrchat import VRChatClient
from tests.feed.conftest import bind
from tests.fixtures.vrchat_sim import SeededSim

AUDIT = r"/auditLogs$"
INTERVAL = 600.0  # no poll comes from the interval during these tests: only the first, and wakes


async def polls_reach(seeded: SeededSim, count: int) -> None:
    async with asyncio.timeout(20):  # far below INTERVAL: only a wake can explain another poll
        while len(seeded.sim.requests_to("GET", AUDIT)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.mark.slow  # real-time waits: the first poll's spread, then the wake
async def test_a_woken_poller_polls_now_instead_of_at_the_interval(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    await bind(sqlite_store, seeded_sim.group.id)
    poller = AuditPoller(vrc, sqlite_store, seeded_sim.group.id, PollSettings(interval=INTERVAL, floor=0.1))
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    try:
        await polls_reach(seeded_sim, 1)  # the first poll (within 5 s: spread over groups)
        entry = seeded_sim.sim.state.add_audit_entry(
            seeded_sim.group.id, "group.update", seeded_sim.bot.id, seeded_sim.group.id, "woken"
        )
        poller.wake()
        await polls_reach(seeded_sim, 2)
        async with asyncio.timeout(10):  # stored by the woken poll
            while entry.id not in {e.id for e in (await sqlite_store.search_entries()).entries}:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)  # a stop still ends the loop at once


@pytest.mark.slow  # real-time waits: a one-second floor
async def test_a_wake_waits_out_the_floor_after_the_last_poll(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    await bind(sqlite_store, seeded_sim.group.id)
    floor = 1.0
    poller = AuditPoller(vrc, sqlite_store, seeded_sim.group.id, PollSettings(interval=INTERVAL, floor=floor))
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    try:
        await polls_reach(seeded_sim, 1)
        for _ in range(5):  # however often it is woken, VRChat is asked no more often than the floor
            poller.wake()
            await asyncio.sleep(0.05)
        await polls_reach(seeded_sim, 2)
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    first, second = (r.at for r in seeded_sim.sim.requests_to("GET", AUDIT))
    # The floor counts from the start of the last poll, a little before its request reached VRChat;
    # without it the first wake would have polled 0.05 s after the first poll.
    assert second - first >= floor / 2
    assert len(seeded_sim.sim.requests_to("GET", AUDIT)) == 2
