"""What the benchmarks share: a figure record, the report that prints it, entries and stores.

Not named ``bench_*`` or ``test_*``: it measures nothing and pytest must not collect it.
"""

from __future__ import annotations

import json
import logging
import statistics
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from rich.progress import Progress
from rich.table import Table

from bot.feed.poller import POLL_FLOOR_SECONDS, PollSettings
from bot.store import AuditEntryIn, Store
from tests.fixtures.postgres import opened_store

GROUP_ID = "grp_6e0c3f6e-6f1f-4b43-9f39-3c1c2a6f8a11"
ACTOR_ID = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
T0 = datetime(2026, 11, 1, tzinfo=UTC)

# A mix of families so rendering and packing see embeds of different shapes and sizes, roughly
# like a busy group's log (joins, requests and moderation dominate; role and post edits carry data).
_EVENT_MIX: tuple[tuple[str, dict[str, Any]], ...] = (
    ("group.member.join", {}),
    ("group.request.create", {}),
    ("group.user.ban", {}),
    ("group.instance.kick", {"location": "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd:12345~group(x)"}),
    ("group.role.update", {"name": {"old": "Helper", "new": "Moderator"}, "order": {"old": 3, "new": 2}}),
    ("group.post.create", {"title": "Weekly meetup", "text": "See you Saturday at 20:00 UTC!"}),
    ("group.invite.create", {}),
    ("group.member.remove", {}),
)


def make_entries(count: int, *, start: datetime = T0, step: float = 1.0) -> list[AuditEntryIn]:
    """`count` distinct entries `step` seconds apart, oldest first, with deterministic ids."""
    entries = []
    for i in range(count):
        event_type, data = _EVENT_MIX[i % len(_EVENT_MIX)]
        entries.append(
            AuditEntryIn(
                id=f"gaud_{uuid.UUID(int=i + 1)}",
                created_at=start + timedelta(seconds=i * step),
                event_type=event_type,
                actor_id=ACTOR_ID,
                actor_display_name="Moderator Alice",
                target_id=f"usr_{uuid.UUID(int=(i % 997) + 1)}",
                description=f"Moderator Alice did {event_type} to member number {i % 997}",
                data=data,
            )
        )
    return entries


def sqlite_store(path: Path) -> AbstractAsyncContextManager[Store]:
    """A migrated store on a real SQLite file (what a small deployment runs); closed afterwards."""
    return opened_store(f"sqlite+aiosqlite:///{path}")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated between neighbours like numpy's default."""
    if not values:
        return float("nan")
    if len(values) == 1 or q >= 100:
        return float(max(values))
    cuts = statistics.quantiles(values, n=100, method="inclusive")  # the 1st..99th percentiles
    return cuts[max(1, round(q)) - 1]


def loopback_poll_settings(interval: float, **options: Any) -> PollSettings:
    """PollSettings for the real poller against the local simulator at `interval` seconds.

    The 30 s floor protects VRChat's API; the bot lowers it for a loopback vrchat.base_url (as the
    config loader does), and so does this, or a latency run at 30 s would take many minutes.
    """
    return PollSettings(interval=interval, floor=min(POLL_FLOOR_SECONDS, interval), **options)


class ErrorCount(logging.Handler):
    """Keeps ERROR records of a logger (discord.py only logs a handler's exception, never raises it)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")

    @contextmanager
    def attached(self, logger_name: str) -> Iterator[ErrorCount]:
        logger = logging.getLogger(logger_name)
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)


@dataclass(frozen=True)
class Figure:
    """One measured number, with what it should be read beside (a ceiling, a target, a baseline).

    `key` is a stable name for the JSON (the display name carries sizes, which change with the flags).
    """

    section: str
    name: str
    value: float
    unit: str
    beside: str = ""
    key: str = ""

    def value_text(self) -> str:
        if self.value == int(self.value) and abs(self.value) < 1e12:
            return f"{int(self.value):,}"
        return f"{self.value:,.2f}" if abs(self.value) >= 10 else f"{self.value:.3f}"


@dataclass
class Report:
    """Collects figures; prints a line per figure as it arrives so a long run shows progress.

    With `progress` set, those lines go through its console (above the bar, on its stream) and
    `steps` shows a second bar for a section's own loop.
    """

    out: TextIO | None = None
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    progress: Progress | None = None

    def add(
        self, section: str, name: str, value: float, unit: str, beside: str = "", *, key: str = ""
    ) -> Figure:
        figure = Figure(section, name, float(value), unit, beside, key)
        self.figures.append(figure)
        self._print(
            f"  [{section}] {name}: {figure.value_text()} {unit}" + (f"   ({beside})" if beside else "")
        )
        return figure

    def note(self, text: str) -> None:
        """A sentence that explains how a figure was obtained; repeated under the final table."""
        self.notes.append(text)
        self._print(f"  note: {text}")

    def say(self, text: str) -> None:
        """A progress line only (a section starting, its duration): not kept for the table."""
        self._print(text)

    def problem(self, text: str) -> None:
        """A correctness failure (lost or repeated events, a miscount): the bench then exits 1."""
        self.problems.append(text)
        self._print(f"  PROBLEM: {text}")

    def _print(self, line: str) -> None:
        if self.progress is not None:
            self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        elif self.out is not None:
            print(line, file=self.out, flush=True)

    @contextmanager
    def steps(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """A bar for a long loop inside a section; call the yielded function with how many are done."""
        progress = self.progress
        if progress is None:
            yield lambda _done: None
            return
        task = progress.add_task(f"  {description}", total=max(total, 1))
        try:
            yield lambda done: progress.update(task, completed=done)
        finally:
            progress.remove_task(task)

    def table(self) -> Table:
        """Every figure in one table, a rule between sections."""
        table = Table(title="GroupBridge benchmarks", title_justify="left", caption_justify="left")
        table.add_column("section", style="bold")
        table.add_column("measurement")
        table.add_column("value", justify="right")
        table.add_column("unit")
        table.add_column("beside", overflow="fold")
        for i, f in enumerate(self.figures):
            first = i == 0 or self.figures[i - 1].section != f.section
            last = i == len(self.figures) - 1 or self.figures[i + 1].section != f.section
            table.add_row(
                f.section if first else "", f.name, f.value_text(), f.unit, f.beside, end_section=last
            )
        return table

    def by_key(self) -> dict[str, float]:
        return {f.key: f.value for f in self.figures if f.key}

    def write_json(self, path: Path) -> None:
        payload = {
            "meta": self.meta,
            "results": self.by_key(),
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
            "problems": self.problems,
        }
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
