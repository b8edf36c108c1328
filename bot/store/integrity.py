"""Whether a SQLite database file is damaged, asked once before the bot starts.

A damaged file ("database disk image is malformed", "file is not a database") is not something a
restart can fix, and finding out half-way through a start costs a VRChat login every time a
supervisor tries again. `PRAGMA quick_check` reads every page of the file once (about a second per
few hundred MB) and finds damage anywhere in it, not only in the tables a start happens to read.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from bot.store.engine import normalise_url, sqlite_file

# SQLite's result codes for a file that is not (or no longer) a well-formed database. Anything else
# (locked, no permission, disk full) is left to the normal start, which reports it as it is.
_DAMAGE = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


@dataclass(frozen=True)
class Damage:
    path: Path
    error: str  # SQLite's own words, e.g. "database disk image is malformed"


def sqlite_damage(url: str | URL) -> Damage | None:
    """The damage SQLite finds in the database file of `url`, or None: also for PostgreSQL, in-memory
    SQLite, and a file that does not exist yet or is empty (a new database)."""
    database = sqlite_file(normalise_url(url))
    if database is None:
        return None
    path = database.resolve()
    try:
        if path.stat().st_size == 0:
            return None
        # mode=rw: a check must never create a database.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=10)
    except (OSError, sqlite3.Error):
        return None
    try:
        with contextlib.closing(conn):
            problems = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", None) in _DAMAGE:
            return Damage(path, str(exc))
        return None
    first = str(problems[0][0]) if problems else "ok"
    if first == "ok":
        return None
    # e.g. "*** in database main ***\nPage 4: btreeInitPage() returns error code 11": one line
    where = " ".join(line for line in first.splitlines() if not line.startswith("***"))
    return Damage(path, f"database disk image is malformed: {where or first}")
