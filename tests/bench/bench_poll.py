"""VRChat requests per poll: the poller's walk against a startDate window, on the same log.

The poller pages the log newest first (offset paging) until it meets an entry it already stored
and has read past the overlap window. The alternative asks VRChat only for entries since
`cursor − overlap` (startDate) and follows hasNext. Both are run against the same simulator state
at each step: the window walk first (it reads, never stores), then the poller (which stores and
moves the cursor), and each is counted by the requests the simulator recorded.

Both strategies must read every entry inside the overlap window (newest stored entry − 5 min), so a
previous burst still inside it adds to the cost of the next poll. To show each burst's own cost, a
lone entry an hour later is stored (unmeasured) before each burst, which leaves only that entry in
the window. The last row is an idle poll right after the biggest burst, when the window (anchored
on the newest entry, not on the wall clock) is full of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.feed.poller import PAGE_SIZE, AuditPoller, PollSettings
from bot.sandbox.vrchat import VRChatSimulator
from bot.store import BindingIn, Store
from bot.vrchat import Politeness, VRChatClient
from tests.bench.support import Report, sqlite_store
from tests.fixtures.vrchat_sim import SeededSim, seed_basic

AUDIT_PATH = r"/auditLogs$"
HISTORY = 200  # stored by the first poll, an hour apart: older than any overlap window
BURST_STEP = 0.5  # seconds between the entries of a burst (a moderator script, a raid)
FEED_CHANNEL = 900_000_000_000_000_001
GUILD = 800_000_000_000_000_001


@dataclass(frozen=True)
class WalkResult:
    requests: int
    new: int


@dataclass(frozen=True)
class PollRow:
    scenario: str
    added: int
    poller_requests: int
    poller_new: int
    window_requests: int
    window_new: int


async def window_walk(
    client: VRChatClient, store: Store, group_id: str, overlap: timedelta, *, max_pages: int = 50
) -> WalkResult:
    """The startDate strategy: every entry since cursor − overlap, following hasNext; stores nothing."""
    cursor = await store.get_cursor(group_id)
    if cursor is None or cursor.newest_created_at is None:
        raise RuntimeError("the window walk needs a cursor: run the first poll before it")
    start = cursor.newest_created_at - overlap
    seen: set[str] = set()  # offsets shift when entries arrive mid-walk; ids de-duplicate
    requests = offset = 0
    for _ in range(max_pages):
        page = await client.get_audit_logs(group_id, n=PAGE_SIZE, offset=offset, start_date=start)
        requests += 1
        seen.update(e.id for e in page.results)
        offset += len(page.results)
        if not page.has_next or not page.results:
            break
    known = await store.known_ids(group_id, seen)
    return WalkResult(requests=requests, new=len(seen - known))


def add_burst(seeded: SeededSim, count: int, start: datetime) -> datetime:
    """`count` entries from `start`, BURST_STEP apart; returns the newest timestamp."""
    moment = start
    for i in range(count):
        moment = start + timedelta(seconds=i * BURST_STEP)
        seeded.sim.state.add_audit_entry(
            seeded.group.id,
            "group.member.join",
            seeded.bot.id,
            seeded.member.id,
            f"burst {i}",
            created_at=moment,
        )
    return moment


async def run_polls(tmp: Path, bursts: Sequence[int] = (50, 250, 1000)) -> list[PollRow]:
    sim = VRChatSimulator(validate=True)  # also proves the startDate walk is a request VRChat accepts
    await sim.start(host="127.0.0.1", port=0)
    try:
        seeded = seed_basic(sim)
        group_id = seeded.group.id
        # A fixed past timeline: the poller's horizon follows the newest entry, not the wall clock.
        newest = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
        for i in range(HISTORY):
            newest += timedelta(hours=1)
            sim.state.add_audit_entry(
                group_id, "group.update", seeded.bot.id, group_id, f"h{i}", created_at=newest
            )
        client = VRChatClient(
            base_url=sim.base_url,
            user_agent="GroupBridge-bench/0.1 (bench@groupbridge.net)",
            session_path=tmp / "vrchat-session.json",
            username=seeded.username,
            password=seeded.password,
            totp_secret=seeded.totp_secret,
            politeness=Politeness(requests_per_second=1000, burst=100, base_backoff=0.01, timeout=10),
        )
        async with client, sqlite_store(tmp / "poll.db") as store:
            await client.login()
            await store.add_binding(
                BindingIn(group_id=group_id, guild_id=GUILD, feed_channel_id=FEED_CHANNEL)
            )
            settings = PollSettings(backfill="all")  # the whole history is known: no late-entry noise
            poller = AuditPoller(client, store, group_id, settings)
            await poller.poll_once()

            async def measure(scenario: str, added: int) -> PollRow:
                before = len(sim.requests_to("GET", AUDIT_PATH))
                walk = await window_walk(client, store, group_id, settings.overlap)
                middle = len(sim.requests_to("GET", AUDIT_PATH))
                result = await poller.poll_once()
                after = len(sim.requests_to("GET", AUDIT_PATH))
                return PollRow(scenario, added, after - middle, result.new, middle - before, walk.new)

            rows = [await measure("idle", 0)]
            for count in bursts:
                newest = add_burst(seeded, 1, newest + timedelta(hours=1))  # empties the overlap window
                await poller.poll_once()
                newest = add_burst(seeded, count, newest + timedelta(hours=1))
                rows.append(await measure(f"{count:,} new", count))
            rows.append(await measure(f"idle, right after the {bursts[-1]:,} burst", 0))
        if sim.violations:
            raise RuntimeError(
                f"the simulator saw {len(sim.violations)} spec violations: {sim.violations[:3]}"
            )
        return rows
    finally:
        await sim.close()


async def run(report: Report, tmp: Path, *, bursts: Sequence[int] = (50, 250, 1000)) -> list[PollRow]:
    report.note(
        f"Poll requests: {HISTORY} history entries an hour apart (all stored), "
        f"overlap {PollSettings().overlap.total_seconds():g} s, page size {PAGE_SIZE}, "
        f"bursts {BURST_STEP:g} s apart; "
        "'poller' = offset paging until a known entry past the overlap, 'startDate' = cursor − overlap "
        "following hasNext. Both found the same new entries in every row unless a PROBLEM line says so."
    )
    rows = await run_polls(tmp, bursts)
    for n, row in enumerate(rows):
        pages = -(-row.added // PAGE_SIZE)
        target = "target 1" if row.added == 0 else f"the new entries fill {pages} page{'s' * (pages > 1)}"
        key = f"poll.new_{row.added}" if row.added else "poll.idle" if n == 0 else "poll.idle_after_burst"
        report.add(
            "poll", f"{row.scenario}: poller", row.poller_requests, "requests", target, key=f"{key}.poller"
        )
        report.add(
            "poll",
            f"{row.scenario}: startDate window",
            row.window_requests,
            "requests",
            target,
            key=f"{key}.start_date",
        )
        if row.poller_new != row.added or row.window_new != row.added:
            report.problem(
                f"{row.scenario}: expected {row.added} new; poller found {row.poller_new}, "
                f"startDate window found {row.window_new}"
            )
    return rows
