"""The Alembic migrations produce exactly the models' schema, and go down and up cleanly."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from bot.store import Store, migrate, schema_version
from bot.store.engine import create_engine
from bot.store.models import metadata
from tests.store.helpers import GROUP, binding, entries

TABLES = {
    "set_aside_entries",
    "action_log",
    "ban_prompts",
    "ban_settings",
    "audit_entries",
    "bindings",
    "discord_audit_marks",
    "discord_links",
    "instance_reports",
    "gaps",
    "group_cursors",
    "group_wakes",
    "history_pagers",
    "leases",
    "link_attempts",
    "link_codes",
    "moderator_notes",
    "moderator_alert_settings",
    "moderator_alerts",
    "outbox",
    "process_states",
    "request_cards",
    "request_rules",
    "role_mappings",
    "role_sync_asks",
    "role_sync_held",
    "role_sync_settings",
    "role_sync_writes",
    "rule_settings",
    "session_notices",
    "vrchat_calls",
    "watchlist",
}


def _diff(sync_conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "compare_server_default": True}
    )
    return compare_metadata(context, metadata)


def _tables(sync_conn: Connection) -> set[str]:
    return set(inspect(sync_conn).get_table_names())


async def test_models_and_migrations_agree(db_url: str) -> None:
    store = await Store.open(db_url)
    try:
        async with store.engine.connect() as conn:
            before = await conn.run_sync(_diff)
        # Sanity check that the comparison can see differences at all: on an empty database it
        # must report every table as missing.
        assert {d[1].name for d in before if d[0] == "add_table"} == TABLES

        await store.upgrade()
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()


@pytest.mark.slow  # every migration up, down and up again, in child processes
async def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    store = await Store.open(db_url)
    try:
        await store.upgrade()
        await store.add_binding(binding(1))
        await store.ingest(GROUP, entries(range(3)))
        async with store.engine.connect() as conn:
            assert _tables_of(await conn.run_sync(_tables)) == TABLES
        assert await migrate.current_revision_async(store.engine) == migrate.head_revision()

        await store.downgrade("base")  # with data in place, foreign keys and all
        async with store.engine.connect() as conn:
            assert _tables_of(await conn.run_sync(_tables)) == set()
        assert await migrate.current_revision_async(store.engine) is None

        await store.upgrade()
        async with store.engine.connect() as conn:
            assert _tables_of(await conn.run_sync(_tables)) == TABLES
            assert await conn.run_sync(_diff) == []
            assert (await conn.execute(text("SELECT COUNT(*) FROM audit_entries"))).scalar_one() == 0
        # The fresh schema is fully usable, foreign keys included.
        await store.add_binding(binding(1))
        result = await store.ingest(GROUP, entries(range(3)))
        assert result.queued == 3
    finally:
        await store.close()


def _tables_of(names: set[str]) -> set[str]:
    return names - {"alembic_version"}


def test_blocking_cli_functions(db_url: str) -> None:
    """What `groupbridge db upgrade/downgrade` calls: plain functions, each running its own loop."""
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head_revision()
    migrate.upgrade(db_url)  # idempotent
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None


def test_alembic_ini_and_env_own_engine(db_url: str) -> None:
    """The developer path: alembic.ini plus env.py opening its own engine from a URL."""
    cfg = Config(str(Path(__file__).resolve().parents[2] / "alembic.ini"))
    cfg.attributes["url"] = db_url
    cfg.attributes["configure_logger"] = False  # leave pytest's logging alone
    command.upgrade(cfg, "head")
    assert migrate.current(db_url) == migrate.head_revision()

    async def check() -> list[Any]:
        engine = create_engine(db_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_diff)
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == []
    command.downgrade(cfg, "base")
    assert migrate.current(db_url) is None


def test_offline_sql_generation(db_url: str) -> None:
    out = io.StringIO()
    cfg = migrate.alembic_config(url=db_url)
    cfg.output_buffer = out
    command.upgrade(cfg, "head", sql=True)
    sql = out.getvalue()
    assert "CREATE TABLE audit_entries" in sql
    assert "CREATE TABLE outbox" in sql
    assert "ON DELETE CASCADE" in sql


def test_a_failed_upgrade_leaves_no_new_database_behind(tmp_path: Path) -> None:
    """`groupbridge db upgrade` failing on a new SQLite file must not leave an empty file that would
    later pass for a database; a database that existed before stays."""
    database = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{database}"
    with pytest.raises(Exception, match="no-such-revision"):
        migrate.upgrade(url, "no-such-revision")
    assert list(tmp_path.iterdir()) == []
    migrate.upgrade(url)
    with pytest.raises(Exception, match="no-such-revision"):
        migrate.upgrade(url, "no-such-revision")
    assert migrate.current(url) == migrate.head_revision()


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert schema_version.head_from_files() == migrate.head_revision()


def test_no_single_head_in_the_files_leaves_the_decision_to_alembic(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    assert schema_version.head_from_files(tmp_path) is None  # no revisions
    (versions / "a.py").write_text('revision: str = "a"\ndown_revision: str | None = None\n')
    (versions / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert schema_version.head_from_files(tmp_path) == "b"
    (versions / "c.py").write_text('revision: str = "c"\ndown_revision: str | None = "a"\n')
    assert schema_version.head_from_files(tmp_path) is None  # two heads: b and c


@pytest.mark.slow  # a fresh interpreter, to see what it loads
@pytest.mark.parametrize("schema", ["new database", "database at head"])
def test_a_start_does_not_load_alembic(tmp_path: Path, schema: str) -> None:
    """A database at head is not migrated; a new one is, by a child process (bot.store.migrate_process),
    so the bot carries Alembic's ~12 MiB in neither case."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gb.sqlite3'}"
    if schema == "database at head":
        migrate.upgrade(url)
    script = (
        "import asyncio, sys\n"
        "from bot.store import Store\n"
        "async def main():\n"
        f"    store = await Store.open({url!r})\n"
        "    await store.upgrade()\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False"]
    assert migrate.current(url) == migrate.head_revision()
