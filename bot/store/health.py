"""Whether the database can take a write right now, for /bridge status.

With SQLite the bot's own queries only wait on a lock (busy_timeout) and fail seconds later, so a
status that used them would hang exactly when it is needed; a separate connection that tries to take
the write lock for PATIENCE seconds answers soon. Long enough that the bot's own busy moment (a
poll's ingest on a loaded machine) does not read as a locked database and hide the groups from the
status, short enough for a deferred reply. PostgreSQL is not probed: it has no file lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL

PATIENCE = 2.0  # seconds the probe waits for SQLite's write lock


async def write_problem(url: URL) -> str | None:
    """Why a write would fail now, or None."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return await asyncio.to_thread(_probe_sqlite, url.database)


def _probe_sqlite(path: str) -> str | None:
    try:
        # mode=rw: a probe must never create a missing database file.
        conn = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode=rw", uri=True, timeout=PATIENCE, isolation_level=None
        )
    except sqlite3.Error as exc:
        return f"cannot open the database file: {exc}"
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            # It may be this process's own long write (a big ingest, a purge) as well as another's.
            return (
                f"locked for more than {PATIENCE:g} seconds: writes wait and then fail, and each poll reads "
                "again what it could not store"
            )
        return f"cannot write: {exc}"
    finally:
        conn.close()
    return None
