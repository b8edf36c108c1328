"""Groups one VRChat account can serve at the default politeness: worked out, then measured.

Worked out. An account's budget is its limiter's sustained rate, VRChatConfig's default 1 request/s:
60 a minute. HEADROOM (half of it) is kept for what comes in bursts: commands, join-request cards
(profile and group lookups per new request), decisions, posts. The periodic work of one bound group
is its audit-log poll every feed.poll_interval_seconds (default 60 s, ±2 s jitter around it), one
request when idle (bench_poll measures it; this run measures it again), plus the card round's
join-request listing every CARD_POLL_SECONDS (60 s, ±20 %; bot.requests.loop), one request while
fewer than 100 requests are pending. So: groups = budget × (1 − HEADROOM) / requests a group costs
per minute.

Cards from the mirror (bot.requests.loop, where the audit-log mirror is live): the listing comes only
every feed.request_reconcile_seconds (1800 s) plus once per join request the mirror stores, and a quiet
group's log is polled at the quiet ceiling (180 s; bot.feed.backoff), a busy group's at the interval.
Worked out for a quiet group, a busy one (a join request every BUSY_REQUEST_EVERY) and a mix; the
adaptive-polling section (bench_quiet) measures the same with the real poller.

Measured. The real poller (AuditPoller over a real SQLite store) and the card round's listing run
for every group through the real AccountPool, GroupRouter and per-account limiters against the
validating simulator, with time scaled down by `scale`: intervals divided by it, rates multiplied by
it, so a scaled minute holds the same requests as a real one. Scenarios: one account at the worked-
out capacity, one account at twice that, and two accounts at twice that (the pool splits the groups).
For each: the busiest account's requests per minute against its budget, whether the polls kept their
interval, and whether any stretch of time held more requests than the limiter allows (a PROBLEM).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyotp

from bot.config import FeedConfig, VRChatConfig
from bot.feed.poller import AuditPoller, PollResult
from bot.requests.loop import CARD_POLL_SECONDS
from bot.sandbox.vrchat import VRChatSimulator
from bot.store import Store
from bot.vrchat import Politeness, VRChatClient
from bot.vrchat.pool import Account, AccountPool, RequestMeter
from bot.vrchat.router import GroupRouter
from tests.bench.support import Report, loopback_poll_settings, sqlite_store
from tests.fixtures.vrchat_accounts import account_of
from tests.fixtures.vrchat_sim import TEST_USER_AGENT

HEADROOM = 0.5  # share of each account's budget kept for commands and cards
DEFAULT_RATE: float = VRChatConfig.model_fields["requests_per_second"].default
DEFAULT_BURST: int = VRChatConfig.model_fields["burst"].default
DEFAULT_INTERVAL: float = FeedConfig.model_fields["poll_interval_seconds"].default
DEFAULT_CEILING: float = FeedConfig.model_fields["quiet_poll_ceiling_seconds"].default
DEFAULT_RECONCILE: float = FeedConfig.model_fields["request_reconcile_seconds"].default
BUSY_REQUEST_EVERY = 300.0  # seconds between a busy group's join requests, on average
MIRROR_BUSY_SHARE = 0.1  # the mix worked out: one group in ten busy (bench_quiet's world)
# The busiest account may exceed the budget left after the headroom by this much (the jitter of the
# intervals moves a few requests across the measured window's edges).
TOLERANCE = 0.05


@dataclass(frozen=True)
class Capacity:
    budget_per_minute: float
    per_group_per_minute: float
    feed_per_group_per_minute: float

    @property
    def groups(self) -> int:
        return int(self.budget_per_minute * (1 - HEADROOM) // self.per_group_per_minute)

    @property
    def groups_feed_only(self) -> int:
        return int(self.budget_per_minute * (1 - HEADROOM) // self.feed_per_group_per_minute)


def worked_out(requests_per_idle_poll: float = 1.0) -> Capacity:
    feed = 60 / DEFAULT_INTERVAL * requests_per_idle_poll
    return Capacity(DEFAULT_RATE * 60, feed + 60 / CARD_POLL_SECONDS, feed)


def worked_out_mirror(*, busy: bool) -> Capacity:
    """Cards from the mirror: a listing per reconcile and one per join request (a busy group's); the
    log polled at the quiet ceiling (a quiet group) or at the interval (a busy one)."""
    feed = 60 / (DEFAULT_INTERVAL if busy else DEFAULT_CEILING)
    listings = 60 / DEFAULT_RECONCILE + (60 / BUSY_REQUEST_EVERY if busy else 0.0)
    return Capacity(DEFAULT_RATE * 60, feed + listings, feed)


def mirror_mix_groups(busy_share: float = MIRROR_BUSY_SHARE) -> int:
    quiet, busy = worked_out_mirror(busy=False), worked_out_mirror(busy=True)
    cost = (1 - busy_share) * quiet.per_group_per_minute + busy_share * busy.per_group_per_minute
    return int(quiet.budget_per_minute * (1 - HEADROOM) // cost)


@dataclass
class Scenario:
    label: str
    accounts: int
    groups: int
    minutes: float
    per_account: dict[str, int]  # requests in the measured window
    budget_per_minute: float
    polls: int
    polls_due: float
    audit_requests: int
    card_rounds: int
    worst_excess: float  # most requests in any stretch beyond burst + rate × its length
    failures: int

    @property
    def busiest_share(self) -> float:
        return max(self.per_account.values()) / self.minutes / self.budget_per_minute

    @property
    def on_schedule(self) -> float:
        return self.polls / self.polls_due

    @property
    def requests_per_idle_poll(self) -> float:
        return self.audit_requests / max(self.polls, 1)

    @property
    def per_group_per_minute(self) -> float:
        return sum(self.per_account.values()) / self.groups / self.minutes


async def run_scenario(
    tmp: Path, label: str, *, accounts: int, groups: int, scale: float, minutes: float
) -> Scenario:
    sim = VRChatSimulator(validate=True)
    await sim.start(host="127.0.0.1", port=0)
    rng = random.Random(len(label))
    try:
        state = sim.state
        owner = state.add_user("Bench Owner")
        bots = [
            state.add_user(
                f"Bench Bot {i}",
                username=f"bench-bot-{i}",
                password=f"pw {i}",
                totp_secret=pyotp.random_base32(),
            )
            for i in range(accounts)
        ]
        group_ids = []
        for i in range(groups):
            group = state.add_group(
                f"Bench {i}", short_code="BENCH", discriminator=f"{i:04d}", owner_id=owner.id
            )
            role = state.add_role(group.id, "Bots", moderator=True)
            for bot in bots:
                state.add_member(group.id, bot.id, [role.id])
            group_ids.append(group.id)
        politeness = Politeness(requests_per_second=DEFAULT_RATE * scale, burst=DEFAULT_BURST, timeout=10)
        members = []
        for i, bot in enumerate(bots):
            meter = RequestMeter(politeness.requests_per_second, window=60 / scale)
            session = meter.session(politeness.timeout)
            client = VRChatClient(
                base_url=sim.base_url,
                user_agent=TEST_USER_AGENT,
                session_path=tmp / f"{label}-{i}-session.json",
                username=bot.username,
                password=bot.password,
                totp_secret=bot.totp_secret,
                politeness=politeness,
                http_session=session,
            )
            members.append(Account(bot.username or "", client, meter, primary=i == 0, http_session=session))
        pool = AccountPool(members)
        await pool.open()
        try:
            await pool.login()
            await pool.assign(group_ids)
            router = GroupRouter(pool)
            async with sqlite_store(tmp / f"{label}.db") as store:
                result = await _measure(sim, router, store, group_ids, scale=scale, minutes=minutes, rng=rng)
        finally:
            await pool.close()
        window_start, window_end, polls, rounds, failures = result
        per_account: Counter[str] = Counter()
        sent: dict[str, list[float]] = {bot.id: [] for bot in bots}
        audit = 0
        for request in sim.requests:
            who = account_of(sim, request)
            if who in sent:
                sent[who].append(request.at)
            if who and window_start <= request.at < window_end:
                per_account[who] += 1
                audit += request.path.endswith("/auditLogs")
        worst = max(_excess(sorted(times), politeness) for times in sent.values())
        if sim.violations:
            raise RuntimeError(
                f"the simulator saw {len(sim.violations)} spec violations: {sim.violations[:3]}"
            )
    finally:
        await sim.close()
    return Scenario(
        label=label,
        accounts=accounts,
        groups=groups,
        minutes=minutes,
        per_account={bot.id: per_account[bot.id] for bot in bots},
        budget_per_minute=DEFAULT_RATE * 60,
        polls=polls,
        polls_due=groups * minutes * 60 / DEFAULT_INTERVAL,
        audit_requests=audit,
        card_rounds=rounds,
        worst_excess=worst,
        failures=failures,
    )


async def _measure(
    sim: VRChatSimulator,
    router: GroupRouter,
    store: Store,
    group_ids: list[str],
    *,
    scale: float,
    minutes: float,
    rng: random.Random,
) -> tuple[float, float, int, int, int]:
    """Polls and card rounds for every group; counts what completes inside the measured window, which
    starts once every group has had its first poll and card round."""
    interval, card_interval = DEFAULT_INTERVAL / scale, CARD_POLL_SECONDS / scale
    start = time.monotonic()
    window_start = start + max(interval, card_interval) * 1.25
    window_end = window_start + minutes * 60 / scale
    stop = asyncio.Event()
    done: Counter[str] = Counter()

    def inside() -> bool:
        return window_start <= time.monotonic() < window_end

    def after_poll(result: PollResult | None) -> None:
        done["failures" if result is None else "polls" if inside() else "warmup"] += 1

    async def card_rounds(group_id: str) -> None:
        delay = rng.uniform(0, card_interval)  # like the pollers' first polls: spread over one interval
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
                return
            except TimeoutError:
                pass
            try:
                await router.list_join_requests(group_id, n=100)  # what one card round asks per group
                done["rounds" if inside() else "warmup"] += 1
            except Exception:
                done["failures"] += 1
            delay = card_interval * rng.uniform(0.8, 1.2)

    settings = loopback_poll_settings(interval)
    pollers = [AuditPoller(router, store, g, settings, rng=random.Random(rng.random())) for g in group_ids]
    tasks = [asyncio.create_task(p.run(stop, on_result=after_poll)) for p in pollers]
    tasks += [asyncio.create_task(card_rounds(g)) for g in group_ids]
    await asyncio.sleep(window_end - time.monotonic())
    stop.set()
    await asyncio.gather(*tasks)
    return window_start, window_end, done["polls"], done["rounds"], done["failures"]


def _excess(sent: list[float], politeness: Politeness) -> float:
    """How far the busiest stretch went beyond burst + rate × its length (≤ 1 is timing jitter)."""
    return max(
        (k - i + 1) - politeness.burst - politeness.requests_per_second * (sent[k] - sent[i])
        for i in range(len(sent))
        for k in range(i, len(sent))
    )


async def run(
    report: Report, tmp: Path, *, scale: float = 30.0, minutes: float = 5.0, groups: int | None = None
) -> list[Scenario]:
    plan = worked_out()
    capacity = groups or plan.groups
    report.note(
        f"Accounts: the budget is the default rate ({DEFAULT_RATE:g} request/s = "
        f"{plan.budget_per_minute:g} a minute) with {HEADROOM:.0%} kept for commands and join-request cards; "
        f"a bound group costs an audit-log poll every {DEFAULT_INTERVAL:g} s (1 request when idle) and a "
        f"join-request listing every {CARD_POLL_SECONDS:g} s. Measured runs are scaled {scale:g}x "
        f"(intervals / {scale:g}, rate x {scale:g}), {minutes:g} scaled minutes each, after one interval "
        "of warm-up; 'budget holds' = the busiest account stays within the budget left after the headroom "
        f"(+{TOLERANCE:.0%} of it for the jitter at the window's edges)."
    )
    report.add(
        "accounts",
        "an account's budget at the defaults",
        plan.budget_per_minute,
        "requests/min",
        key="accounts.budget_per_minute",
    )
    report.add(
        "accounts",
        "periodic cost of one bound group (poll + card round)",
        plan.per_group_per_minute,
        "requests/min",
        key="accounts.per_group_per_minute",
    )
    report.add(
        "accounts",
        f"groups one account can serve ({HEADROOM:.0%} kept for commands and cards)",
        plan.groups,
        "groups",
        f"feed polls alone: {plan.groups_feed_only}",
        key="accounts.capacity",
    )
    for kind, busy in (("quiet", False), ("busy", True)):
        mirror = worked_out_mirror(busy=busy)
        per_request = f" + one per join request (every {BUSY_REQUEST_EVERY:g} s)" if busy else ""
        report.add(
            "accounts",
            f"cards from the mirror: periodic cost of a {kind} group",
            mirror.per_group_per_minute,
            "requests/min",
            f"poll every {DEFAULT_INTERVAL if busy else DEFAULT_CEILING:g} s + a listing every "
            f"{DEFAULT_RECONCILE:g} s{per_request}",
            key=f"accounts.mirror.{kind}_per_group_per_minute",
        )
        report.add(
            "accounts",
            f"cards from the mirror: groups one account can serve, all {kind}",
            mirror.groups,
            "groups",
            f"goal >= 60; today {plan.groups}",
            key=f"accounts.mirror.capacity_{kind}",
        )
    report.add(
        "accounts",
        f"cards from the mirror: groups one account can serve, {MIRROR_BUSY_SHARE:.0%} busy",
        mirror_mix_groups(),
        "groups",
        f"goal >= 60; today {plan.groups}",
        key="accounts.mirror.capacity_mix",
    )
    scenarios = []
    for label, accounts, count, name in (
        ("one account at capacity", 1, capacity, "one_at_capacity"),
        ("one account at twice capacity", 1, 2 * capacity, "one_at_twice"),
        ("two accounts at twice capacity", 2, 2 * capacity, "two_at_twice"),
    ):
        scenario = await run_scenario(
            tmp, label.replace(" ", "-"), accounts=accounts, groups=count, scale=scale, minutes=minutes
        )
        scenarios.append(scenario)
        holds = scenario.busiest_share <= (1 - HEADROOM) * (1 + TOLERANCE)
        key = f"accounts.{name}"
        report.add(
            "accounts",
            f"{label} ({count} groups): busiest account's share of its budget",
            scenario.busiest_share * 100,
            "%",
            f"budget {'holds' if holds else 'does NOT hold'}; target at most {(1 - HEADROOM):.0%}",
            key=f"{key}.busiest_share_pct",
        )
        report.add(
            "accounts",
            f"{label}: polls made / due",
            scenario.on_schedule * 100,
            "%",
            "about 100 when the limiter keeps up; the window's edges and each poll's own time cost a little",
            key=f"{key}.on_schedule_pct",
        )
        report.add(
            "accounts",
            f"{label}: measured cost per group",
            scenario.per_group_per_minute,
            "requests/min",
            f"{scenario.requests_per_idle_poll:.2f} requests per idle poll",
            key=f"{key}.per_group_per_minute",
        )
        if scenario.worst_excess > 1:
            report.problem(
                f"{label}: an account sent {scenario.worst_excess:.1f} requests more than its limiter allows"
            )
        if scenario.failures:
            report.problem(f"{label}: {scenario.failures} polls or card rounds failed")
    measured = scenarios[0]
    report.add(
        "accounts",
        "groups one account can serve, from the measured cost",
        int(plan.budget_per_minute * (1 - HEADROOM) // measured.per_group_per_minute),
        "groups",
        key="accounts.capacity_measured",
    )
    return scenarios
