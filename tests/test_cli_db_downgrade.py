"""`groupbridge db downgrade --to REV` from the command line: what it undoes is said first, data in
what stays is kept, every refusal changes nothing, and an older version meeting a newer database
says how to go back. On a real SQLite file; the PostgreSQL cases are marked `postgres`."""

from __future__ import annotations

import asyncio
import os
import pty
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.store import Store, migrate
from bot.store.engine import create_engine
from bot.store.process_lock import acquire_process_lock
from bot.store.rollback import RollbackError, plan_downgrade, run_plan
from tests.fixtures.postgres import SQLITE_PREFIX, migrated_store, opened_store
from tests.store.helpers import GROUP, GUILD, binding, entries
from tests.test_cli import clean_environment  # noqa: F401 - the commands' logging is reset after each test
from tests.test_cli_db_copy import config_on
from tests.test_config import DB_PASSWORD, VALID, write

HEAD = "0022"
HELD_BY = "host:1:abc"


@pytest.fixture(autouse=True)
def quiet_logging(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the test config's debug level: aiosqlite's thread logs each operation a moment after it
    returns, which could land after the test's captured stderr is closed."""
    request.getfixturevalue("clean_environment")  # first: it removes every GROUPBRIDGE_* variable
    monkeypatch.setenv("GROUPBRIDGE_LOGGING__LEVEL", "warning")


@dataclass(frozen=True)
class State:
    revision: str | None
    tables: frozenset[str]
    audit_entries: int


async def fill(store: Store, *, lease: bool = False) -> None:
    await store.add_binding(binding(900_000_000_000_000_001))
    await store.ingest(GROUP, entries(range(1, 11)))
    await store.open_history_pager(
        guild_id=GUILD,
        group_id=GROUP,
        user_id="usr_carol",
        opener_discord_id=7,
        cursors=[None],
        now=datetime.now(UTC),
    )
    if lease:
        await store.acquire_leases(["group:" + GROUP], HELD_BY, 30)


def state(url: str) -> State:
    """Read straight from the database, not through the code under test."""

    async def read() -> tuple[frozenset[str], int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                tables = await conn.run_sync(lambda sync: frozenset(inspect(sync).get_table_names()))
                audit = (await conn.execute(text("SELECT COUNT(*) FROM audit_entries"))).scalar_one()
        finally:
            await engine.dispose()
        return tables, int(audit)

    tables, audit = asyncio.run(read())
    return State(migrate.current(url), tables, audit)


@pytest.fixture
def filled(tmp_path: Path, migrated_sqlite: Path) -> Iterator[tuple[Path, str]]:
    """A SQLite database at the newest revision holding a binding, ten entries and a history pager,
    and the config file naming it."""
    database = tmp_path / "bot.db"

    async def make() -> None:
        async with migrated_store(SQLITE_PREFIX + str(database), migrated_sqlite) as store:
            await fill(store)

    asyncio.run(make())
    yield database, str(config_on(tmp_path, database))


def downgrade(config: str, to: str, *more: str) -> int:
    return main(["db", "downgrade", "--to", to, "-c", config, *more])


def test_down_to_0021_drops_the_history_pagers_keeps_the_rest_and_upgrade_brings_them_back(
    filled: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = filled
    url = SQLITE_PREFIX + str(database)
    assert downgrade(config, "0021", "--yes") == 0
    out = capsys.readouterr().out
    assert f"is at revision {HEAD}." in out
    assert "Rolling back to 0021 undoes, newest first:\n  0022  History pagers: the pages" in out
    assert "Prev / Next ▸ buttons (which carry only the row's id and a page number) keep working" in out
    assert 'Back up the database first (README, "Backups")' in out
    after = state(url)
    assert after.revision == "0021" and "history_pagers" not in after.tables
    assert after.audit_entries == 10 and "bindings" in after.tables
    assert main(["db", "upgrade", "-c", config]) == 0
    again = state(url)
    assert again.revision == HEAD and "history_pagers" in again.tables and again.audit_entries == 10


def test_down_to_base_says_it_drops_every_table(
    filled: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = filled
    assert downgrade(config, "base") == 2  # not on a terminal: shown, not done
    out, err = capsys.readouterr()
    assert "DROPS EVERY TABLE" in out and "  0001  " in out and out.index("  0022  ") < out.index("  0001  ")
    assert "--yes" in err
    after = state(SQLITE_PREFIX + str(database))
    assert after.revision == HEAD and "history_pagers" in after.tables and after.audit_entries == 10


@pytest.mark.parametrize(
    ("to", "code", "said"),
    [
        ("0099", 2, "there is no revision 0099: this GroupBridge knows 0001 to 0022 (or base)"),
        ("21", 2, "--to: must be a revision like 0021, or base, not '21'"),
        ("head", 2, "--to: must be a revision like 0021, or base, not 'head'"),
        (HEAD, 1, f"the database is already at revision {HEAD}"),
    ],
)
def test_a_bad_or_useless_target_is_refused_and_changes_nothing(
    filled: tuple[Path, str], to: str, code: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = filled
    before = state(SQLITE_PREFIX + str(database))
    assert downgrade(config, to, "--yes") == code
    assert said in capsys.readouterr().err
    assert state(SQLITE_PREFIX + str(database)) == before


def test_a_target_above_the_database_is_refused(
    filled: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = filled
    url = SQLITE_PREFIX + str(database)
    migrate.downgrade(url, "0020")
    assert downgrade(config, "0021", "--yes") == 1
    assert (
        "revision 0021 is above the database's (0020): `groupbridge db upgrade` goes up"
        in capsys.readouterr().err
    )
    assert state(url).revision == "0020" and state(url).audit_entries == 10


def test_no_database_or_no_schema_is_refused_and_nothing_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "bot.db"
    config = str(config_on(tmp_path, database))
    assert downgrade(config, "0021", "--yes") == 1
    assert f"there is no database at {database}" in capsys.readouterr().err
    assert not database.exists()
    with closing(sqlite3.connect(database)) as conn:
        conn.execute("CREATE TABLE notes_of_mine (x INTEGER)")
    assert downgrade(config, "0021", "--yes") == 1
    assert "the database has no GroupBridge schema" in capsys.readouterr().err
    with closing(sqlite3.connect(database)) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {"notes_of_mine"}


def test_a_running_bot_is_refused_by_its_leases_and_by_the_sqlite_lock(
    filled: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = filled
    url = SQLITE_PREFIX + str(database)
    lock = acquire_process_lock(url)  # what a running bot holds on SQLite
    assert lock is not None
    try:
        assert downgrade(config, "0021", "--yes") == 1
        assert "Cannot downgrade:" in (err := capsys.readouterr().err) and "Stop the bot first." in err
    finally:
        lock.release()

    async def hold_a_lease() -> None:
        async with opened_store(url) as store:
            await store.acquire_leases(["group:" + GROUP], HELD_BY, 30)

    asyncio.run(hold_a_lease())
    assert downgrade(config, "0021", "--yes") == 1
    assert f"a bot process ({HELD_BY}) is running on the database" in capsys.readouterr().err
    assert state(url).revision == HEAD and "history_pagers" in state(url).tables


async def test_a_bot_started_while_the_operator_was_asked_is_refused_still(filled: tuple[Path, str]) -> None:
    database, _ = filled
    url = SQLITE_PREFIX + str(database)
    plan = await plan_downgrade(url, "0021")
    store = await Store.open(url)
    try:
        await store.acquire_leases(["group:" + GROUP], HELD_BY, 30)
    finally:
        await store.close()
    with pytest.raises(RollbackError, match=r"a bot process \(host:1:abc\) is running"):
        await run_plan(url, plan)
    assert await asyncio.to_thread(migrate.current, url) == HEAD


def test_without_yes_and_without_a_terminal_nothing_is_done(
    filled: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = filled
    assert downgrade(config, "0021") == 2
    out, err = capsys.readouterr()
    assert "0022  History pagers" in out  # what it would do is still said
    assert "standard input is not a terminal" in err and "--yes" in err
    assert state(SQLITE_PREFIX + str(database)).revision == HEAD


@pytest.mark.slow  # a pseudo-terminal
@pytest.mark.parametrize(("typed", "code", "revision"), [("0021", 0, "0021"), ("yes", 1, HEAD)])
def test_at_a_terminal_the_revision_must_be_typed(
    filled: tuple[Path, str],
    typed: str,
    code: int,
    revision: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database, config = filled
    controller, terminal = pty.openpty()
    with (
        open(terminal, encoding="utf-8") as stdin,
        closing(os.fdopen(controller, "wb", buffering=0)) as keyboard,
    ):
        keyboard.write(f"{typed}\n".encode())
        monkeypatch.setattr("sys.stdin", stdin)
        assert downgrade(config, "0021") == code
    assert "Type 0021 to roll back" in capsys.readouterr().out
    assert state(SQLITE_PREFIX + str(database)).revision == revision


def test_an_older_version_on_a_newer_database_says_how_to_go_back(
    filled: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    database, config = filled
    with closing(sqlite3.connect(database)) as conn, conn:  # what a newer GroupBridge would have left
        conn.execute("UPDATE alembic_version SET version_num = '0023'")
    assert main(["db", "upgrade", "-c", config]) == 1
    err = capsys.readouterr().err
    assert (
        "the database is at revision 0023, which this GroupBridge does not know (its newest is 0022)" in err
    )
    assert "run `groupbridge db downgrade --to 0022` with it" in err
    assert downgrade(config, "0021", "--yes") == 1  # this version cannot undo what it does not know
    assert "run `groupbridge db downgrade --to 0022` with it" in capsys.readouterr().err
    after = state(SQLITE_PREFIX + str(database))
    assert after.revision == "0023" and "history_pagers" in after.tables and after.audit_entries == 10


@pytest.mark.slow  # the migrations run in a child process, as at the bot's start
def test_the_bot_starting_on_a_newer_database_says_how_to_go_back(filled: tuple[Path, str]) -> None:
    database, _ = filled
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0023'")

    async def start() -> None:
        store = await Store.open(SQLITE_PREFIX + str(database))
        try:
            await store.upgrade()
        finally:
            await store.close()

    with pytest.raises(Exception, match=r"run `groupbridge db downgrade --to 0022` with it"):
        asyncio.run(start())


@pytest.mark.slow  # twenty-two downgrades and as many upgrades
def test_step_by_step_down_to_0001_and_back_up(filled: tuple[Path, str]) -> None:
    database, config = filled
    url = SQLITE_PREFIX + str(database)
    revisions = [f"{n:04d}" for n in range(1, int(HEAD) + 1)]
    for target in reversed(revisions[:-1]):
        assert downgrade(config, target, "--yes") == 0, target
        assert state(url).revision == target
    assert state(url).audit_entries == 10  # audit_entries is 0001's
    assert main(["db", "upgrade", "-c", config]) == 0
    assert state(url).revision == HEAD and state(url).audit_entries == 10


# --- PostgreSQL ---------------------------------------------------------------------------------------

PG_PASSWORD = "downgrade-s3cret"


def pg_config(tmp_path: Path, url: str) -> str:
    with_password = make_url(url).set(password=PG_PASSWORD).render_as_string(hide_password=False)
    # The throwaway cluster trusts every local connection, so any password gets in.
    return str(
        write(
            tmp_path,
            VALID.replace(f"postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge", with_password),
        )
    )


async def filled_postgres(url: str, *, lease: bool = False) -> None:
    async with opened_store(url) as store:
        await fill(store, lease=lease)


@pytest.mark.postgres
def test_on_postgresql_it_works_and_the_password_is_never_shown(
    tmp_path: Path, postgres_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(filled_postgres(postgres_db_url))
    config = pg_config(tmp_path, postgres_db_url)
    assert downgrade(config, "0021", "--yes") == 0
    out, err = capsys.readouterr()
    assert "***" in out and PG_PASSWORD not in out + err
    after = state(postgres_db_url)
    assert after.revision == "0021" and "history_pagers" not in after.tables and after.audit_entries == 10
    assert downgrade(config, "0021", "--yes") == 1
    assert PG_PASSWORD not in "".join(capsys.readouterr())


@pytest.mark.postgres
def test_on_postgresql_a_bot_holding_leases_is_refused(
    tmp_path: Path, postgres_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(filled_postgres(postgres_db_url, lease=True))
    assert downgrade(pg_config(tmp_path, postgres_db_url), "0021", "--yes") == 1
    assert f"a bot process ({HELD_BY}) is running on the database" in capsys.readouterr().err
    assert state(postgres_db_url).revision == HEAD


@pytest.mark.postgres
def test_on_postgresql_a_step_that_fails_leaves_the_database_at_its_revision(
    tmp_path: Path, postgres_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(filled_postgres(postgres_db_url))

    async def add_a_report_view() -> None:
        # An operator's own view on the column 0021 added: PostgreSQL refuses to drop the column
        # under it, so undoing 0021 fails after 0022 was undone in the same transaction.
        engine = create_engine(postgres_db_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE VIEW claims AS SELECT claimed_by FROM request_cards"))
        finally:
            await engine.dispose()

    asyncio.run(add_a_report_view())
    assert downgrade(pg_config(tmp_path, postgres_db_url), "0020", "--yes") == 1
    out, err = capsys.readouterr()
    assert "The downgrade failed (" in err and f"the database is still at revision {HEAD}" in err
    assert PG_PASSWORD not in out + err
    after = state(postgres_db_url)
    assert after.revision == HEAD and "history_pagers" in after.tables and after.audit_entries == 10
