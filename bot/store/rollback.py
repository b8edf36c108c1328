"""Roll the schema back (`groupbridge db downgrade --to REV`): before an older GroupBridge is
installed, the database goes back to the newest revision that version knows.

`plan_downgrade` changes nothing: it says where the database is and which migrations would be undone,
or raises RollbackError for a target that is unknown, not below the current revision, a database
with no schema or one a bot still works on. `run_plan` then undoes them as `db upgrade` migrates, in
one transaction (bot.store.migrate): a step that fails leaves the database at its revision.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.engine import create_engine, normalise_url, sqlite_file
from bot.store.migrate import (
    alembic_config,
    current_revision_async,
    known_revisions,
    newer_database_text,
    run_downgrade,
)
from bot.store.models import LeaseRow
from bot.store.running_bot import STOP_EVERY_PROCESS, running_bot

BASE = "base"  # every table dropped


class RollbackError(RuntimeError):
    """Why nothing was rolled back, in a sentence for the operator."""


class UnknownRevision(RollbackError):
    """The target names no migration of this code: a usage error rather than a refusal."""


@dataclass(frozen=True, slots=True)
class UndoneMigration:
    revision: str
    summary: str  # the first paragraph of the migration's docstring, on one line


@dataclass(frozen=True, slots=True)
class DowngradePlan:
    current: str
    target: str
    undone: tuple[UndoneMigration, ...]  # newest first, the order they are undone in


def first_paragraph(doc: str) -> str:
    """A docstring's first paragraph on one line: its first line alone may stop mid-sentence."""
    return " ".join(doc.strip().split("\n\n", 1)[0].split())


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


async def plan_downgrade(url: str | URL, target: str) -> DowngradePlan:
    database = normalise_url(url)
    path = sqlite_file(database)
    # Empty: what the caller's process lock makes of a missing file (removed again on release).
    if path is not None and (not path.is_file() or path.stat().st_size == 0):
        raise RollbackError(f"there is no database at {path}")  # and none is made by asking
    engine = create_engine(database)
    try:
        return await _plan(engine, target)
    finally:
        await engine.dispose()


async def _plan(engine: AsyncEngine, target: str) -> DowngradePlan:
    known = known_revisions()
    if target != BASE and target not in known:
        raise UnknownRevision(
            f"there is no revision {target}: this GroupBridge knows {known[0]} to {known[-1]} (or {BASE})"
        )
    current = await current_revision_async(engine)
    if current is None:
        raise RollbackError("the database has no GroupBridge schema: there is nothing to roll back")
    if current not in known:
        raise RollbackError(newer_database_text(current, known[-1]))
    if target == current:
        raise RollbackError(f"the database is already at revision {current}")
    if target != BASE and known.index(target) > known.index(current):
        raise RollbackError(
            f"revision {target} is above the database's ({current}): `groupbridge db upgrade` goes up"
        )
    async with engine.connect() as conn:
        # Below 0004 there are no leases to ask; the SQLite process lock is then what a bot holds.
        has_leases = await conn.run_sync(lambda sync: inspect(sync).has_table(LeaseRow.__tablename__))
        if has_leases and (owner := await running_bot(conn)) is not None:
            raise RollbackError(f"a bot process ({owner}) is running on the database; {STOP_EVERY_PROCESS}")
    undone = tuple(
        UndoneMigration(script.revision, first_paragraph(script.doc or ""))
        for script in _scripts().iterate_revisions(current, target)
    )
    return DowngradePlan(current, target, undone)


async def run_plan(url: str | URL, plan: DowngradePlan) -> None:
    """Undo what `plan` says, after the same checks again: the operator may have been asked in
    between, long enough for a bot to start or another downgrade to run."""
    engine = create_engine(url)
    try:
        if await _plan(engine, plan.target) != plan:
            raise RollbackError(f"the database changed since it was at revision {plan.current}; run it again")
        await run_downgrade(engine, plan.target)
    finally:
        await engine.dispose()
