"""`python -m tests.bench` (what `make bench` runs): measure, print a table, optionally write JSON.

Figures are printed, never asserted: a slower machine must not fail the build. The exit status is 1
only when a benchmark got a wrong result (an event lost or repeated, a miscount). Everything talks to
stand-ins on 127.0.0.1 and writes SQLite files in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.bench import bench_feed, bench_ingest, bench_poll
from tests.bench.support import Report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--feed-events", type=int, default=2000, help="burst size of the packed drain")
    parser.add_argument(
        "--single-events", type=int, default=500, help="events in the one-message-per-event drain"
    )
    parser.add_argument(
        "--scale", type=float, default=20.0, help="divide Discord's 5 s channel window by this"
    )
    parser.add_argument("--ingest", type=int, default=20_000, help="entries per ingest run")
    parser.add_argument(
        "--bursts", type=int, nargs="+", default=[50, 250, 1000], help="new entries per poll scenario"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    if min(args.feed_events, args.single_events, args.ingest, *args.bursts) < 1 or args.scale <= 0:
        parser.error("sizes must be positive and --scale greater than 0")
    return args


async def run_all(args: argparse.Namespace, report: Report, tmp: Path) -> None:
    # Factories, not coroutines: a section that fails must not leave the others un-awaited.
    sections: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        (
            "Feed drain rate per channel",
            lambda: bench_feed.run(
                report, tmp, events=args.feed_events, single_events=args.single_events, scale=args.scale
            ),
        ),
        ("VRChat requests per poll", lambda: bench_poll.run(report, tmp, bursts=args.bursts)),
        ("Backfill ingest rate into SQLite", lambda: bench_ingest.run(report, tmp, count=args.ingest)),
    ]
    for title, section in sections:
        print(f"\n== {title}", flush=True)
        started = time.perf_counter()
        await section()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report(out=sys.stdout)
    report.meta = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    print(f"GroupBridge benchmarks: Python {report.meta['python']} on {report.meta['platform']}")
    print(f"cores: {report.meta['cores']}; figures are printed, never asserted", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="groupbridge-bench-") as tmp:
        asyncio.run(run_all(args, report, Path(tmp)))
    # Linux reports ru_maxrss in KiB (macOS in bytes); the bench targets the Linux deployment.
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("\n== Process")
    report.add("process", "peak RSS after all runs", peak_kib / 1024, "MiB", f"{peak_kib:,} KiB ru_maxrss")
    report.add("process", "total bench wall time", time.perf_counter() - started, "s")

    print("\n== Summary\n")
    print(report.table())
    if report.notes:
        print("\nNotes:")
        for note in report.notes:
            print(f"- {note}")
    if args.json is not None:
        report.write_json(args.json)
        print(f"\nJSON written to {args.json}")
    if report.problems:  # wrong results, never slow ones: timings are only ever printed
        print(f"\n{len(report.problems)} PROBLEM(S):")
        for problem in report.problems:
            print(f"- {problem}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
