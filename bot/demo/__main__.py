"""``python -m bot.demo`` (what ``make demo`` runs): the offline demo. Exit 0 when nothing was lost,
duplicated or reordered and neither fake API saw a request the real one would refuse; 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

try:
    from bot.demo.report import print_report
    from bot.demo.scenario import DemoOptions, DemoResult, run_scenario
    from bot.demo.status import status_line
except ModuleNotFoundError as missing:  # the fakes check traffic against the OpenAPI spec: an extra
    sys.exit(
        f"The demo needs packages the bot itself does not ({missing.name} is missing): "
        "pip install 'groupbridge[demo]'"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.demo", description=__doc__)
    parser.add_argument("--burst", type=int, default=300, help="audit entries in the burst (default 300)")
    parser.add_argument(
        "--kill-after", type=int, default=100, help="SIGKILL once this many of the burst were posted"
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="work in DIR and keep it (config, database, bot log)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the summary here as JSON")
    args = parser.parse_args(argv)
    if args.burst < 1 or args.kill_after < 1:
        parser.error("--burst and --kill-after must be positive")
    return args


async def demo(args: argparse.Namespace, console: Console) -> DemoResult:
    directory = args.keep or Path(tempfile.mkdtemp(prefix="groupbridge-demo-"))
    options = DemoOptions(burst=args.burst, kill_after=min(args.kill_after, args.burst))

    def say(line: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {line}")

    console.rule("GroupBridge offline demo")
    say("No credentials, no network: VRChat and Discord are local fakes that check every request.")
    started_wall = time.time()
    try:
        result, world = await run_scenario(directory, options, say, status_line(console))
        print_report(console, world, result, started_wall)
    except Exception as exc:
        log = directory / "bot.log"
        console.print(f"[red]The demo stopped: {escape(str(exc))}[/red]")
        if log.exists():
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            console.print("[dim]Last lines of the bot log:[/dim]")
            console.print(escape("\n".join(tail)))
        raise
    finally:
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            console.print(f"Config, database and bot log kept in {escape(str(directory))}")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(highlight=False)
    try:
        result = asyncio.run(demo(args, console))
    except Exception:  # already explained above
        return 1
    if args.json is not None:
        args.json.write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
