"""`groupbridge db copy --to URL`: the configured SQLite database into an empty PostgreSQL one, from
the command line, with the target's password kept out of everything printed."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.cli import main
from tests.fixtures.postgres import SQLITE_PREFIX, opened_store
from tests.store.helpers import GROUP, binding, count_rows, entries
from tests.test_config import DB_PASSWORD, VALID, write

pytestmark = pytest.mark.postgres
TARGET_PASSWORD = "copy-target-s3cret"


def config_on(tmp_path: Path, database: Path) -> Path:
    return write(
        tmp_path,
        VALID.replace(
            f"postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge", SQLITE_PREFIX + str(database)
        ),
    )


async def fill(database: Path) -> None:
    async with opened_store(SQLITE_PREFIX + str(database)) as store:
        await store.add_binding(binding(900_000_000_000_000_001))
        await store.ingest(GROUP, entries(range(1, 11)))


async def audit_rows(url: str) -> int:
    async with opened_store(url) as store:
        return await count_rows(store, "audit_entries")


def test_the_configured_database_is_copied_and_the_password_never_shown(
    tmp_path: Path, postgres_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "bot.db"
    asyncio.run(fill(database))
    # The throwaway cluster trusts every local connection, so any password gets in.
    target = make_url(postgres_db_url).set(password=TARGET_PASSWORD).render_as_string(hide_password=False)
    assert main(["db", "copy", "-c", str(config_on(tmp_path, database)), "--to", target]) == 0
    out, err = capsys.readouterr()
    assert "audit_entries: 10 rows" in out and "Copied 21 rows" in out and "Set database.url" in out
    assert TARGET_PASSWORD not in out + err
    assert asyncio.run(audit_rows(postgres_db_url)) == 10
    # Again into the same, no longer empty, target: refused, said why, nothing added.
    assert main(["db", "copy", "-c", str(config_on(tmp_path, database)), "--to", target]) == 1
    out, err = capsys.readouterr()
    assert "already holds data (audit_entries: 10 rows)" in err, err[-600:]
    assert TARGET_PASSWORD not in out + err
    assert asyncio.run(audit_rows(postgres_db_url)) == 10


@pytest.mark.parametrize(
    ("to", "said"),
    [
        ("mysql://user@host/db", "--to uses an unsupported database (mysql)"),
        ("not a url", "--to is not a database URL"),
    ],
)
def test_a_bad_target_url_is_refused_before_anything(
    tmp_path: Path, to: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "bot.db"
    assert main(["db", "upgrade", "-c", str(config_on(tmp_path, database))]) == 0
    assert main(["db", "copy", "-c", str(config_on(tmp_path, database)), "--to", to]) == 2
    assert said in capsys.readouterr().err
    with contextlib.closing(sqlite3.connect(database)) as conn:  # `with connect()` alone never closes it
        assert conn.execute("SELECT COUNT(*) FROM bindings").fetchone() == (0,)
