"""Event-to-Discord latency: from an entry appearing in VRChat's log to the message carrying it.

The real FeedService (one poller loop, the outbox worker woken by each poll) runs against the
simulator and the Discord stand-in at Discord's real channel bucket (5 messages / 5 s) with the
worker's real pacer. Entries are added to the simulator's log at random moments (uniformly spread
over the run, so some land just after a poll and some just before the next); for each the bench
keeps the wall-clock moment it became visible and the stand-in's timestamp of the message whose
embed footer names it. The wait for the next poll dominates, so the run also splits off what
happens after the poll: from the audit-log request that first could see the entry to the message.

The simulator's spec validation is off here: it costs milliseconds per page, which would be counted
as latency although VRChat's own time is not the bot's (the poll bench runs with it on).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.feed.outbox import OutboxWorker
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat import VRChatSimulator
from bot.store import BindingIn
from bot.vrchat import Politeness
from tests.bench.bench_feed import GAUD
from tests.bench.support import Report, loopback_poll_settings, percentile, sqlite_store
from tests.fixtures.discord_standin import FEED_CHANNEL_ID, GUILD_ID, logged_in_client, running_standin
from tests.fixtures.vrchat_sim import SeededSim, bot_client, seed_basic

AUDIT_PATH = r"/auditLogs$"
HISTORY = 5  # stored by the first poll (backfill "none"), never posted


@dataclass
class Injected:
    entry_id: str
    wall: float  # time.time() once visible: the stand-in stamps messages with the same clock
    mono: float  # time.monotonic() once visible: the simulator stamps requests with this one


@dataclass
class LatencyRun:
    interval: float
    injected: list[Injected]
    delivered_at: dict[str, float]  # entry id -> stand-in timestamp of the first message carrying it
    deliveries: int  # embeds naming an injected entry, repeats included
    unexpected: int  # entries posted that were never injected (history must stay unposted)
    polls: int
    after_poll: list[float] = field(default_factory=list)  # seconds from the seeing poll to Discord
    violations: int = 0

    @property
    def latencies(self) -> list[float]:
        return [
            self.delivered_at[i.entry_id] - i.wall for i in self.injected if i.entry_id in self.delivered_at
        ]

    @property
    def lost(self) -> int:
        return sum(1 for i in self.injected if i.entry_id not in self.delivered_at)

    @property
    def duplicated(self) -> int:
        return self.deliveries - len(self.delivered_at)


def scan_channel(standin: DiscordStandIn, wanted: set[str]) -> tuple[dict[str, float], int, int]:
    """(first delivery time per wanted id, embeds naming a wanted id, embeds naming anything else)."""
    first: dict[str, float] = {}
    deliveries = unexpected = 0
    for message in standin.messages(FEED_CHANNEL_ID):
        for embed in message.embeds:
            match = GAUD.search(embed.get("footer", {}).get("text", ""))
            entry_id = match.group(0).replace("\\", "") if match else ""
            if entry_id in wanted:
                deliveries += 1
                first.setdefault(entry_id, message.timestamp)
            else:
                unexpected += 1
    return first, deliveries, unexpected


async def inject(seeded: SeededSim, moments: list[float], out: list[Injected]) -> None:
    """One audit entry at each moment (seconds from now), as a moderator acting in VRChat would."""
    start = time.monotonic()
    for n, moment in enumerate(moments):
        await asyncio.sleep(max(0.0, start + moment - time.monotonic()))
        entry = seeded.sim.state.add_audit_entry(
            seeded.group.id, "group.member.join", seeded.member.id, seeded.member.id, f"latency probe {n}"
        )
        out.append(Injected(entry.id, time.time(), time.monotonic()))


def seeing_polls(sim: VRChatSimulator, injected: list[Injected]) -> list[float]:
    """For each entry, the arrival (monotonic) of the first audit-log request made after it appeared."""
    polls = sorted(r.at for r in sim.requests_to("GET", AUDIT_PATH))
    seen = []
    for item in injected:
        seen.append(next((at for at in polls if at >= item.mono), float("nan")))
    return seen


async def run_latency(
    tmp: Path,
    *,
    events: int,
    duration: float,
    interval: float,
    seed: int = 6,
    on_progress: Callable[[int], None] | None = None,
) -> LatencyRun:
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, duration) for _ in range(events))
    sim = VRChatSimulator(validate=False)
    await sim.start(host="127.0.0.1", port=0)
    try:
        seeded = seed_basic(sim)
        past = datetime.now(UTC) - timedelta(hours=HISTORY + 1)
        for i in range(HISTORY):
            sim.state.add_audit_entry(
                seeded.group.id,
                "group.update",
                seeded.bot.id,
                seeded.group.id,
                f"history {i}",
                created_at=past + timedelta(hours=i),
            )
        # VRChat's default politeness (1 request/s, burst 3) suits a poll every 2 s or more (an idle
        # poll is one request); a faster smoke run would otherwise measure the limiter.
        politeness = Politeness(requests_per_second=max(1.0, 2.0 / interval))
        vrc = bot_client(seeded, tmp / "latency-session.json", politeness=politeness)
        injected: list[Injected] = []
        async with (
            vrc,
            sqlite_store(tmp / "latency.db") as store,
            running_standin() as standin,  # Discord's real bucket: 5 messages per 5 s per channel
            logged_in_client(standin) as client,
        ):
            await vrc.login()
            await store.add_binding(
                BindingIn(group_id=seeded.group.id, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
            )
            service = FeedService(
                vrc,
                store,
                OutboxWorker(store, DiscordFeedSender(client)),
                loopback_poll_settings(interval),
            )
            await service.run_once()  # the first poll stores the history: later entries are live
            polls_before = len(sim.requests_to("GET", AUDIT_PATH))
            await service.start()
            try:
                injector = asyncio.create_task(inject(seeded, moments, injected))
                # Enough for the last entry's poll, a paced message or two, and a slow machine.
                deadline = time.monotonic() + duration + 3 * interval * 1.25 + 15
                while time.monotonic() < deadline:
                    arrived, _, _ = scan_channel(standin, {i.entry_id for i in injected})
                    if on_progress is not None:
                        on_progress(len(arrived))
                    if injector.done() and len(arrived) == events:
                        break
                    await asyncio.sleep(0.05)
                await injector
            finally:
                await service.stop()
            polls = len(sim.requests_to("GET", AUDIT_PATH)) - polls_before
            delivered, deliveries, unexpected = scan_channel(standin, {i.entry_id for i in injected})
            run = LatencyRun(
                interval=interval,
                injected=injected,
                delivered_at=delivered,
                deliveries=deliveries,
                unexpected=unexpected,
                polls=polls,
                violations=len(standin.violations),
            )
        for item, poll_at in zip(injected, seeing_polls(sim, injected), strict=True):
            if item.entry_id in delivered and poll_at == poll_at:  # NaN: no poll after it (lost anyway)
                run.after_poll.append(delivered[item.entry_id] - item.wall - (poll_at - item.mono))
        return run
    finally:
        await sim.close()


async def run(report: Report, tmp: Path, *, events: int, duration: float, interval: float) -> LatencyRun:
    report.note(
        f"Latency: {events} entries added to the simulator's log at uniformly random moments over "
        f"{duration:g} s; the real FeedService polls every {interval:g} s ±25 % (the 30 s floor lowered "
        "for the loopback simulator, as the bot does) and posts through the real pacer into "
        "a stand-in at Discord's 5 msg / 5 s; from visible in VRChat to the stand-in storing the "
        "message. Simulator validation off."
    )
    with report.steps("entries delivered", events) as step:
        result = await run_latency(tmp, events=events, duration=duration, interval=interval, on_progress=step)
    latencies, after = result.latencies, result.after_poll
    wait = f"poll every {interval:g} s ±25 %: the wait for the next poll alone averages ≈ {interval / 2:g} s"
    report.add("latency", "poll interval", interval, "s", "±25 % jitter per wait", key="latency.interval_s")
    report.add("latency", "event → Discord p50", percentile(latencies, 50), "s", wait, key="latency.p50_s")
    report.add(
        "latency",
        "event → Discord p99",
        percentile(latencies, 99),
        "s",
        f"bounded by one jittered wait ({interval * 1.25:g} s) plus the work below",
        key="latency.p99_s",
    )
    report.add(
        "latency",
        "seeing poll → Discord p50",
        percentile(after, 50) * 1000,
        "ms",
        "page fetch, store, outbox, pacer, Discord POST",
        key="latency.after_poll_p50_ms",
    )
    report.add(
        "latency",
        "seeing poll → Discord p99",
        percentile(after, 99) * 1000,
        "ms",
        key="latency.after_poll_p99_ms",
    )
    report.add("latency", "entries measured", len(latencies), "events", f"of {events}", key="latency.events")
    report.add("latency", "polls during the run", result.polls, "polls", key="latency.polls")
    report.add("latency", "lost", result.lost, "events", "expected 0", key="latency.lost")
    report.add("latency", "duplicated", result.duplicated, "events", "expected 0", key="latency.duplicated")
    if result.lost or result.duplicated or result.unexpected or result.violations:
        report.problem(
            f"latency run: {result.lost} lost, {result.duplicated} duplicated, {result.unexpected} "
            f"posted that were never added, {result.violations} stand-in violations"
        )
    return result
