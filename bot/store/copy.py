"""Copy the whole database into another, empty one: how a deployment moves from SQLite to PostgreSQL
(`groupbridge db copy --to URL`), or back.

The source is read in one transaction, so the copy is one moment's state. The target is brought to
the newest schema by the migrations, must hold no rows, and is written in one transaction: a copy
that fails leaves it empty. Rows keep their ids, as other rows, the cards' nonces and the outbox
refer to them; PostgreSQL's id sequences are then moved past the copied ids (SQLite moves its own).
A source that a bot process still holds leases on is refused; on SQLite, the caller also takes the
process lock (bot.app.db_copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Table, func, inspect, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.engine import create_engine, normalise_url, sqlite_file, sqlite_location_problem
from bot.store.migrate import run_upgrade
from bot.store.models import metadata
from bot.store.running_bot import STOP_EVERY_PROCESS, running_bot
from bot.store.schema_version import at_head

BATCH = 1000  # rows read and written at a time: the audit log may hold millions


class CopyError(RuntimeError):
    """Why nothing was copied, in a sentence for the operator."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    rows: Mapping[str, int]  # table -> rows copied, in the order they were copied

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def rows_text(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def same_database(a: URL, b: URL) -> bool:
    a_file, b_file = sqlite_file(a), sqlite_file(b)
    if a_file is not None or b_file is not None:
        return a_file is not None and b_file is not None and a_file.resolve() == b_file.resolve()
    return (a.host, a.port, a.database) == (b.host, b.port, b.database)


async def copy_database(source_url: str | URL, target_url: str | URL, *, batch: int = BATCH) -> CopyReport:
    """Copy every table of the source into the empty target; CopyError says why not."""
    source_at, target_at = normalise_url(source_url), normalise_url(target_url)
    if same_database(source_at, target_at):
        raise CopyError("the source and the target are the same database")
    source_file = sqlite_file(source_at)
    if source_file is not None and not source_file.is_file():
        raise CopyError(f"there is no database at {source_file}")  # and none is made by asking
    if (problem := sqlite_location_problem(target_at)) is not None:
        raise CopyError(problem)
    source = create_engine(source_at)
    try:
        if not await at_head(source):
            raise CopyError(
                "the source database is not at the newest schema: run `groupbridge db upgrade` first"
            )
        async with source.connect() as read:  # before the target is touched; again in the snapshot
            await _refuse_running_bot(read)
        return await _copy_into(source, target_at, batch)
    finally:
        await source.dispose()


async def _copy_into(source: AsyncEngine, target_at: URL, batch: int) -> CopyReport:
    target = create_engine(target_at)
    try:
        await _refuse_used_target(target)  # before the migrations touch it: a refusal changes nothing
        await run_upgrade(target)
        async with target.begin() as out:
            await _refuse_rows(out, metadata.sorted_tables)
            rows = await _copy_tables(source, out, batch)
            if target_at.get_backend_name() == "postgresql":
                await _move_sequences(out)
        return CopyReport(rows)
    finally:
        await target.dispose()


async def _refuse_used_target(target: AsyncEngine) -> None:
    """Another application's tables (migrating would mix the two), or rows in GroupBridge's own."""
    async with target.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        foreign = sorted(names - set(metadata.tables) - {"alembic_version"})
        if foreign:
            raise CopyError(
                f"the target database holds tables that are not GroupBridge's ({', '.join(foreign[:5])}); "
                "copy into a new, empty database"
            )
        await _refuse_rows(conn, [t for t in metadata.sorted_tables if t.name in names])


async def _refuse_rows(out: AsyncConnection, tables: Iterable[Table]) -> None:
    for table in tables:
        held = (await out.execute(select(func.count()).select_from(table))).scalar_one()
        if held:
            raise CopyError(
                f"the target database already holds data ({table.name}: {rows_text(held)}); copy into a new, "
                "empty database"
            )


async def _copy_tables(source: AsyncEngine, out: AsyncConnection, batch: int) -> dict[str, int]:
    rows: dict[str, int] = {}
    async with source.connect() as read:
        if source.dialect.name == "postgresql":
            # One snapshot for every table: rows referring to each other arrive together.
            await read.execution_options(isolation_level="REPEATABLE READ")
        async with read.begin():
            await _refuse_running_bot(read)
            for table in metadata.sorted_tables:  # parents before the rows that refer to them
                rows[table.name] = await _copy_table(read, out, table, batch)
    return rows


async def _refuse_running_bot(read: AsyncConnection) -> None:
    """A process that still holds a lease may write after the snapshot: its rows would be lost."""
    if (owner := await running_bot(read)) is not None:
        raise CopyError(
            f"a bot process ({owner}) is running on the source database; {STOP_EVERY_PROCESS}, then copy"
        )


async def _copy_table(read: AsyncConnection, out: AsyncConnection, table: Table, batch: int) -> int:
    copied = 0
    result = await read.stream(select(table).order_by(*table.primary_key.columns))
    async for chunk in result.partitions(batch):
        await out.execute(table.insert(), [{c.key: row._mapping[c] for c in table.columns} for row in chunk])
        copied += len(chunk)
    return copied


async def _move_sequences(out: AsyncConnection) -> None:
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        following = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        await out.execute(select(func.setval(sequence, following, False)))
