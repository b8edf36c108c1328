"""What the benchmarks share: a figure record, the report that prints it, entries and stores.

Not named ``bench_*`` or ``test_*``: it measures nothing and pytest must not collect it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.store import AuditEntryIn, Store

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


@asynccontextmanager
async def sqlite_store(path: Path) -> AsyncIterator[Store]:
    """A migrated store on a real SQLite file (what a small deployment runs); closed afterwards."""
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        await store.upgrade()
        yield store
    finally:
        await store.close()


@dataclass(frozen=True)
class Figure:
    """One measured number, with what it should be read beside (a ceiling, a target, a baseline)."""

    section: str
    name: str
    value: float
    unit: str
    beside: str = ""

    def value_text(self) -> str:
        if self.value == int(self.value) and abs(self.value) < 1e12:
            return f"{int(self.value):,}"
        return f"{self.value:,.2f}" if abs(self.value) >= 10 else f"{self.value:.3f}"


@dataclass
class Report:
    """Collects figures; prints a line per figure as it arrives so a long run shows progress."""

    out: TextIO | None = None
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, section: str, name: str, value: float, unit: str, beside: str = "") -> Figure:
        figure = Figure(section, name, float(value), unit, beside)
        self.figures.append(figure)
        self._print(
            f"  [{section}] {name}: {figure.value_text()} {unit}" + (f"   ({beside})" if beside else "")
        )
        return figure

    def note(self, text: str) -> None:
        """A sentence that explains how a figure was obtained; repeated under the final table."""
        self.notes.append(text)
        self._print(f"  note: {text}")

    def problem(self, text: str) -> None:
        """A correctness failure (lost or repeated events, a miscount): the bench then exits 1."""
        self.problems.append(text)
        self._print(f"  PROBLEM: {text}")

    def _print(self, line: str) -> None:
        if self.out is not None:
            print(line, file=self.out, flush=True)

    def table(self) -> str:
        headers = ("section", "measurement", "value", "unit", "beside")
        rows = [(f.section, f.name, f.value_text(), f.unit, f.beside) for f in self.figures]
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
        align: list[Callable[[str, int], str]] = [str.ljust, str.ljust, str.rjust, str.ljust, str.ljust]
        lines = []
        for n, row in enumerate([headers, *rows]):
            lines.append("  ".join(align[i](str(c), widths[i]) for i, c in enumerate(row)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def write_json(self, path: Path) -> None:
        payload = {
            "meta": self.meta,
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
            "problems": self.problems,
        }
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
