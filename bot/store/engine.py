"""Engine construction: the one place that knows about SQLite quirks."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_POOL_SIZE = 2


class _UnlockingConnection(sqlite3.Connection):
    """A sqlite3 connection that ends its transaction when it is closed, whatever is still open on it.

    A task cancelled mid-statement (a stopped poller, a lease renewal cut short by stop()) makes
    SQLAlchemy close its connection as it stands, with no ROLLBACK: it cannot tell how far the
    statement got. sqlite3 closes with sqlite3_close_v2, which keeps a connection that still has a
    statement open (the cancelled query's cursor, held by the CancelledError's traceback) alive as a
    "zombie" until that statement is freed, its transaction and so the one write lock included. Every
    other connection then failed with "database is locked" until the garbage collector came by.
    close() runs in aiosqlite's thread, so only once the interrupted statement has finished.
    """

    def close(self) -> None:
        try:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed already: nothing left to end
                if self.in_transaction:  # a read holds the write lock too (BEGIN IMMEDIATE below)
                    self.rollback()  # aborts the open statements and releases the lock
        finally:
            super().close()


def normalise_url(url: str | URL) -> URL:
    """Accept the plain scheme names people write in config files and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def sqlite_location_problem(url: URL) -> str | None:
    """Why a file-based SQLite URL cannot work, or None. sqlite3 itself only says 'unable to open'."""
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url):
        return None
    folder = Path(url.database or "").expanduser().resolve().parent
    if not folder.is_dir():
        return f"directory for the SQLite database does not exist: {folder}"
    return None


def sqlite_file(url: URL) -> Path | None:
    """The database file of a file-based SQLite URL (as given, not resolved); None otherwise."""
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url):
        return None
    return Path(url.database or "").expanduser()


def sqlite_sidecars(database: Path) -> list[Path]:
    """The files SQLite keeps beside a database: its WAL, shared-memory index and rollback journal."""
    return [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def create_private_file(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; True if this call created it.

    SQLite would create a database with 0644 minus the umask, readable by every local user outside
    systemd's UMask=0077. Its WAL, shared-memory and journal files copy the database file's mode, so
    a database created here keeps all of them private. A missing folder is left for the caller (or
    SQLite) to report.
    """
    with contextlib.suppress(FileExistsError, FileNotFoundError, NotADirectoryError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        return True
    return False


def create_engine(url: str | URL, *, foreign_keys: bool = True, echo: bool = False) -> AsyncEngine:
    """Create the AsyncEngine for a store URL.

    foreign_keys=False is only for migrations on SQLite: a batch migration recreates tables, and
    dropping the old copy of a table with ON DELETE CASCADE children would delete those children.
    """
    parsed = normalise_url(url)
    database = sqlite_file(parsed)
    if database is not None:
        create_private_file(database)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"factory": _UnlockingConnection}
    if parsed.get_backend_name() == "sqlite" and is_memory_sqlite(parsed):
        # Every pooled connection to ':memory:' would otherwise be its own empty database.
        kwargs["poolclass"] = StaticPool
    elif parsed.get_backend_name() == "sqlite":
        # Every transaction takes SQLite's one write lock (BEGIN IMMEDIATE below), so more connections
        # buy no concurrency; each is a thread of aiosqlite's and a page cache of its own. SQLAlchemy's
        # default (5 + 10 overflow) let 50 polling groups open 15 of them: 18 threads, ~20 MiB more.
        kwargs["pool_size"] = SQLITE_POOL_SIZE
        kwargs["max_overflow"] = 0
    if parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _install_sqlite_hooks(engine, foreign_keys=foreign_keys, wal=not is_memory_sqlite(parsed))
    return engine


def _install_sqlite_hooks(engine: AsyncEngine, *, foreign_keys: bool, wal: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: it only BEGINs before DML, so a
        # read-then-write "transaction" (ingest reads the cursor, then writes) was not atomic.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                # WAL lets the feed sender read while the poller writes.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then writes
        # fails with SQLITE_BUSY (not retried by busy_timeout) if another connection wrote meanwhile.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
