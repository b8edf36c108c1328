"""Adaptive polling in the real poller, against the real simulator, on a virtual clock: a quiet group
is polled less often up to the ceiling, and a new entry, a pipeline wake or a moderator's command
brings it back to the interval. Minutes of polling run in the time the requests take."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.feed.poller import AuditPoller, PollResult, PollSettings
from bot.store import Store
from bot.vrchat import VRChatClient
from tests.feed.conftest import bind
from tests.fixtures.clocks import VirtualClock
from tests.fixtures.vrchat_sim import SeededSim

INTERVAL, CEILING, FLOOR = 60.0, 180.0, 30.0
AT_BASE = (INTERVAL - 2, INTERVAL + 2)  # the interval's jitter: 2 s either way
AT_CEILING = (CEILING - 2, CEILING)


@dataclass
class Run:
    poller: AuditPoller
    clock: VirtualClock
    polls: list[float] = field(default_factory=list)  # virtual time of each poll
    results: list[PollResult | None] = field(default_factory=list)

    def record(self, result: PollResult | None) -> None:
        self.polls.append(self.clock.time())
        self.results.append(result)

    async def next_poll(self) -> float:
        """Jump to the poller's next poll and let it finish; the gap since the previous poll."""
        await self.clock.waiting(1)
        self.clock.advance()
        await self.clock.waiting(1)  # polled, and waiting again
        return self.polls[-1] - self.polls[-2]

    async def until_quiet(self) -> list[float]:
        gaps = [await self.next_poll() for _ in range(5)]
        assert self.poller.backoff.quiet
        return gaps


@asynccontextmanager
async def running(vrc: VRChatClient, store: Store, seeded: SeededSim) -> AsyncIterator[Run]:
    await bind(store, seeded.group.id)
    clock = VirtualClock()
    settings = PollSettings(interval=INTERVAL, floor=FLOOR, quiet_ceiling=CEILING)
    poller = AuditPoller(vrc, store, seeded.group.id, settings, rng=random.Random(5), clock=clock)
    run = Run(poller, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop, on_result=run.record))
    try:
        await clock.waiting(1)
        clock.advance()  # the first poll (spread over the first 5 s)
        await clock.waiting(1)
        assert len(run.polls) == 1
        yield run
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def within(gap: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= gap <= bounds[1]


def add_entry(seeded: SeededSim, text: str) -> str:
    return seeded.sim.state.add_audit_entry(
        seeded.group.id, "group.update", seeded.bot.id, seeded.group.id, text
    ).id


async def test_a_quiet_group_backs_off_to_the_ceiling_and_stays_there(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    async with running(vrc, sqlite_store, seeded_sim) as run:
        gaps = [await run.next_poll() for _ in range(6)]
    assert all(r is not None and r.new == 0 for r in run.results)  # the first poll only anchors
    # A group that has shown nothing is forgiven no empty poll: the wait doubles at once, then
    # holds at the ceiling.
    assert within(gaps[0], (INTERVAL * 2 - 2, INTERVAL * 2 + 2))
    assert all(within(g, AT_CEILING) for g in gaps[1:]), gaps
    # Each poll, however long the wait, still cost one request.
    assert all(r is not None and r.requests == 1 for r in run.results[1:])


async def test_a_new_entry_brings_a_quiet_group_back_to_the_interval(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    async with running(vrc, sqlite_store, seeded_sim) as run:
        await run.until_quiet()
        entry = add_entry(seeded_sim, "after a quiet spell")
        gap = await run.next_poll()  # finds it: no later than the ceiling after the last poll
        found = run.results[-1]
        assert within(gap, AT_CEILING) and found is not None and found.new == 1
        assert not run.poller.backoff.quiet
        back = await run.next_poll()
        again = await run.next_poll()
    assert within(back, AT_BASE)  # one look at the interval for what may follow the entry
    assert within(again, AT_CEILING)  # nothing did: a lone entry, straight back to the ceiling
    assert entry in {e.id for e in (await sqlite_store.search_entries()).entries}


async def test_a_pipeline_wake_polls_after_the_floor_and_resets_the_backoff(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    async with running(vrc, sqlite_store, seeded_sim) as run:
        await run.until_quiet()
        add_entry(seeded_sim, "the join request the notice was about")
        run.poller.wake()
        woken = await run.next_poll()
        assert run.results[-1] is not None and run.results[-1].new == 1
        after = [await run.next_poll() for _ in range(2)]
        assert run.poller.backoff.quiet  # nothing since the request: quiet again
    assert woken == FLOOR  # not the ceiling's wait: as soon as the floor allows
    assert within(after[0], AT_BASE)  # at the interval once,
    assert within(after[1], AT_CEILING)  # then back where it was


async def test_a_moderators_command_cuts_a_long_wait_to_the_interval(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    async with running(vrc, sqlite_store, seeded_sim) as run:
        await run.until_quiet()
        await run.clock.waiting(1)
        (deadline,) = run.clock.pending()
        assert deadline - run.polls[-1] >= AT_CEILING[0]
        run.poller.mark_active()
        cut = await run.next_poll()
        again = await run.next_poll()
    assert within(cut, AT_BASE)
    assert within(again, AT_CEILING)  # the cut poll found nothing: back to the quiet wait


async def test_marking_a_group_active_at_the_interval_changes_nothing(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    async with running(vrc, sqlite_store, seeded_sim) as run:
        add_entry(seeded_sim, "something happened")
        await run.next_poll()  # found it: at the interval
        assert not run.poller.backoff.quiet
        await run.clock.waiting(1)
        before = run.clock.pending()
        for _ in range(10):  # a busy moderator must not make VRChat be asked more often
            run.poller.mark_active()
        await asyncio.sleep(0.05)
        assert run.clock.pending() == before


async def test_a_busy_group_keeps_the_interval_through_two_empty_polls(
    seeded_sim: SeededSim, vrc: VRChatClient, sqlite_store: Store
) -> None:
    async with running(vrc, sqlite_store, seeded_sim) as run:
        gaps = []
        for n in range(2):  # something in two polls in a row: busy
            add_entry(seeded_sim, f"busy {n}")
            gaps.append(await run.next_poll())
        gaps += [await run.next_poll() for _ in range(4)]
    assert [r.new for r in run.results if r is not None] == [0, 1, 1, 0, 0, 0, 0]
    # Found at the grown wait after the anchor, then at the interval: never past it + 2 s while
    # busy, through two empty polls and up to the third; after that the wait grows.
    assert all(within(g, AT_BASE) for g in gaps[1:5]), gaps
    assert within(gaps[5], (INTERVAL * 2 - 2, INTERVAL * 2 + 2)), gaps
