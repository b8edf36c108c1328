"""Whether the database is already at the newest schema, without loading Alembic.

Alembic (with Mako and Pygments) is about 12 MiB of a process's memory and is needed only when
there is something to migrate; every start asks this first. The head is read from the revision
files themselves (each names its `revision` and `down_revision`); tests check it against Alembic's.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"^revision(?:\s*:\s*[\w\[\] |]+)?\s*=\s*[\"'](\w+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:\s*:\s*[\w\[\] |]+)?\s*=\s*(?:[\"'](\w+)[\"']|None)", re.MULTILINE)


def head_from_files(directory: Path = MIGRATIONS_DIR) -> str | None:
    """The one revision no other revision names as its parent; None when that is not exactly one
    (no revisions, several heads, an unreadable file): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (directory / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def at_head(engine: AsyncEngine) -> bool:
    head = head_from_files()
    if head is None:
        return False
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except DBAPIError:  # no alembic_version table: a new database
        return False
    return list(versions) == [head]
