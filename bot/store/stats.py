"""Per-day event counts over the stored audit log, counted by the database (for `/vrc stats`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.store._base import StoreBase
from bot.store.models import AuditEntryRow

# Far more than any chart shows; keeps a mistaken caller from asking for a century of zeros.
MAX_DAYS = 366


class UtcDay(FunctionElement[date]):
    """The UTC calendar day of a UTC timestamp column, on SQLite and PostgreSQL."""

    type = Date()
    inherit_cache = True


@compiles(UtcDay, "sqlite")
def _utc_day_sqlite(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # UTCDateTime stores naive UTC text on SQLite, so its date part already is the UTC day.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDay, "postgresql")
def _utc_day_postgresql(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    # A plain ::date would use the session's TimeZone setting, which is the server's local zone.
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@dataclass(frozen=True, slots=True)
class DailyCounts:
    """Counts per category and UTC day: ``counts[category][i]`` is for ``first_day + i`` days."""

    group_id: str
    first_day: date
    counts: Mapping[str, tuple[int, ...]]

    @property
    def days(self) -> tuple[date, ...]:
        length = len(next(iter(self.counts.values()), ()))
        return tuple(self.first_day + timedelta(days=i) for i in range(length))

    @property
    def totals(self) -> dict[str, int]:
        return {category: sum(per_day) for category, per_day in self.counts.items()}

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class StatsOps(StoreBase):
    async def daily_counts(
        self,
        group_id: str,
        categories: Mapping[str, Collection[str]],
        *,
        first_day: date,
        days: int,
    ) -> DailyCounts:
        """How many of the group's entries fell in each category on each UTC day of the range.

        `categories` maps a name to its event types (matched ignoring case, like bot.events does);
        a type listed under two names counts for the first. Days without entries are zeros.
        """
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}")
        owner: dict[str, str] = {}
        for category, event_types in categories.items():
            for event_type in event_types:
                owner.setdefault(event_type.lower(), category)  # as SQL lower() sees it
        per_day = {category: [0] * days for category in categories}
        if owner:
            await self._count_into(per_day, group_id, owner, first_day, days)
        return DailyCounts(group_id, first_day, {c: tuple(counts) for c, counts in per_day.items()})

    async def _count_into(
        self, out: dict[str, list[int]], group_id: str, owner: dict[str, str], first_day: date, days: int
    ) -> None:
        e = AuditEntryRow
        kind = func.lower(e.event_type)
        day = UtcDay(e.created_at).label("day")
        category = case(*((kind == t, c) for t, c in owner.items())).label("category")
        stmt = (
            select(day, category, func.count())
            .where(
                e.group_id == group_id,
                e.created_at >= day_start(first_day),
                e.created_at < day_start(first_day + timedelta(days=days)),
                kind.in_(list(owner)),
            )
            .group_by(day, category)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        for on, name, count in rows:
            index = (on - first_day).days  # a date on both backends: UtcDay is typed Date
            # The WHERE clause already keeps to the range; this only stops a -1 from wrapping around.
            if 0 <= index < days:
                out[name][index] += int(count)
