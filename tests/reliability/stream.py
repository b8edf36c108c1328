"""A steady stream of audit entries into the simulator while the bot runs, dies and restarts.

The simulator lives in the test's event loop, so each addition is atomic with respect to the bot's
requests. Some entries come in small batches sharing one timestamp (VRChat logs several events in
the same millisecond); a batch is added in one go, so no other writer can slip between its entries
and the order the feed must keep (VRChat's, within the millisecond) is well defined.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from bot.sandbox.world import ROUTINE_EVENT_TYPES, SandboxWorld


class EntryStream:
    """Adds ``total`` entries at about ``rate`` per second; ``added`` counts them so far."""

    def __init__(
        self, world: SandboxWorld, total: int, rate: float, rng: random.Random, *, same_ms_every: int = 7
    ) -> None:
        self.world = world
        self.total = total
        self.rate = rate
        self.rng = rng
        self.same_ms_every = same_ms_every
        self.added = 0
        self.same_ms_batches = 0
        self.done = asyncio.Event()

    def add(self, count: int, *, created_at: datetime | None = None) -> None:
        state, community = self.world.sim.state, self.world.community
        people = community.members
        for _ in range(count):
            if self.added >= self.total:
                return
            self.added += 1
            kind = ROUTINE_EVENT_TYPES[self.added % len(ROUTINE_EVENT_TYPES)]
            state.add_audit_entry(
                community.group.id,
                kind,
                community.bot.id,
                people[self.added % len(people)].id,
                f"Stream entry {self.added} ({kind})",
                created_at=created_at,
            )

    async def run(self) -> None:
        """Until ``total`` are in; the pace follows the loop's clock, so a slow tick catches up."""
        loop = asyncio.get_running_loop()
        started, step = loop.time(), 0
        try:
            while self.added < self.total:
                step += 1
                due = int((loop.time() - started) * self.rate) + 1
                if step % self.same_ms_every == 0:
                    # One timestamp for the whole batch: only VRChat's list order tells them apart.
                    self.add(self.rng.randint(2, 5), created_at=datetime.now(UTC))
                    self.same_ms_batches += 1
                elif due > self.added:
                    self.add(min(due - self.added, 10))
                await asyncio.sleep(1 / self.rate)
        finally:
            self.done.set()
