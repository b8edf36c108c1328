"""`python -m tests.bench` (what `make bench` runs): measure, print one table, write it as JSON.

Figures are printed, never asserted: a slower machine must not fail the build. The exit status is 1
only when a benchmark got a wrong result (an event lost or repeated, a miscount) or a section
failed. Everything talks to stand-ins on 127.0.0.1 and writes SQLite files in a temporary directory
that is removed afterwards. stdout gets the table (and the notes under it); the progress bar and
each figure as it arrives go to stderr, so `python -m tests.bench > results.txt` keeps a clean file.
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
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tests.bench import (
    bench_accounts,
    bench_cards,
    bench_feed,
    bench_ingest,
    bench_interactions,
    bench_latency,
    bench_poll,
    bench_quiet,
    bench_roles,
    bench_rss,
    bench_scale,
)
from tests.bench.support import Report

DEFAULT_JSON = Path("bench-results.json")
WIDE = 200  # columns for the table when stdout is a file or a pipe (rich would assume 80)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    add = parser.add_argument
    add("--feed-events", type=int, default=2000, help="burst size of the packed drain")
    add("--single-events", type=int, default=500, help="events in the one-message-per-event drain")
    add("--scale", type=float, default=20.0, help="divide Discord's 5 s channel window by this")
    add("--ingest", type=int, default=20_000, help="entries per ingest run")
    add("--bursts", type=int, nargs="+", default=[50, 250, 1000], help="new entries per poll scenario")
    add("--poll-interval", type=float, default=2.0, help="seconds between polls (latency and RSS runs)")
    add("--latency-events", type=int, default=100, help="entries added during the latency run")
    add("--latency-duration", type=float, default=40.0, help="seconds over which they are added")
    add("--card-requests", type=int, default=20, help="join requests in each request → card run")
    add("--card-duration", type=float, default=40.0, help="seconds over which they are made")
    add("--iterations", type=int, default=200, help="slash commands and button clicks, each")
    add("--rss-groups", type=int, default=50, help="bound groups in the RSS run")
    add("--rss-history", type=int, default=100, help="history entries per group in the RSS run")
    add("--rss-cycles", type=int, default=3, help="polls of every group before the RSS run stops")
    add("--accounts-scale", type=float, default=30.0, help="accounts run: intervals / N, rates x N")
    add("--accounts-minutes", type=float, default=5.0, help="scaled minutes measured per accounts scenario")
    add("--accounts-groups", type=int, default=None, help="groups per account (default: computed)")
    add("--quiet-groups", type=int, default=60, help="groups on one account in the adaptive-polling run")
    add("--quiet-busy", type=int, default=6, help="of them busy (the others quiet)")
    add("--quiet-minutes", type=float, default=30.0, help="simulated minutes per adaptive-polling mode")
    add("--only", metavar="TEXT", help="run only the sections whose title contains TEXT (any case)")
    add("--fleet-groups", type=int, default=60, help="bound groups in the 1-vs-3-processes run")
    add("--fleet-entries", type=int, default=40, help="new entries per group in its burst (at most 50)")
    add("--no-fleet", action="store_true", help="skip the 1-vs-3-processes run (tests/scale covers it)")
    add("--role-members", type=int, default=5000, help="linked members in the role-sync reconcile")
    add(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write it (default {DEFAULT_JSON})",
    )
    args = parser.parse_args(argv)
    counts = (args.feed_events, args.single_events, args.ingest, *args.bursts, args.latency_events)
    counts += (args.iterations, args.rss_groups, args.rss_history, args.rss_cycles, args.card_requests)
    counts += (args.fleet_groups, args.fleet_entries, args.quiet_groups, args.quiet_minutes)
    if args.accounts_groups is not None:
        counts += (args.accounts_groups,)
    if args.quiet_busy < 0 or args.quiet_busy > args.quiet_groups:
        parser.error("--quiet-busy must be between 0 and --quiet-groups")
    if min(counts) < 1 or min(args.scale, args.poll_interval, args.latency_duration, args.card_duration) <= 0:
        parser.error(
            "sizes must be positive, and --scale, --poll-interval, --latency-duration and "
            "--card-duration above 0"
        )
    return args


def sections(
    args: argparse.Namespace, report: Report, tmp: Path
) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    # Factories, not coroutines: a section that fails must not leave the others un-awaited.
    return [
        (
            "Feed drain rate per channel",
            lambda: bench_feed.run(
                report, tmp, events=args.feed_events, single_events=args.single_events, scale=args.scale
            ),
        ),
        ("VRChat requests per poll", lambda: bench_poll.run(report, tmp, bursts=args.bursts)),
        ("Backfill ingest rate into SQLite", lambda: bench_ingest.run(report, tmp, count=args.ingest)),
        (
            "Event-to-Discord latency",
            lambda: bench_latency.run(
                report,
                tmp,
                events=args.latency_events,
                duration=args.latency_duration,
                interval=args.poll_interval,
            ),
        ),
        (
            "Join request to card, with and without the pipeline",
            lambda: bench_cards.run(
                report,
                tmp,
                requests=args.card_requests,
                duration=args.card_duration,
                interval=args.poll_interval,
            ),
        ),
        (
            "Slash command and button overhead",
            lambda: bench_interactions.run(report, tmp, iterations=args.iterations),
        ),
        (
            "Peak RSS with bound groups",
            lambda: bench_rss.run(
                report,
                tmp,
                groups=args.rss_groups,
                history=args.rss_history,
                cycles=args.rss_cycles,
                interval=args.poll_interval,
            ),
        ),
        (
            "Groups one VRChat account can serve",
            lambda: bench_accounts.run(
                report,
                tmp,
                scale=args.accounts_scale,
                minutes=args.accounts_minutes,
                groups=args.accounts_groups,
            ),
        ),
        (
            "Adaptive polling: quiet groups, one account",
            lambda: bench_quiet.run(
                report, tmp, groups=args.quiet_groups, busy=args.quiet_busy, minutes=args.quiet_minutes
            ),
        ),
        (
            "Role sync of a large group",
            lambda: bench_roles.run(report, tmp, members=args.role_members),
        ),
    ] + (
        []
        if args.no_fleet
        else [
            (
                "Throughput of 1 vs 3 processes (PostgreSQL)",
                lambda: bench_scale.run(report, tmp, groups=args.fleet_groups, per_group=args.fleet_entries),
            )
        ]
    )


async def run_all(args: argparse.Namespace, report: Report, tmp: Path) -> None:
    todo = sections(args, report, tmp)
    if args.only:
        todo = [(title, run) for title, run in todo if args.only.casefold() in title.casefold()]
    progress = report.progress
    overall = progress.add_task("sections", total=len(todo)) if progress else None
    for n, (title, section) in enumerate(todo):
        if progress is not None and overall is not None:
            progress.update(overall, description=title, completed=n)
        report.say(f"== {title}")
        started = time.perf_counter()
        try:
            await section()
        except Exception as exc:  # one broken section must not hide the others' figures
            report.problem(f"{title}: the section failed: {exc!r}")
            report.say("".join(traceback.format_exception(exc)))
        report.say(f"   ({time.perf_counter() - started:.1f} s)")
    if progress is not None and overall is not None:
        progress.update(overall, completed=len(todo))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stderr = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    report = Report(out=sys.stderr, progress=progress)
    report.meta = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    started = time.perf_counter()
    with progress, tempfile.TemporaryDirectory(prefix="groupbridge-bench-") as tmp:
        asyncio.run(run_all(args, report, Path(tmp)))
        # Linux reports ru_maxrss in KiB (macOS in bytes); the bench targets the Linux deployment.
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        beside = "this process, every in-process section and its stand-ins; the bot alone: see rss"
        report.add(
            "process", "bench process peak RSS", peak_kib / 1024, "MiB", beside, key="process.peak_rss_mib"
        )
        report.add(
            "process", "total bench wall time", time.perf_counter() - started, "s", key="process.wall_s"
        )

    out = Console(file=sys.stdout, soft_wrap=False)
    if not out.is_terminal:
        out.width = WIDE
    table = report.table()
    meta = report.meta
    table.caption = (
        f"Python {meta['python']} on {meta['platform']}, {meta['cores']} cores; printed, never asserted"
    )
    out.print(table)
    print("\nNotes:")
    for note in report.notes:
        print(f"- {note}")
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
