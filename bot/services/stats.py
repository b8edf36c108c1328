"""Activity statistics from the mirrored audit log: per-day counts for `/vrc stats` (moderators only).

Read-only: nothing here writes to VRChat or the database, and nothing calls VRChat at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, timedelta

from bot.events import STAT_CATEGORIES
from bot.services.access import Access
from bot.services.common import Actor, Clock, InvalidInput, checked_group_id
from bot.store.ports import DailyCounter
from bot.store.stats import DailyCounts

DEFAULT_DAYS = 30
MAX_DAYS = 90


@dataclass(frozen=True, slots=True)
class StatSeries:
    key: str  # a bot.events.STAT_CATEGORIES key
    label: str  # "Requests accepted"
    per_day: tuple[int, ...]  # oldest day first

    @property
    def total(self) -> int:
        return sum(self.per_day)


@dataclass(frozen=True, slots=True)
class GroupStats:
    group_id: str
    group_name: str  # from config.toml, else the ID; operator-controlled, still escape it for Discord
    days: tuple[date, ...]  # UTC days, oldest first; the last one is today (so far)
    series: tuple[StatSeries, ...]  # in STAT_CATEGORIES order

    @property
    def total(self) -> int:
        return sum(s.total for s in self.series)

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def last_day(self) -> date:
        return self.days[-1]


def stats_from_counts(group_name: str, counts: DailyCounts) -> GroupStats:
    series = tuple(StatSeries(key, label, counts.counts[key]) for key, (label, _) in STAT_CATEGORIES.items())
    return GroupStats(counts.group_id, group_name, counts.days, series)


class StatsService:
    def __init__(self, store: DailyCounter, access: Access, clock: Clock) -> None:
        self._store = store
        self._access = access
        self._clock = clock

    async def daily(self, actor: Actor, group_id: str, days: int = DEFAULT_DAYS) -> GroupStats:
        """The group's joins, leaves, handled join requests and bans per UTC day, today included."""
        gid = checked_group_id(group_id)
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"Statistics cover between 1 and {MAX_DAYS} days.")
        await self._access.require_moderator(actor, gid)
        today = self._clock().astimezone(UTC).date()
        counts = await self._store.daily_counts(
            gid,
            {key: types for key, (_, types) in STAT_CATEGORIES.items()},
            first_day=today - timedelta(days=days - 1),
            days=days,
        )
        return stats_from_counts(self._access.group_label(gid), counts)
