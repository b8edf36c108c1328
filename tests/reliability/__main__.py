"""`python -m tests.reliability` (what `make reliability` runs): the crash run and the faults, one table.

By default the full crash run (20 SIGKILLs through 2,000 audit entries) and every fault; ``--short``
runs the sizes `make test` uses. The table goes to stdout and, as JSON, to reliability-results.json
beside the benchmark's bench-results.json. Exit status 1 when any scenario lost, repeated or
reordered an entry, left a card wrong, saw the bot die on its own, or got no useful `/bridge status`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from tests.reliability.crash import CrashOptions, run_crash_scenario
from tests.reliability.fault_cases import FAMILIES
from tests.reliability.faults import run_faults
from tests.reliability.results import ScenarioResult, table, write_json

DEFAULT_JSON = Path("reliability-results.json")
WIDE = 200  # columns when stdout is a file or a pipe (rich would assume 80)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the shortened sizes `make test` runs")
    parser.add_argument("--kills", type=int, help="SIGKILLs in the crash run (default 20; 6 with --short)")
    parser.add_argument("--entries", type=int, help="audit entries streamed (default 2000; 200 with --short)")
    parser.add_argument("--seed", type=int, default=CrashOptions.seed, help="for the crash run's choices")
    parser.add_argument(
        "--only", choices=("crash", "faults"), help="run one part (default: both, the crash run first)"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH", help="where to write it")
    args = parser.parse_args(argv)
    if (args.kills is not None and args.kills < 1) or (args.entries is not None and args.entries < 1):
        parser.error("--kills and --entries must be at least 1")
    return args


def crash_options(args: argparse.Namespace) -> CrashOptions:
    options = CrashOptions.short() if args.short else CrashOptions()
    options.seed = args.seed
    if args.kills is not None:
        options.kills = args.kills
    if args.entries is not None:
        options.entries = args.entries
    return options


async def run_all(args: argparse.Namespace, directory: Path, say: Console) -> list[ScenarioResult]:
    results = []

    def note(line: str) -> None:
        say.print(line, markup=False, highlight=False)

    if args.only in (None, "crash"):
        options = crash_options(args)
        note(f"== crash run: {options.kills} SIGKILLs, {options.entries} entries, seed {options.seed}")
        results.append(await run_crash_scenario(directory / "crash", options, note))
    if args.only in (None, "faults"):
        note(f"== faults: {', '.join(FAMILIES)} (side by side)")
        results += await run_faults(directory / "faults", FAMILIES, note)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    progress = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="groupbridge-reliability-") as tmp:
        results = asyncio.run(run_all(args, Path(tmp), progress))
    out = Console(file=sys.stdout, soft_wrap=False)
    if not out.is_terminal:
        out.width = WIDE
    shown = table(results)
    shown.caption = f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} cores"
    out.print(shown)
    meta = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    write_json(args.json, results, meta)
    print(f"\nJSON written to {args.json}")
    failed = [r for r in results if not r.ok]
    for result in failed:
        print(f"\n{result.scenario}: {len(result.problems)} problem(s)")
        for problem in result.problems:
            print(f"- {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
