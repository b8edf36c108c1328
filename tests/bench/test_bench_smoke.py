"""The benchmarks still work: each one at a tiny size, checked for correctness only.

Nothing here looks at a duration or a rate: the figures are for people to read (`make bench`), and a
slow CI machine must not fail on them.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from bot.feed.backoff import JITTER_SECONDS
from tests.bench import __main__ as bench_main
from tests.bench import bench_feed, bench_ingest, bench_poll, bench_quiet
from tests.bench.support import Report, percentile

# Every benchmark section at small sizes, child processes included.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

SMOKE_SCALE = 50.0  # a 0.1 s channel window keeps 50 one-per-event messages around a second


@pytest.mark.parametrize("one_per_event", [False, True], ids=["packed", "one-per-event"])
async def test_feed_drain_delivers_every_event_once_in_order(tmp_path: Path, one_per_event: bool) -> None:
    run = await bench_feed.run_drain(tmp_path, 50, scale=SMOKE_SCALE, one_per_event=one_per_event)
    assert run.events == 50 and len(run.delivered) == 50 and run.duplicates == 0
    assert run.complete_in_order and run.violations == 0
    if one_per_event:
        assert run.messages == 50  # the size trick really does give every event its own message
    else:
        assert run.messages < 50 and run.events_per_message > 1


async def test_poll_strategies_find_the_same_new_entries(tmp_path: Path) -> None:
    rows = await bench_poll.run_polls(tmp_path, bursts=(50,))
    assert [r.added for r in rows] == [0, 50, 0]
    for row in rows:
        assert row.poller_new == row.window_new == row.added, row
        assert row.poller_requests >= 1 and row.window_requests >= 1


@pytest.mark.parametrize("enqueue", [False, True], ids=["plain", "with-outbox"])
async def test_ingest_stores_and_queues_every_entry(tmp_path: Path, enqueue: bool) -> None:
    run = await bench_ingest.run_ingest(tmp_path, 50, enqueue=enqueue)
    assert run.stored == 50 and run.queued == (50 if enqueue else 0)


async def test_the_adaptive_polling_world_sees_every_entry_within_the_ceiling(tmp_path: Path) -> None:
    adaptive = bench_quiet.MODES[1]
    outcome = await bench_quiet.run_world(tmp_path, adaptive, groups=3, busy=1, minutes=14)
    assert outcome.miscounts == outcome.failures == 0
    assert outcome.counted == outcome.sim_requests  # every request the simulator saw is counted
    # Virtual seconds, not wall-clock ones: the quiet groups' one entry came at most a ceiling late.
    assert len(outcome.quiet_first) == 2 and max(outcome.quiet_first) <= adaptive.ceiling
    assert outcome.busy_latency and outcome.per_minute(outcome.quiet) < outcome.per_minute(outcome.busy)


async def test_cards_from_the_mirror_list_a_request_after_the_poll_that_stores_it(tmp_path: Path) -> None:
    mirror = next(m for m in bench_quiet.MODES if m.key == "mirror_no_pipeline")
    outcome = await bench_quiet.run_world(tmp_path, mirror, groups=3, busy=1, minutes=14)
    assert outcome.miscounts == outcome.failures == 0 and outcome.counted == outcome.sim_requests
    # Virtual seconds: a busy group's poll (at most the interval + jitter), then the card loop's look.
    longest = bench_quiet.INTERVAL + JITTER_SECONDS + 11
    assert outcome.request_latency and max(outcome.request_latency) <= longest
    # No listing per minute: in the 10.5 measured minutes a quiet group was listed once at most (a
    # reconcile, every 1800 s ± 20 %), where each card round would have listed it ten times.
    assert all(outcome.requests[g] - outcome.polls[g] <= 1 for g in outcome.quiet)


# Every figure a full run must produce (keys are stable; display names carry the sizes).
EXPECTED_KEYS = {
    *(
        f"feed.{run}.{figure}"
        for run in ("packed", "one_per_event")
        for figure in (
            "events_per_message",
            "measured_msg_per_s",
            "events_per_s",
            "rate_limited",
            "lost",
            "duplicated",
        )
    ),
    "feed.ceiling.packed_events_per_s",
    "feed.ceiling.one_per_event_events_per_s",
    "feed.packing_gain",
    "poll.idle.poller",
    "poll.new_10.poller",
    "poll.idle_after_burst.poller",
    "ingest.plain.entries_per_s",
    "ingest.outbox.entries_per_s",
    "latency.p50_s",
    "latency.p99_s",
    "latency.after_poll_p50_ms",
    "latency.lost",
    "latency.duplicated",
    *(
        f"cards.{run}.{k}"
        for run in ("pipeline", "polling")
        for k in ("p50_s", "p99_s", "lost", "duplicated")
    ),
    "cards.pipeline.connections",
    *(
        f"interactions.{kind}.{figure}"
        for kind in ("slash", "button")
        for figure in (
            "first_response_p50_ms",
            "first_response_p99_ms",
            "reply_p50_ms",
            "reply_p99_ms",
            "failed",
        )
    ),
    "rss.groups.peak_mib",
    "rss.one_group.peak_mib",
    "rss.per_group_kib",
    "rss.cards",
    "rss.lost",
    "rss.duplicated",
    "process.peak_rss_mib",
    *(f"accounts.{k}" for k in ("budget_per_minute", "per_group_per_minute", "capacity")),
    *(f"accounts.mirror.{k}" for k in ("capacity_quiet", "capacity_busy", "capacity_mix")),
    "accounts.capacity_measured",
    *(f"roles.{k}" for k in ("vrchat_requests", "discord_writes", "discord_reads", "wall_s", "peak_rss_mib")),
    *(
        f"quiet.{mode}.{k}"
        for mode in ("today", "adaptive", "adaptive_no_pipeline", "mirror", "mirror_no_pipeline")
        for k in (
            "busy_per_min",
            "quiet_per_min",
            "quiet_polls_per_min",
            "capacity_quiet",
            "capacity_mix",
            "busy_p50_s",
            "busy_p99_s",
            "first_after_quiet_p50_s",
            "first_after_quiet_max_s",
            "request_listed_p50_s",
            "request_listed_max_s",
        )
    ),
    *(
        f"accounts.{run}.{k}"
        for run in ("one_at_capacity", "one_at_twice", "two_at_twice")
        for k in ("busiest_share_pct", "on_schedule_pct", "per_group_per_minute")
    ),
}
ZERO_KEYS = [k for k in EXPECTED_KEYS if k.endswith((".lost", ".duplicated", ".failed", ".rate_limited"))]
TINY = [
    *("--feed-events", "20", "--single-events", "5", "--scale", "100", "--ingest", "20", "--bursts", "10"),
    *("--poll-interval", "0.2", "--latency-events", "8", "--latency-duration", "0.5", "--iterations", "3"),
    *("--card-requests", "3", "--card-duration", "1", "--role-members", "30"),
    *("--rss-groups", "2", "--rss-history", "5", "--rss-cycles", "1"),
    *("--accounts-scale", "120", "--accounts-minutes", "1", "--accounts-groups", "2"),
    *("--quiet-groups", "2", "--quiet-busy", "1", "--quiet-minutes", "4"),
    "--no-fleet",  # several processes on PostgreSQL: tests/scale/test_bench_scale.py runs it small
]


def test_every_section_runs_and_the_json_has_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench-results.json"
    assert bench_main.main([*TINY, "--json", str(out)]) == 0
    printed = capsys.readouterr()
    assert "GroupBridge benchmarks" in printed.out and "JSON written to" in printed.out
    assert "[latency]" in printed.err  # figures as they arrive go to stderr, the table to stdout
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["problems"] == [] and payload["notes"]
    assert payload["meta"]["cores"] and payload["meta"]["python"] == platform.python_version()
    results = payload["results"]
    assert set(results) >= EXPECTED_KEYS, sorted(EXPECTED_KEYS - set(results))
    assert {k: results[k] for k in ZERO_KEYS} == dict.fromkeys(ZERO_KEYS, 0.0)
    assert results["latency.events"] == 8 and results["rss.cards"] == 2
    assert results["cards.pipeline.connections"] == 1
    assert {f["section"] for f in payload["figures"]} == {
        "accounts",
        "quiet",
        "feed",
        "poll",
        "ingest",
        "latency",
        "cards",
        "interactions",
        "rss",
        "roles",
        "process",
    }


def test_report_table_has_a_row_per_figure() -> None:
    report = Report()
    report.add("feed", "a", 1234.5, "events/s", "beside", key="feed.a")
    report.add("poll", "longer name", 1, "requests")
    table = report.table()
    assert table.row_count == 2 and [c.header for c in table.columns][:3] == [
        "section",
        "measurement",
        "value",
    ]
    assert report.by_key() == {"feed.a": 1234.5}


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.5 and percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) != percentile([], 50)  # NaN
