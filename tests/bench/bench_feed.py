"""Feed drain rate per channel under a burst: packed messages against one message per event.

Discord allows 5 messages per 5 s per channel, so 2,000 events take minutes at the real pace. The
stand-in's bucket and the worker's pacer are both run with the window divided by `scale` (the
pacer's safety margin too), and the result is reported two ways: what was measured at the scaled
pace, and what that means at Discord's real pace. The latter is *not* measured × scale: if rendering,
SQLite or HTTP were the bottleneck instead of the bucket, scaling would overstate it. So the run
reports events per message (packing, independent of pace) and messages/s against the scaled ceiling
(how close the worker gets to the bucket), and normalises as events/message × Discord's 1 msg/s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import discord

from bot.feed.outbox import OutboxWorker
from bot.feed.pacing import MAX_EMBED_CHARS, MAX_EMBEDS, SlidingWindowPacer
from bot.feed.render import embed_size
from bot.feed.sender import DiscordFeedSender
from bot.sandbox.discord import DiscordStandIn
from bot.store import BindingIn
from tests.bench.support import GROUP_ID, Report, make_entries, sqlite_store
from tests.fixtures.discord_standin import FEED_CHANNEL_ID, GUILD_ID, logged_in_client, running_standin

# Discord's per-channel message bucket, and the pacer's default safety margin at that window.
DISCORD_LIMIT = 5
DISCORD_WINDOW = 5.0
DISCORD_MSG_PER_S = DISCORD_LIMIT / DISCORD_WINDOW
PACER_MARGIN = 0.1

# Entry ids appear in each embed's footer; markdown escaping may put a backslash before the "_".
GAUD = re.compile(r"gaud\\?_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def one_embed_per_message(_embed: discord.Embed) -> int:
    """Claims every embed fills a whole message, so the packer never puts two in one."""
    return MAX_EMBED_CHARS


@dataclass(frozen=True)
class DrainRun:
    label: str
    scale: float
    events: int
    messages: int
    elapsed: float
    expected: list[str]  # entry ids in the order they were ingested
    delivered: list[str]  # entry ids in the order the channel shows them
    rate_limited: int  # 429s the stand-in answered
    violations: int  # anything the stand-in says Discord would have refused

    @property
    def complete_in_order(self) -> bool:
        return self.delivered == self.expected

    @property
    def duplicates(self) -> int:
        return len(self.delivered) - len(set(self.delivered))

    @property
    def events_per_message(self) -> float:
        return self.events / self.messages if self.messages else 0.0

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.elapsed if self.elapsed else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed if self.elapsed else 0.0

    @property
    def scaled_ceiling(self) -> float:
        """Messages/s the scaled bucket allows (20 at scale 20)."""
        return DISCORD_MSG_PER_S * self.scale

    @property
    def normalised_events_per_second(self) -> float:
        """At Discord's real window the bucket is the bottleneck: 1 msg/s carrying events/message."""
        return self.events_per_message * DISCORD_MSG_PER_S


def delivered_ids(standin: DiscordStandIn) -> list[str]:
    ids = []
    for message in standin.messages(FEED_CHANNEL_ID):
        for embed in message.embeds:
            match = GAUD.search(embed.get("footer", {}).get("text", ""))
            ids.append(match.group(0).replace("\\", "") if match else "<no id in footer>")
    return ids


async def run_drain(tmp: Path, events: int, *, scale: float, one_per_event: bool) -> DrainRun:
    """Queue `events` entries for one channel, then time one `drain_once` that delivers them all."""
    window = DISCORD_WINDOW / scale
    label = "1 msg/event" if one_per_event else "packed"
    size: Callable[[discord.Embed], int] = one_embed_per_message if one_per_event else embed_size
    entries = make_entries(events)
    db = tmp / f"feed-{label.replace('/', '-').replace(' ', '-')}-{events}.db"
    async with (
        sqlite_store(db) as store,
        running_standin(rate_limit=(DISCORD_LIMIT, window)) as standin,
        logged_in_client(standin) as client,
    ):
        await store.add_binding(
            BindingIn(group_id=GROUP_ID, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
        )
        await store.ingest(GROUP_ID, entries)  # queued before timing: this measures delivery only
        worker = OutboxWorker(
            store,
            DiscordFeedSender(client),
            embed_size=size,
            pacer_factory=lambda: SlidingWindowPacer(DISCORD_LIMIT, window, margin=PACER_MARGIN / scale),
        )
        started = time.perf_counter()
        result = await worker.drain_once()
        elapsed = time.perf_counter() - started
        return DrainRun(
            label=label,
            scale=scale,
            events=result.entries,
            messages=result.messages,
            elapsed=elapsed,
            expected=[e.id for e in entries],
            delivered=delivered_ids(standin),
            rate_limited=standin.rate_limited_count,
            violations=len(standin.violations),
        )


def report_run(report: Report, run: DrainRun) -> None:
    name = f"{run.label} ({run.events:,} events)"
    key = "feed.one_per_event" if run.label == "1 msg/event" else "feed.packed"
    ceiling = run.scaled_ceiling
    report.add("feed", f"{name}: wall time", run.elapsed, "s", key=f"{key}.wall_s")
    report.add("feed", f"{name}: messages sent", run.messages, "msg", key=f"{key}.messages")
    report.add(
        "feed",
        f"{name}: events per message",
        run.events_per_message,
        "events/msg",
        "max 10",
        key=f"{key}.events_per_message",
    )
    report.add(
        "feed",
        f"{name}: measured message rate",
        run.messages_per_second,
        "msg/s",
        f"scaled ceiling {ceiling:g} msg/s; {run.messages_per_second / ceiling:.0%} of it",
        key=f"{key}.measured_msg_per_s",
    )
    report.add(
        "feed",
        f"{name}: measured event rate",
        run.events_per_second,
        "events/s",
        f"at the 1/{run.scale:g} window",
        key=f"{key}.measured_events_per_s",
    )
    report.add(
        "feed",
        f"{name}: normalised event rate",
        run.normalised_events_per_second,
        "events/s",
        f"at Discord's real {DISCORD_LIMIT} msg / {DISCORD_WINDOW:g} s per channel",
        key=f"{key}.events_per_s",
    )
    report.add(
        "feed", f"{name}: 429 responses", run.rate_limited, "", "expected 0", key=f"{key}.rate_limited"
    )
    report.add(
        "feed", f"{name}: lost", len(set(run.expected) - set(run.delivered)), "events", key=f"{key}.lost"
    )
    report.add("feed", f"{name}: duplicated", run.duplicates, "events", key=f"{key}.duplicated")
    if not run.complete_in_order or run.duplicates or run.violations:
        report.problem(
            f"{name}: delivery was not clean: {len(run.delivered)} delivered of {len(run.expected)}, "
            f"{run.duplicates} duplicates, {run.violations} stand-in violations"
        )


async def run(report: Report, tmp: Path, *, events: int, single_events: int, scale: float) -> None:
    report.note(
        f"Discord's bucket is {DISCORD_LIMIT} messages per {DISCORD_WINDOW:g} s per channel; "
        f"stand-in and pacer run at 1/{scale:g} of that window ({DISCORD_LIMIT} per "
        f"{DISCORD_WINDOW / scale:g} s, pacer margin {PACER_MARGIN / scale:g} s). "
        f"Normalised rate = events/message × {DISCORD_MSG_PER_S:g} msg/s."
    )
    packed = await run_drain(tmp, events, scale=scale, one_per_event=False)
    report_run(report, packed)
    report.note(
        f"1 msg/event: the same OutboxWorker with embed_size=lambda e: {MAX_EMBED_CHARS} (every embed "
        f"claims a whole message), over {single_events:,} events to keep the run short."
    )
    single = await run_drain(tmp, single_events, scale=scale, one_per_event=True)
    report_run(report, single)
    report.add(
        "feed",
        "Discord's ceiling per channel, packed",
        DISCORD_MSG_PER_S * MAX_EMBEDS,
        "events/s",
        f"{DISCORD_LIMIT} msg / {DISCORD_WINDOW:g} s = {DISCORD_MSG_PER_S:g} msg/s × {MAX_EMBEDS} embeds",
        key="feed.ceiling.packed_events_per_s",
    )
    report.add(
        "feed",
        "Discord's ceiling per channel, 1 msg/event",
        DISCORD_MSG_PER_S,
        "events/s",
        f"packed reaches {packed.normalised_events_per_second:.2f}, 1 msg/event "
        f"{single.normalised_events_per_second:.2f}",
        key="feed.ceiling.one_per_event_events_per_s",
    )
    if single.normalised_events_per_second:
        gain = packed.normalised_events_per_second / single.normalised_events_per_second
        report.add(
            "feed",
            "packing gain (normalised rates)",
            gain,
            "×",
            "packed ÷ 1 msg/event",
            key="feed.packing_gain",
        )
