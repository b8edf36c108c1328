"""Run the Alembic migrations programmatically (the app at startup, `groupbridge db ...`, tests).

Nothing here depends on the current directory: script_location is resolved from this file, and the
database is handed to migrations/env.py through ``Config.attributes`` (a live connection, or a URL).

The migrations live in `migrations/` at the top of the source tree (where `alembic -c alembic.ini`
and the revisions' authors expect them); `bot/store/migrations` is a link to that folder, so that the
package finds them in a checkout and a wheel carries them as package data (pyproject.toml).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.engine import create_engine, normalise_url, sqlite_file, sqlite_sidecars
from bot.store.migrate_process import URL_VARIABLE
from bot.store.schema_version import MIGRATIONS_DIR

R = TypeVar("R")


class MigrationError(RuntimeError):
    pass


def alembic_config(*, connection: Connection | None = None, url: str | URL | None = None) -> Config:
    """An Alembic Config that finds migrations/ from any working directory, without alembic.ini."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise MigrationError(
            f"migrations not found at {MIGRATIONS_DIR}: this installation of groupbridge is incomplete; "
            "reinstall it"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    if url is not None:
        # Via attributes, not set_main_option: ConfigParser would choke on '%' in URL-encoded passwords.
        cfg.attributes["url"] = url
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("no migration revisions found")
    return head


def _set_sqlite_foreign_keys(conn: Connection, enabled: bool) -> None:
    # Must go straight to the driver: through SQLAlchemy it would auto-begin a transaction, and
    # SQLite ignores PRAGMA foreign_keys inside one.
    driver = conn.connection.dbapi_connection
    if driver is None:  # only after the connection was invalidated, which nothing here does
        raise MigrationError("the database connection was closed while migrating")
    cursor = driver.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    finally:
        cursor.close()


def _migrate_sync(conn: Connection, step: Callable[[Config], None]) -> None:
    """Run one alembic command on `conn` inside a single transaction.

    SQLite: foreign keys are switched off for the duration, because batch migrations copy and drop
    tables, and dropping a parent table would fire ON DELETE CASCADE on its children. The result
    is checked with PRAGMA foreign_key_check before committing instead.
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        _set_sqlite_foreign_keys(conn, False)
    try:
        with conn.begin():
            step(alembic_config(connection=conn))
            if sqlite:
                problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise MigrationError(f"migration left dangling foreign keys: {problems[:5]!r}")
    finally:
        if sqlite:
            _set_sqlite_foreign_keys(conn, True)


def known_revisions(cfg: Config | None = None) -> list[str]:
    """Every revision this code has a migration for, oldest first."""
    scripts = ScriptDirectory.from_config(cfg or alembic_config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def newer_database_text(current: str, head: str) -> str:
    """What an older GroupBridge says of a database a newer one migrated."""
    return (
        f"the database is at revision {current}, which this GroupBridge does not know (its newest is "
        f"{head}): a newer version upgraded it. Install that version again, run `groupbridge db "
        f"downgrade --to {head}` with it, then install this one"
    )


def _refuse_newer_database(cfg: Config) -> None:
    """Alembic alone would say only "Can't locate revision": the operator installed an older version
    over a database a newer one migrated, and needs to hear how to go back."""
    connection: Connection = cfg.attributes["connection"]
    current = MigrationContext.configure(connection).get_current_revision()
    known = known_revisions(cfg)
    if current is not None and current not in known:
        raise MigrationError(newer_database_text(current, known[-1]))


def _upgrade(cfg: Config, revision: str) -> None:
    _refuse_newer_database(cfg)
    command.upgrade(cfg, revision)


async def run_upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.connect() as conn:
        await conn.run_sync(_migrate_sync, lambda cfg: _upgrade(cfg, revision))


async def run_downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.connect() as conn:
        await conn.run_sync(_migrate_sync, lambda cfg: command.downgrade(cfg, revision))


async def current_revision_async(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def _with_engine(url: str | URL, action: Callable[[AsyncEngine], Awaitable[R]]) -> R:
    async def runner() -> R:
        engine = create_engine(url)
        try:
            return await action(engine)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Blocking: bring the database at `url` up to `revision`. Not callable from inside an event loop.

    A SQLite database this call creates is removed again when the upgrade fails: a failed first
    `groupbridge db upgrade` leaves no empty file that would later pass for a database.
    """
    alembic_config()  # no migrations, no database: fail before creating anything
    database = sqlite_file(normalise_url(url))
    existed = database is None or database.exists()
    try:
        _with_engine(url, lambda engine: run_upgrade(engine, revision))
    except BaseException:
        if not existed and database is not None:
            for path in (database, *sqlite_sidecars(database)):
                path.unlink(missing_ok=True)
        raise


def downgrade(url: str | URL, revision: str) -> None:
    """Blocking: downgrade the database at `url` to `revision` ('base' drops everything)."""
    _with_engine(url, lambda engine: run_downgrade(engine, revision))


def current(url: str | URL) -> str | None:
    """Blocking: the revision the database is at, None for a database never migrated."""
    return _with_engine(url, current_revision_async)


def main(argv: list[str]) -> int:
    """`python -m bot.store.migrate [REVISION]`: upgrade the database named by the environment
    (bot.store.migrate_process), saying each step and any failure in one line on stderr."""
    logging.basicConfig(stream=sys.stderr, format="%(message)s", level=logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
    url = os.environ.get(URL_VARIABLE)
    if not url:
        print(f"{URL_VARIABLE} is not set: there is no database to migrate", file=sys.stderr)
        return 2
    try:
        upgrade(url, argv[0] if argv else "head")
    except Exception as exc:  # any: the parent turns this one line into its error
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
