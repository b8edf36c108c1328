"""What a reliability scenario found: the counts of the table and the problems in words."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table


@dataclass(frozen=True)
class Tally:
    """The feed channel against VRChat's log."""

    lost: int
    duplicated: int
    out_of_order: bool
    unknown: int  # ids in the channel VRChat never had


def tally(expected: Sequence[str], delivered: Sequence[str]) -> Tally:
    counts = Counter(delivered)
    wanted = set(expected)
    first_seen = list(counts)  # Counter keeps first-insertion order
    return Tally(
        lost=sum(1 for entry in expected if counts[entry] == 0),
        duplicated=sum(n - 1 for n in counts.values() if n > 1),
        out_of_order=[e for e in first_seen if e in wanted] != [e for e in expected if e in counts],
        unknown=sum(1 for entry in counts if entry not in wanted),
    )


def prefix_problem(expected: Sequence[str], delivered: Sequence[str]) -> str | None:
    """The channel must always be a prefix of VRChat's order: a hole, a repeat or a swap shows up as
    the first position where the two differ."""
    for i, got in enumerate(delivered):
        if i >= len(expected):
            return f"position {i}: {got} is beyond VRChat's {len(expected)} entries"
        if got != expected[i]:
            seen_before = got in delivered[:i]
            what = "repeated" if seen_before else f"instead of {expected[i]}"
            return f"position {i}: {got} {what}"
    return None


@dataclass
class ScenarioResult:
    scenario: str
    runs: int = 0  # bot starts (crash scenarios) or faults injected (fault scenarios)
    entries: int = 0  # audit entries in VRChat's log at the end
    lost: int = 0
    duplicated: int = 0
    crashed: int = 0  # bot exits nobody asked for
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and not (self.lost or self.duplicated or self.crashed)

    def count(self, expected: Sequence[str], delivered: Sequence[str], where: str = "") -> Tally:
        """Add one comparison of the channel with VRChat's log to the counts (and the problems)."""
        found = tally(expected, delivered)
        self.entries = max(self.entries, len(expected))
        self.lost += found.lost
        self.duplicated += found.duplicated
        label = f"{where}: " if where else ""
        if found.lost:
            self.problems.append(f"{label}{found.lost} entries never reached the channel")
        if found.duplicated:
            self.problems.append(f"{label}{found.duplicated} entries posted more than once")
        if found.out_of_order:
            self.problems.append(f"{label}entries reached the channel out of VRChat's order")
        if found.unknown:
            self.problems.append(f"{label}{found.unknown} unknown entry ids in the channel")
        return found

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def table(results: Iterable[ScenarioResult]) -> Table:
    out = Table(title="GroupBridge reliability", title_justify="left")
    for name, justify in (
        ("scenario", "left"),
        ("runs", "right"),
        ("entries", "right"),
        ("lost", "right"),
        ("duplicated", "right"),
        ("crashed", "right"),
        ("seconds", "right"),
        ("result", "left"),
    ):
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in results:
        first = escape(r.problems[0][:120]) if r.problems else "a count above 0"
        verdict = "[green]ok[/green]" if r.ok else f"[red]FAIL[/red] {first}"
        out.add_row(
            r.scenario,
            str(r.runs),
            str(r.entries),
            str(r.lost),
            str(r.duplicated),
            str(r.crashed),
            f"{r.seconds:.0f}",
            verdict,
        )
    return out


def write_json(path: Path, results: Iterable[ScenarioResult], meta: dict[str, Any]) -> None:
    payload = {"meta": meta, "scenarios": [r.to_json() for r in results]}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
