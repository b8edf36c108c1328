"""Per-day counts for /vrc stats, counted by the database. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.events import KNOWN_EVENT_TYPES, STAT_CATEGORIES
from bot.store import AuditEntryIn, Store
from bot.store.stats import MAX_DAYS
from tests.store.helpers import GROUP, OTHER_GROUP

CATEGORIES = {key: types for key, (_, types) in STAT_CATEGORIES.items()}
DAY1 = date(2026, 3, 1)
_ids = iter(range(1, 1_000_000))


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=UTC)


def seen(event_type: str, when: datetime) -> AuditEntryIn:
    return AuditEntryIn(id=f"gaud_{next(_ids):08d}", created_at=when, event_type=event_type)


async def put(store: Store, *items: AuditEntryIn, group: str = GROUP) -> None:
    await store.ingest(group, list(items), enqueue=False)


def day(n: int) -> date:
    return DAY1 + timedelta(days=n)


async def test_counts_each_category_per_day_with_zero_days(store: Store) -> None:
    await put(
        store,
        seen("group.member.join", at(day(0), 1)),
        seen("group.member.join", at(day(0), 22)),
        seen("group.member.join", at(day(3))),
        seen("group.member.leave", at(day(1))),
        seen("group.request.accept", at(day(3))),
        seen("group.request.reject", at(day(4))),
        seen("group.user.ban", at(day(4))),
        seen("group.user.ban", at(day(4), 23, 59)),
    )
    counts = await store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=6)
    assert counts.first_day == DAY1 and counts.days == tuple(day(n) for n in range(6))
    assert counts.counts == {
        "joins": (2, 0, 0, 1, 0, 0),
        "leaves": (0, 1, 0, 0, 0, 0),
        "accepted": (0, 0, 0, 1, 0, 0),
        "rejected": (0, 0, 0, 0, 1, 0),
        "bans": (0, 0, 0, 0, 2, 0),
    }
    assert counts.totals == {"joins": 3, "leaves": 1, "accepted": 1, "rejected": 1, "bans": 2}
    assert counts.total == 8


async def test_an_empty_log_gives_zeros_for_every_category_and_day(store: Store) -> None:
    counts = await store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=30)
    assert list(counts.counts) == list(STAT_CATEGORIES)  # legend order kept
    assert all(per_day == (0,) * 30 for per_day in counts.counts.values())
    assert len(counts.days) == 30 and counts.days[-1] == day(29) and counts.total == 0


async def test_days_are_utc_days_and_the_range_is_half_open(store: Store) -> None:
    plus14 = timezone(timedelta(hours=14))
    await put(
        store,
        seen("group.member.join", at(day(-1), 23, 59, 59, 999_999)),  # before the range
        seen("group.member.join", at(day(0), 0, 0, 0, 0)),  # its first instant
        seen("group.member.join", at(day(0), 23, 59, 59, 999_999)),
        seen("group.member.join", at(day(1), 0, 0, 0, 0)),
        # 10:00 on day 2 at UTC+14 is 20:00 on day 1 in UTC.
        seen("group.member.join", datetime(2026, 3, 3, 10, 0, tzinfo=plus14)),
        seen("group.member.join", at(day(2), 23, 59, 59, 999_999)),  # its last instant
        seen("group.member.join", at(day(3), 0, 0, 0, 0)),  # the end is exclusive
    )
    counts = await store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=3)
    assert counts.counts["joins"] == (2, 2, 1)


async def test_category_mapping_ignores_case_and_other_types(store: Store) -> None:
    for types in CATEGORIES.values():
        await put(store, *(seen(t, at(day(0))) for t in types))
    await put(
        store,
        seen("GROUP.User.Ban", at(day(0))),  # a spelling drift is still a ban, as in bot.events
        seen("group.member.user.ban", at(day(0))),  # the old spelling VRChat's spec shows
        seen("group.request.block", at(day(0))),  # a block is a rejection
        # Not counted: kicks, unbans, new or withdrawn requests, instance kicks, anything else.
        *(
            seen(t, at(day(0)))
            for t in (
                "group.member.remove",
                "group.user.unban",
                "group.request.create",
                "group.request.withdraw",
                "group.instance.kick",
                "group.member.join.extra",
                "group.update",
            )
        ),
    )
    counts = await store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=1)
    assert counts.totals == {"joins": 1, "leaves": 1, "accepted": 1, "rejected": 3, "bans": 4}


def test_every_counted_type_is_a_known_type_of_the_matching_family() -> None:
    families = {"joins": "members", "leaves": "members", "accepted": "requests", "rejected": "requests"}
    families["bans"] = "moderation"
    assert list(STAT_CATEGORIES) == list(families)
    for key, types in CATEGORIES.items():
        assert types and all(KNOWN_EVENT_TYPES.get(t) == families[key] for t in types), key


async def test_other_groups_are_not_counted(store: Store) -> None:
    await put(store, seen("group.user.ban", at(day(0))), seen("group.member.join", at(day(1))))
    await put(
        store,
        *(seen("group.user.ban", at(day(0))) for _ in range(5)),
        seen("group.member.join", at(day(1))),
        group=OTHER_GROUP,
    )
    mine = await store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=2)
    theirs = await store.daily_counts(OTHER_GROUP, CATEGORIES, first_day=DAY1, days=2)
    assert (mine.counts["bans"], mine.counts["joins"]) == ((1, 0), (0, 1))
    assert (theirs.counts["bans"], theirs.counts["joins"]) == ((5, 0), (0, 1))
    assert mine.group_id == GROUP and theirs.group_id == OTHER_GROUP


async def test_a_type_listed_twice_counts_once_for_the_first_category(store: Store) -> None:
    await put(store, seen("group.user.ban", at(day(0))))
    counts = await store.daily_counts(
        GROUP, {"first": ["group.user.ban"], "second": ["GROUP.USER.BAN"]}, first_day=DAY1, days=1
    )
    assert counts.counts == {"first": (1,), "second": (0,)}


async def test_counted_by_one_grouped_query_not_row_by_row(store: Store) -> None:
    await put(store, *(seen("group.member.join", at(day(n % 3), n % 24)) for n in range(300)))
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sync_engine = store.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", capture)
    try:
        counts = await store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=3)
    finally:
        event.remove(sync_engine, "before_cursor_execute", capture)
    assert counts.counts["joins"] == (100, 100, 100)
    # Connection set-up (SQLite PRAGMAs) may run too; the log itself is read exactly once.
    (statement,) = [s for s in statements if "audit_entries" in s]
    assert "GROUP BY" in statement.upper() and "COUNT(" in statement.upper(), statement


async def test_days_outside_the_allowed_range_are_refused(store: Store) -> None:
    for days in (0, -1, MAX_DAYS + 1):
        with pytest.raises(ValueError, match="days"):
            await store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=days)


async def test_no_categories_means_no_query_and_no_counts(store: Store) -> None:
    await put(store, seen("group.user.ban", at(day(0))))
    counts = await store.daily_counts(GROUP, {}, first_day=DAY1, days=3)
    assert counts.counts == {} and counts.total == 0


# ------------------------------------------------------------------ PostgreSQL's session time zone


@pytest.fixture
async def far_east_store(postgres_db_url: str) -> AsyncIterator[Store]:
    """A PostgreSQL store whose sessions run in UTC+14, where a local ::date is the wrong day."""
    opened = await Store.open(postgres_db_url)
    try:
        await opened.upgrade()
        async with opened.engine.begin() as conn:
            name = (await conn.execute(text("SELECT current_database()"))).scalar_one()
            await conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Pacific/Kiritimati'"))
        await opened.engine.dispose()  # new connections pick the database setting up
        async with opened.engine.connect() as conn:
            assert (await conn.execute(text("SHOW timezone"))).scalar_one() == "Pacific/Kiritimati"
        yield opened
    finally:
        await opened.close()


@pytest.mark.postgres
async def test_postgres_counts_utc_days_whatever_the_session_time_zone(far_east_store: Store) -> None:
    await put(
        far_east_store,
        seen("group.user.ban", at(day(0), 9, 59)),  # 23:59 on day 0 in UTC+14
        seen("group.user.ban", at(day(0), 10, 1)),  # already day 1 in UTC+14, still day 0 in UTC
        seen("group.user.ban", at(day(0), 23, 30)),
    )
    counts = await far_east_store.daily_counts(GROUP, CATEGORIES, first_day=DAY1, days=2)
    assert counts.counts["bans"] == (3, 0)
