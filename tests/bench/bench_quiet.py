"""Adaptive polling: what one account's groups cost when most of them are quiet, and what it costs in
feed latency. Three runs of the same simulated world, on a virtual clock:

- today: every group's audit log polled every feed.poll_interval_seconds (60 s ±2 s), its join
  requests listed at every card round (60 s ±20 %), a pipeline notice listing them at once;
- adaptive: the same with feed.quiet_poll_ceiling_seconds (180 s): a quiet group's log polled less
  often, up to the ceiling, and (the pipeline being connected) its request listing likewise;
- adaptive, pipeline down: the log adaptive, the listing at every round (no notices come);
- cards from the mirror (pipeline connected, and down): the log adaptive; a group's join requests
  listed only every feed.request_reconcile_seconds (1800 s ±20 %), and once more for each request
  whose `group.request.create` entry the mirror has stored (the card loop looks every ~10 s), as
  bot.requests.loop does where the mirror is live; with the pipeline, the notice lists it at once
  and the entry, finding its card up, lists nothing (bot.requests.announced).

The world: `groups` groups on one account, `busy` of them busy (an audit entry every 30 s on average,
a join request every 5 minutes), the others quiet (a single entry, at a random moment after ten
minutes of silence). The real AuditPoller runs per group (its `run` loop, with the real simulator,
which validates every request, and a real SQLite store) on tests/fixtures/clocks.VirtualClock, so
`minutes` of simulated time take only as long as the requests themselves. The card loop's rounds
are driven here with the cog's own pacing (bot.feed.backoff.QuietSchedule, as `_listing_due` uses it).

Figures: requests per group per minute, busy and quiet (measured after a warm-up of five minutes);
groups one account serves with half its 60 requests a minute kept for commands (all quiet, and the
mix of this world); feed latency (entry made → stored and queued for Discord, virtual seconds) for
busy groups' entries, p50/p99, beside poll interval + 2 s; the first entry after a quiet spell,
p50/max, beside the ceiling; join request made → its listing (the card's round), p50/max.
Delivery to Discord adds what the latency section measures.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pyotp

from bot.config import FeedConfig
from bot.feed.backoff import JITTER_SECONDS, QuietSchedule
from bot.feed.poller import AuditPoller, PollResult, PollSettings
from bot.requests.loop import CARD_POLL_SECONDS, FEED_CHECK_SECONDS
from bot.sandbox.vrchat import SimState, VRChatSimulator
from bot.store import BindingIn, Store
from bot.vrchat import Politeness, VRChatClient, VRChatError
from tests.bench.bench_accounts import BUSY_REQUEST_EVERY, DEFAULT_RATE, HEADROOM
from tests.bench.support import Report, percentile, sqlite_store
from tests.fixtures.clocks import VirtualClock
from tests.fixtures.vrchat_sim import TEST_USER_AGENT

INTERVAL: float = FeedConfig.model_fields["poll_interval_seconds"].default
CEILING: float = FeedConfig.model_fields["quiet_poll_ceiling_seconds"].default
RECONCILE: float = FeedConfig.model_fields["request_reconcile_seconds"].default
WARMUP = 5 * 60.0  # or a quarter of a shorter run (the smoke test's)
BUSY_ENTRY_EVERY = 30.0  # seconds, on average (Poisson)
QUIET_BEFORE_ENTRY = 10 * 60.0
BUDGET = DEFAULT_RATE * 60 * (1 - HEADROOM)  # requests a minute left for the periodic work


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    ceiling: float
    pipeline: bool  # notices come, and the request listing of quiet groups is paced
    reconcile: float | None = None  # cards from the mirror: the listing only this often, and per entry


MODES = (
    Mode("today", "today (every group at the interval)", INTERVAL, pipeline=True),
    Mode("adaptive", "adaptive, pipeline connected", CEILING, pipeline=True),
    Mode("adaptive_no_pipeline", "adaptive, pipeline down", CEILING, pipeline=False),
    Mode("mirror", "cards from the mirror, pipeline connected", CEILING, True, RECONCILE),
    Mode("mirror_no_pipeline", "cards from the mirror, pipeline down", CEILING, False, RECONCILE),
)


@dataclass
class Outcome:
    mode: Mode
    minutes: float
    busy: set[str]
    quiet: set[str]
    requests: Counter[str] = field(default_factory=Counter)  # per group, after the warm-up
    polls: Counter[str] = field(default_factory=Counter)  # of them, audit-log requests
    busy_latency: list[float] = field(default_factory=list)
    quiet_first: list[float] = field(default_factory=list)
    request_latency: list[float] = field(default_factory=list)  # join request made -> listed
    miscounts: int = 0
    failures: int = 0
    sim_requests: int = 0  # what the simulator saw, for the cross-check
    counted: int = 0

    @property
    def warmup(self) -> float:
        return min(WARMUP, self.minutes * 15)

    def per_minute(self, groups: set[str], counts: Counter[str] | None = None) -> float:
        measured = (self.minutes * 60 - self.warmup) / 60
        counted = self.requests if counts is None else counts
        return sum(counted[g] for g in groups) / max(len(groups), 1) / measured

    def capacity(self, busy_share: float, counts: Counter[str] | None = None) -> int:
        cost = busy_share * self.per_minute(self.busy, counts)
        cost += (1 - busy_share) * self.per_minute(self.quiet, counts)
        return int(BUDGET // cost)


@dataclass(order=True)
class _Event:
    at: float
    kind: str = field(compare=False)  # "entry", "request", "round", "mirror" (a request entry seen)
    group_id: str = field(compare=False, default="")


def plan_world(groups: list[str], busy: set[str], minutes: float, rng: random.Random) -> list[_Event]:
    end, events = minutes * 60, []
    for group_id in groups:
        if group_id in busy:
            t = rng.expovariate(1 / BUSY_ENTRY_EVERY)
            while t < end:
                events.append(_Event(t, "entry", group_id))
                t += rng.expovariate(1 / BUSY_ENTRY_EVERY)
            t = rng.expovariate(1 / BUSY_REQUEST_EVERY)
            while t < end:
                events.append(_Event(t, "request", group_id))
                t += rng.expovariate(1 / BUSY_REQUEST_EVERY)
        else:  # one entry after a quiet spell, early enough that the poller can see it within the run
            events.append(
                _Event(
                    rng.uniform(QUIET_BEFORE_ENTRY, max(QUIET_BEFORE_ENTRY, end - CEILING - 60)),
                    "entry",
                    group_id,
                )
            )
    return events


class World:
    """One run: the simulator's groups, a poller per group, the card rounds, the planned events."""

    def __init__(
        self,
        sim: VRChatSimulator,
        client: VRChatClient,
        store: Store,
        outcome: Outcome,
        clock: VirtualClock,
        rng: random.Random,
        now: Callable[[], datetime],
    ) -> None:
        self.sim, self.client, self.store, self.outcome = sim, client, store, outcome
        self.clock, self.rng, self.now = clock, rng, now
        self.mode = outcome.mode
        self.end = outcome.minutes * 60
        self.groups = sorted(outcome.busy | outcome.quiet)
        self.unseen: dict[str, list[float]] = {g: [] for g in self.groups}  # made, not yet stored
        self.quiet_spell = set(outcome.quiet)  # quiet groups whose first entry is still to be seen
        self.pending_requests: dict[str, list[float]] = {}  # made since the group's last listing
        self.unmirrored: Counter[str] = Counter()  # join requests whose entry the mirror has not stored
        self.reconcile_at: dict[str, float] = {}  # cards from the mirror: each group's next listing
        self.queue: list[_Event] = []
        self.schedule = QuietSchedule(CARD_POLL_SECONDS, self.mode.ceiling, rng=random.Random(rng.random()))
        self.pollers: dict[str, AuditPoller] = {}
        self.requesters = 0

    async def run(self, events: list[_Event]) -> None:
        for n, group_id in enumerate(self.groups):
            await self.store.add_binding(BindingIn(group_id=group_id, guild_id=1, feed_channel_id=1000 + n))
        settings = PollSettings(interval=INTERVAL, quiet_ceiling=self.mode.ceiling)
        stop = asyncio.Event()
        tasks = []
        for group_id in self.groups:
            poller = AuditPoller(
                self.client,
                self.store,
                group_id,
                settings,
                rng=random.Random(self.rng.random()),
                now=self.now,
                clock=self.clock,
            )
            self.pollers[group_id] = poller
            on_result = partial(self.after_poll, group_id)
            tasks.append(asyncio.create_task(poller.run(stop, on_result=on_result)))
        queue = self.queue = [*events, _Event(self.rng.uniform(0, CARD_POLL_SECONDS), "round")]
        heapq.heapify(queue)
        try:
            while self.clock.now < self.end:
                await self.clock.waiting(len(self.groups))  # every poller between polls
                due = self.clock.pending()[0]
                if queue and queue[0].at <= due:
                    event = heapq.heappop(queue)
                    self.clock.advance(event.at)
                    follow = await self.happen(event)
                    if follow is not None:
                        heapq.heappush(queue, follow)
                else:
                    self.clock.advance(due)
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    async def happen(self, event: _Event) -> _Event | None:
        state, group_id = self.sim.state, event.group_id
        if event.kind == "entry":
            bot_id = self.client.user_id or ""
            state.add_audit_entry(group_id, "group.update", bot_id, group_id, "a setting changed")
            self.unseen[group_id].append(self.clock.now)
        elif event.kind == "request":
            self.requesters += 1
            user = state.add_user(f"Requester {self.requesters}")
            state.request_to_join(group_id, user.id)  # the request and its audit entry
            self.unseen[group_id].append(self.clock.now)
            self.pending_requests.setdefault(group_id, []).append(self.clock.now)
            self.unmirrored[group_id] += 1
            if self.mode.pipeline:  # the notice: the card loop lists it now, the feed polls soon
                self.schedule.reset(group_id)
                await self.listing(group_id)
                self.pollers[group_id].wake()
        elif event.kind == "mirror":  # the card loop found the request's entry in the store
            if self.pending_requests.get(group_id):  # a request whose card is up needs no round
                await self.listing(group_id)
        else:  # a full card round, as the cog's _loop runs it
            upcoming = CARD_POLL_SECONDS * self.rng.uniform(0.8, 1.2)
            now = self.clock.now
            for g in self.groups:
                if self.listing_due(g, now, upcoming):
                    await self.listing(g)
            return _Event(now + upcoming, "round")
        return None

    def listing_due(self, group_id: str, now: float, upcoming: float) -> bool:
        """As bot.requests.loop.CardRounds._listing_due decides (every mirror here is live)."""
        if self.mode.reconcile is not None:
            if self.reconcile_at.get(group_id, now) > now:
                return False
            self.reconcile_at[group_id] = now + self.mode.reconcile * self.rng.uniform(0.8, 1.2)
            return True
        return not self.mode.pipeline or self.schedule.due(group_id, now, upcoming)

    async def listing(self, group_id: str) -> None:
        try:
            await self.client.list_join_requests(group_id, n=100)  # one card round's look at a group
        except VRChatError:
            self.outcome.failures += 1
            return
        self.count(group_id, 1)
        made = self.pending_requests.pop(group_id, [])
        self.outcome.request_latency += [self.clock.now - t for t in made if t >= self.outcome.warmup]
        self.schedule.polled(group_id, self.clock.now, new=bool(made))

    def after_poll(self, group_id: str, result: PollResult | None) -> None:
        outcome = self.outcome
        if result is None:
            outcome.failures += 1
            return
        self.count(group_id, result.requests, audit=True)
        if self.mode.reconcile is not None and result.new and self.unmirrored.pop(group_id, 0):
            # Stored: the card loop's next look at the store (every ~10 s) runs the group's round.
            at = self.clock.now + self.rng.uniform(0, FEED_CHECK_SECONDS)
            heapq.heappush(self.queue, _Event(at, "mirror", group_id))
        unseen = self.unseen[group_id]
        if result.new != len(unseen):  # every entry made before the poll, and nothing else
            outcome.miscounts += 1
        for made in unseen[: result.new]:
            latency = self.clock.now - made
            if group_id in self.quiet_spell:
                outcome.quiet_first.append(latency)
                self.quiet_spell.discard(group_id)
            elif group_id in outcome.busy and made >= outcome.warmup:
                outcome.busy_latency.append(latency)
        del unseen[: result.new]

    def count(self, group_id: str, requests: int, *, audit: bool = False) -> None:
        self.outcome.counted += requests
        if self.clock.now >= self.outcome.warmup:
            self.outcome.requests[group_id] += requests
            if audit:
                self.outcome.polls[group_id] += requests


async def run_world(
    tmp: Path, mode: Mode, *, groups: int, busy: int, minutes: float, seed: int = 17
) -> Outcome:
    rng = random.Random(seed)  # the same world for every mode
    clock = VirtualClock()
    t0 = datetime.now(UTC)

    def now() -> datetime:
        return t0 + timedelta(seconds=clock.now)

    sim = VRChatSimulator(validate=True, state=SimState(clock=now))
    await sim.start(host="127.0.0.1", port=0)
    try:
        state = sim.state
        bot = state.add_user(
            "Quiet Bot", username="quiet-bot", password="pw quiet", totp_secret=pyotp.random_base32()
        )
        owner = state.add_user("Quiet Owner")
        group_ids = []
        for i in range(groups):
            group = state.add_group(
                f"Quiet {i}", short_code="QUIET", discriminator=f"{i:04d}", owner_id=owner.id
            )
            role = state.add_role(group.id, "Bots", moderator=True)
            state.add_member(group.id, bot.id, [role.id])
            group_ids.append(group.id)
        busy_ids = set(group_ids[:busy])
        outcome = Outcome(mode, minutes, busy_ids, set(group_ids) - busy_ids)
        events = plan_world(group_ids, busy_ids, minutes, rng)
        client = VRChatClient(
            base_url=sim.base_url,
            user_agent=TEST_USER_AGENT,
            session_path=tmp / f"quiet-{mode.key}-session.json",
            username=bot.username,
            password=bot.password,
            totp_secret=bot.totp_secret,
            # The budget is counted, not enforced: a real limiter would turn virtual minutes into real ones.
            politeness=Politeness(requests_per_second=1000, burst=100, timeout=10),
        )
        async with client, sqlite_store(tmp / f"quiet-{mode.key}.db") as store:
            await client.login()
            before = len(sim.requests)
            await World(sim, client, store, outcome, clock, rng, now).run(events)
            outcome.sim_requests = len(sim.requests) - before
        if sim.violations:
            raise RuntimeError(
                f"the simulator saw {len(sim.violations)} spec violations: {sim.violations[:3]}"
            )
        return outcome
    finally:
        await sim.close()


async def run(
    report: Report, tmp: Path, *, groups: int = 60, busy: int = 6, minutes: float = 30.0
) -> list[Outcome]:
    share = busy / groups
    report.note(
        f"Adaptive polling: {groups} groups on one account, {busy} busy (an audit entry every "
        f"{BUSY_ENTRY_EVERY:g} s and a join request every {BUSY_REQUEST_EVERY / 60:g} min on average), the "
        f"others quiet (one entry, after at least {QUIET_BEFORE_ENTRY / 60:g} quiet minutes); {minutes:g} "
        f"simulated minutes per mode on a virtual clock, the real poller against the validating simulator; "
        f"requests counted after a {WARMUP / 60:g}-minute warm-up. Capacity = {BUDGET:g} requests/min (half "
        "the default budget) / the cost of a group; 'mix' = this world's share of busy groups. Latency: "
        "entry made -> stored and queued for Discord (delivery adds what the latency section measures)."
    )
    outcomes = []
    for mode in MODES:
        outcome = await run_world(tmp, mode, groups=groups, busy=busy, minutes=minutes)
        outcomes.append(outcome)
        key, label = f"quiet.{mode.key}", mode.label
        if outcome.miscounts or outcome.failures:
            report.problem(
                f"{label}: {outcome.miscounts} polls stored other than the entries made, "
                f"{outcome.failures} polls or listings failed"
            )
        if outcome.counted != outcome.sim_requests:
            report.problem(
                f"{label}: counted {outcome.counted} requests, the simulator saw {outcome.sim_requests}"
            )
        for name, value, unit, beside, suffix in _rows(outcome, share):
            report.add("quiet", f"{label}: {name}", value, unit, beside, key=f"{key}.{suffix}")
    return outcomes


def _rows(outcome: Outcome, share: float) -> list[tuple[str, float, str, str, str]]:
    """One mode's figures: (name, value, unit, beside it, key suffix)."""
    busy_lat, first, asked = outcome.busy_latency, outcome.quiet_first, outcome.request_latency
    goal, per_min = "goal >= 60; today 15", "requests/min"
    alone = outcome.capacity(0.0, outcome.polls)
    longest = max(outcome.mode.ceiling, INTERVAL + JITTER_SECONDS)
    return [
        ("requests per busy group", outcome.per_minute(outcome.busy), per_min,
         "audit-log polls + join-request listings", "busy_per_min"),
        ("requests per quiet group", outcome.per_minute(outcome.quiet), per_min,
         "today: 2 (a poll and a listing a minute)", "quiet_per_min"),
        ("groups one account serves, all quiet", outcome.capacity(0.0), "groups", goal, "capacity_quiet"),
        ("audit-log polls per quiet group", outcome.per_minute(outcome.quiet, outcome.polls), per_min,
         f"alone they would let one account serve {alone} quiet groups", "quiet_polls_per_min"),
        (f"groups one account serves, mix ({share:.0%} busy)", outcome.capacity(share), "groups", goal,
         "capacity_mix"),
        ("busy group feed latency p50", _or_zero(percentile(busy_lat, 50)), "s", f"{len(busy_lat)} entries",
         "busy_p50_s"),
        ("busy group feed latency p99", _or_zero(percentile(busy_lat, 99)), "s",
         f"target <= poll interval + 2 s = {INTERVAL + 2:g} s", "busy_p99_s"),
        ("first entry after a quiet spell, p50", _or_zero(percentile(first, 50)), "s",
         f"{len(first)} groups" if first else "none in so short a run (0 stands for nothing)",
         "first_after_quiet_p50_s"),
        ("first entry after a quiet spell, max", max(first, default=0.0), "s",
         f"at most the longest wait: {longest:g} s", "first_after_quiet_max_s"),
        ("join request -> listed for its card, p50", _or_zero(percentile(asked, 50)), "s",
         f"{len(asked)} requests in busy groups", "request_listed_p50_s"),
        ("join request -> listed for its card, max", max(asked, default=0.0), "s",
         _REQUEST_WAIT[outcome.mode.key], "request_listed_max_s"),
    ]  # fmt: skip


_REQUEST_WAIT = {  # what bounds the max, per mode
    "today": "the pipeline's notice lists it at once",
    "adaptive": "the pipeline's notice lists it at once",
    "adaptive_no_pipeline": f"the next card round: at most {CARD_POLL_SECONDS * 1.2:g} s",
    "mirror": "the pipeline's notice lists it at once",
    "mirror_no_pipeline": (
        f"the group's next audit poll (a quiet group's: up to {CEILING:g} s) + {FEED_CHECK_SECONDS * 1.1:g} s"
    ),
}


def _or_zero(value: float) -> float:
    """A percentile of nothing (a run too short to have any) as 0: the table cannot show NaN."""
    return 0.0 if math.isnan(value) else value
