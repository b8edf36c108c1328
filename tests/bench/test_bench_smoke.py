"""The benchmarks still work: each one at a tiny size, checked for correctness only.

Nothing here looks at a duration or a rate: the figures are for people to read (`make bench`), and a
slow CI machine must not fail on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench import __main__ as bench_main
from tests.bench import bench_feed, bench_ingest, bench_poll
from tests.bench.support import Report

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


def test_the_entry_point_prints_a_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench-results.json"
    argv = ["--feed-events", "20", "--single-events", "5", "--scale", "100", "--ingest", "20"]
    assert bench_main.main([*argv, "--bursts", "10", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "== Summary" in printed and "peak RSS" in printed and "cores:" in printed
    payload = json.loads(out.read_text(encoding="utf-8"))
    sections = {f["section"] for f in payload["figures"]}
    assert sections == {"feed", "poll", "ingest", "process"}
    assert payload["meta"]["cores"] and payload["meta"]["python"].startswith("3.11")
    assert payload["problems"] == [] and payload["notes"]


def test_report_table_lines_up() -> None:
    report = Report()
    report.add("feed", "a", 1234.5, "events/s", "beside")
    report.add("poll", "longer name", 1, "requests")
    header, rule, *rows = report.table().splitlines()
    assert header.startswith("section") and set(rule) <= {"-", " "}
    assert rows[0].index("1,234.50") + len("1,234.50") == rows[1].index("1") + 1
