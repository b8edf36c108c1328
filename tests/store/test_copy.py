"""`copy_database`: every row of a real SQLite file into an empty PostgreSQL database (and back), ids
and all, or nothing at all."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.store import ActionIn, BindingIn, Store, migrate
from bot.store.copy import CopyError, copy_database
from bot.store.engine import create_engine
from bot.store.models import metadata
from tests.fixtures.postgres import SQLITE_PREFIX, opened_store
from tests.store.helpers import GROUP, GUILD, T0, binding, count_rows, entries

pytestmark = pytest.mark.postgres


async def fill(store: Store) -> None:
    """Rows in tables that refer to each other, with ids from autoincrement columns."""
    first = await store.add_binding(binding(900_000_000_000_000_001))
    await store.add_binding(BindingIn(GROUP, GUILD, 900_000_000_000_000_002, 900_000_000_000_000_003, (7,)))
    await store.ingest(GROUP, entries(range(1, 26)))  # entries, outbox rows for both channels, cursor
    await store.record_gap(GROUP, T0, T0.replace(hour=13), "the log was cut")
    await store.add_watch(first.id, "grp_00000000-0000-0000-0000-0000000000aa", "raid crew — ✓", 5)
    await store.add_rule(first.id, "account_age_days_at_least", "30", "hold", 5)
    await store.add_note(
        guild_id=GUILD,
        group_id=GROUP,
        vrchat_user_id="usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469",
        text="said hi",
        author_discord_id=5,
        author_name="ada",
    )
    for n in range(3):
        await store.record_action(
            ActionIn(
                GUILD, 5, "ada", GROUP, "member.kick", target_id=f"usr_{n}", details={"n": n, "why": None}
            )
        )


async def every_row(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table.name: [
                    dict(row._mapping)
                    for row in await conn.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def test_a_sqlite_database_is_copied_whole_to_postgresql(tmp_path: Path, postgres_db_url: str) -> None:
    source_url = SQLITE_PREFIX + str(tmp_path / "bot.db")
    async with opened_store(source_url) as store:
        await fill(store)
    report = await copy_database(source_url, postgres_db_url, batch=7)  # several batches a table
    before, after = await every_row(source_url), await every_row(postgres_db_url)
    assert after == before
    assert report.rows == {name: len(rows) for name, rows in before.items()}
    assert report.rows["audit_entries"] == 25 and report.rows["outbox"] == 50
    # The sequences moved past the copied ids: the next row takes the next id, not a copied one.
    async with opened_store(postgres_db_url) as copied:
        added = await copied.add_binding(binding(900_000_000_000_000_009))
        assert added.id == max(b["id"] for b in before["bindings"]) + 1
        record = await copied.record_action(ActionIn(GUILD, 5, "ada", GROUP, "member.ban"))
        assert record.id == 4


async def test_and_back_from_postgresql_to_sqlite(tmp_path: Path, postgres_db_url: str) -> None:
    async with opened_store(postgres_db_url) as store:
        await fill(store)
    target_url = SQLITE_PREFIX + str(tmp_path / "back.db")
    await copy_database(postgres_db_url, target_url)
    assert await every_row(target_url) == await every_row(postgres_db_url)
    async with opened_store(target_url) as copied:
        added = await copied.add_binding(binding(900_000_000_000_000_009))
        assert added.id == 3


async def test_a_target_holding_data_is_refused_and_left_as_it_was(
    tmp_path: Path, postgres_db_url: str
) -> None:
    source_url = SQLITE_PREFIX + str(tmp_path / "bot.db")
    async with opened_store(source_url) as store:
        await fill(store)
    async with opened_store(postgres_db_url) as target:
        await target.add_binding(binding(900_000_000_000_000_042))
    with pytest.raises(CopyError, match=r"already holds data \(bindings: 1 row\)"):
        await copy_database(source_url, postgres_db_url)
    async with opened_store(postgres_db_url) as target:
        assert await count_rows(target, "bindings") == 1
        assert await count_rows(target, "audit_entries") == 0


async def test_an_older_target_holding_data_is_refused_before_it_is_migrated(tmp_path: Path) -> None:
    source_url = SQLITE_PREFIX + str(tmp_path / "bot.db")
    async with opened_store(source_url):
        pass
    target_url = SQLITE_PREFIX + str(tmp_path / "old.db")
    await asyncio.to_thread(migrate.upgrade, target_url, "0015")
    engine = create_engine(target_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    'INSERT INTO gaps (group_id, start, "end", reason, created_at, notified) '
                    "VALUES ('g', '2026-01-01', '2026-01-02', 'r', '2026-01-02', 0)"
                )
            )
    finally:
        await engine.dispose()
    with pytest.raises(CopyError, match=r"already holds data \(gaps: 1 row\)"):
        await copy_database(source_url, target_url)
    assert await asyncio.to_thread(migrate.current, target_url) == "0015"  # left as it was


async def test_a_copy_that_fails_midway_leaves_the_target_empty(tmp_path: Path, postgres_db_url: str) -> None:
    source_url = SQLITE_PREFIX + str(tmp_path / "bot.db")
    async with opened_store(source_url) as store:
        await fill(store)
        # A row PostgreSQL refuses (a NUL character in text) but SQLite kept: the copy fails late,
        # after other tables were written.
        await store.record_action(ActionIn(GUILD, 5, "ada\x00", GROUP, "member.kick"))
    with pytest.raises(Exception, match="0x00"):
        await copy_database(source_url, postgres_db_url)
    assert all(rows == [] for rows in (await every_row(postgres_db_url)).values())


@pytest.mark.parametrize("target", ["same", "same-spelled-otherwise"])
async def test_copying_a_database_onto_itself_is_refused(tmp_path: Path, target: str) -> None:
    source_url = SQLITE_PREFIX + str(tmp_path / "bot.db")
    async with opened_store(source_url):
        pass
    other = source_url if target == "same" else "sqlite:///" + str(tmp_path / "." / "bot.db")
    with pytest.raises(CopyError, match="the same database"):
        await copy_database(source_url, other)


async def test_a_source_behind_the_newest_schema_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "old.db"
    source.touch()  # a database never migrated
    target = tmp_path / "new.db"
    with pytest.raises(CopyError, match="groupbridge db upgrade"):
        await copy_database(SQLITE_PREFIX + str(source), SQLITE_PREFIX + str(target))
    assert not target.exists()


async def test_a_missing_source_is_refused_and_not_created(tmp_path: Path) -> None:
    source = tmp_path / "typo.db"
    with pytest.raises(CopyError, match="there is no database at"):
        await copy_database(SQLITE_PREFIX + str(source), SQLITE_PREFIX + str(tmp_path / "new.db"))
    assert not source.exists()


async def test_a_source_a_bot_still_runs_on_is_refused(tmp_path: Path, postgres_db_url: str) -> None:
    source_url = SQLITE_PREFIX + str(tmp_path / "bot.db")
    async with opened_store(source_url) as store:
        await fill(store)
        await store.acquire_leases(["group:" + GROUP], "host:1:abc", 30)
    with pytest.raises(CopyError, match=r"a bot process \(host:1:abc\) is running"):
        await copy_database(source_url, postgres_db_url)
    assert await asyncio.to_thread(migrate.current, postgres_db_url) is None  # not even migrated
