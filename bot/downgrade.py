"""`groupbridge db downgrade --to REV`: roll the schema back before an older GroupBridge is
installed. What is undone is said first; the operator agrees by typing REV at a terminal, or with
--yes. The checks themselves are bot.store.rollback's; this is the talking to the operator."""

from __future__ import annotations

import sys

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.app import lock_out_the_bot, refuse_damaged_database
from bot.config import Config
from bot.store.migrate import MigrationError
from bot.store.process_lock import ProcessLockError
from bot.store.rollback import BASE, DowngradePlan, RollbackError, UnknownRevision, plan_downgrade, run_plan
from bot.terminal import NoAnswer, Terminal

BACKUPS = 'README, "Backups"'


async def db_downgrade(config: Config, *, to: str, yes: bool = False) -> int:
    """`groupbridge db downgrade --to REV`: undo the migrations above REV, once the operator has
    seen which and agreed (typed REV, or gave --yes). Refusals change nothing."""
    if (refused := refuse_damaged_database(config)) is not None:
        return refused
    try:
        lock = lock_out_the_bot(config, "downgrade")  # held until the downgrade is done
    except ProcessLockError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        return await _downgrade_locked(config, to, yes=yes)
    finally:
        if lock is not None:
            lock.release()


async def _downgrade_locked(config: Config, to: str, *, yes: bool) -> int:
    try:
        plan = await plan_downgrade(config.database.url, to)
    except RollbackError as exc:
        return _refused(exc)
    _say_plan(config, plan)
    terminal = Terminal()
    if not yes:
        if not terminal.interactive:
            print(
                "Not downgrading: standard input is not a terminal, so nobody can confirm. Run it again "
                "with --yes to confirm. Nothing was changed.",
                file=sys.stderr,
            )
            return 2
        try:
            answer = await terminal.ask(f"Type {plan.target} to roll back, anything else to stop: ")
        except NoAnswer:
            answer = ""
        if answer.strip() != plan.target:
            print("Not downgrading. Nothing was changed.", file=sys.stderr)
            return 1
    try:
        await run_plan(config.database.url, plan)
    except RollbackError as exc:  # what the plan's checks find again just before
        return _refused(exc)
    except (MigrationError, SQLAlchemyError) as exc:
        reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]
        print(
            f"The downgrade failed ({reason}); the database is still at revision {plan.current}.",
            file=sys.stderr,
        )
        return 1
    print(f"The database is at revision {plan.target}. Now install the older GroupBridge version.")
    return 0


def _refused(exc: RollbackError) -> int:
    print(f"Cannot downgrade: {exc}. Nothing was changed.", file=sys.stderr)
    return 2 if isinstance(exc, UnknownRevision) else 1


def _say_plan(config: Config, plan: DowngradePlan) -> None:
    print(f"Database {config.database.masked_url} is at revision {plan.current}.")
    if plan.target == BASE:
        print("Rolling back to base undoes every migration and DROPS EVERY TABLE, with all the data:")
    else:
        print(f"Rolling back to {plan.target} undoes, newest first:")
    for migration in plan.undone:
        print(f"  {migration.revision}  {migration.summary}")
    print(
        "What those migrations added is deleted with them: the tables they made, with their rows, and "
        f"the columns they added, with their values. Back up the database first ({BACKUPS})."
    )
