"""Join request → card: how long a new request waits for its card, with VRChat's pipeline and without.

The real bot process (`groupbridge run`, bot.sandbox.world) against the simulator and the Discord
stand-in at Discord's real channel bucket. Players ask to join at uniformly random moments over the
run; for each, from the moment the request exists in VRChat to the stand-in storing its card.

- with the pipeline: the simulator's pipeline tells the bot at once; the audit-log poll and the
  cards' full round run at 60 s, as deployed, so what is measured is the pipeline's path alone;
- without it (`vrchat.pipeline = false`): polling at the bench's interval finds the request in the
  mirrored audit log (the card loop looks there every min(10 s, interval)), or the full round does.

Simulator validation off: its checks cost the simulator's time, not the bot's.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.sandbox.world import SandboxWorld, WorldSettings
from tests.bench.support import Report, percentile

DEPLOYED_INTERVAL = 60.0  # the default feed.poll_interval_seconds
TITLE_PREFIX = "Join request: "
SETTLE = 30.0  # seconds for a bot to start before its run counts as failed


@dataclass
class CardRun:
    pipeline: bool
    interval: float
    asked: dict[str, float] = field(default_factory=dict)  # requester name -> time.time() of the request
    carded: dict[str, float] = field(default_factory=dict)  # requester name -> first card's timestamp
    cards: int = 0  # card messages, repeats included
    connections: int = 0  # pipeline handshakes the simulator saw
    violations: int = 0

    @property
    def latencies(self) -> list[float]:
        return [self.carded[n] - at for n, at in self.asked.items() if n in self.carded]

    @property
    def lost(self) -> int:
        return sum(1 for n in self.asked if n not in self.carded)

    @property
    def duplicated(self) -> int:
        return self.cards - len(self.carded)


def scan_cards(world: SandboxWorld, run: CardRun) -> None:
    cards = world.cards()
    run.cards = len(cards)
    for message in cards:
        name = str(message.embeds[0].get("title", "")).removeprefix(TITLE_PREFIX)
        run.carded.setdefault(name, message.timestamp)


async def run_cards(
    tmp: Path, *, pipeline: bool, requests: int, duration: float, interval: float, seed: int = 17
) -> CardRun:
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, duration) for _ in range(requests))
    poll = DEPLOYED_INTERVAL if pipeline else interval
    settings = WorldSettings(poll_interval=poll, validate=False, pipeline=pipeline)
    run = CardRun(pipeline=pipeline, interval=poll)
    async with SandboxWorld(tmp / ("cards-pipeline" if pipeline else "cards-polling"), settings) as world:
        bot = world.bot_process()
        await bot.start()
        try:
            group = world.community.group.id
            await world.wait_for(
                lambda: bool(world.sim.requests_to("GET", rf"^/groups/{group}/auditLogs$")),
                "the bot's first poll",
                SETTLE,
                process=bot,
            )
            if pipeline:
                await world.wait_for(
                    lambda: world.sim.pipeline.open_connections == 1, "the pipeline", SETTLE, process=bot
                )
            state = world.sim.state
            start = time.monotonic()
            for n, moment in enumerate(moments):
                await asyncio.sleep(max(0.0, start + moment - time.monotonic()))
                name = f"Requester {n:03d}"
                state.request_to_join(group, state.add_user(name).id)
                run.asked[name] = time.time()
            # The last request's poll, the card loop's look at the mirror, a paced message, slack.
            deadline = time.monotonic() + 2 * poll + 30
            while time.monotonic() < deadline:
                scan_cards(world, run)
                if not run.lost:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # a repeat would come right after the first card
        finally:
            await bot.stop()
        scan_cards(world, run)
        run.connections = len(world.sim.pipeline.attempts)
        run.violations = len(world.discord.violations)
    return run


async def run(report: Report, tmp: Path, *, requests: int, duration: float, interval: float) -> list[CardRun]:
    report.note(
        f"Cards: {requests} join requests at uniformly random moments over {duration:g} s, the real bot "
        "process against the simulator and a stand-in at Discord's 5 msg / 5 s; from the request in "
        f"VRChat to its card in the channel. With the pipeline, polling runs at {DEPLOYED_INTERVAL:g} s "
        f"(as deployed: the figure is the pipeline's path); without it, at the bench's {interval:g} s "
        "(±25 %), the card loop looking in the mirror every min(10 s, interval). At VRChat's own "
        "floor of 30 s, polling alone would wait about that long more."
    )
    runs = []
    for pipeline in (True, False):
        label = "pipeline" if pipeline else "polling"
        result = await run_cards(
            tmp, pipeline=pipeline, requests=requests, duration=duration, interval=interval
        )
        runs.append(result)
        latencies = result.latencies
        how = (
            "the pipeline tells the bot; one GET of the group's requests"
            if pipeline
            else f"poll every {result.interval:g} s ±25 %, then the card loop's look at the mirror"
        )
        report.add(
            "cards",
            f"request → card p50 ({label})",
            percentile(latencies, 50),
            "s",
            how,
            key=f"cards.{label}.p50_s",
        )
        report.add(
            "cards",
            f"request → card p99 ({label})",
            percentile(latencies, 99),
            "s",
            "goal ≤ 5 s" if pipeline else "",
            key=f"cards.{label}.p99_s",
        )
        report.add("cards", f"lost ({label})", result.lost, "cards", "expected 0", key=f"cards.{label}.lost")
        report.add(
            "cards",
            f"duplicated ({label})",
            result.duplicated,
            "cards",
            "expected 0",
            key=f"cards.{label}.duplicated",
        )
        if pipeline:
            report.add(
                "cards",
                "pipeline connections",
                result.connections,
                "connections",
                "expected 1: no reconnects on a healthy pipeline",
                key="cards.pipeline.connections",
            )
        if result.lost or result.duplicated or result.violations:
            report.problem(
                f"cards run ({label}): {result.lost} lost, {result.duplicated} duplicated, "
                f"{result.violations} stand-in violations"
            )
    return runs
