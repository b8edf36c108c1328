"""Connection setup (SQLite pragmas, URL handling) and concurrent use of one Store."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.store import Store, StoreError
from bot.store.engine import SQLITE_POOL_SIZE, create_engine, normalise_url
from tests.store.helpers import GROUP, binding, count_rows, entries


def test_normalise_url() -> None:
    assert normalise_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert normalise_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"


async def test_every_sqlite_connection_gets_the_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        async with AsyncExitStack() as stack:
            # Every connection the pool allows open at once, so they cannot all be the same one.
            conns = [await stack.enter_async_context(engine.connect()) for _ in range(SQLITE_POOL_SIZE)]
            for conn in conns:
                assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
                assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
                assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 10_000
                await conn.rollback()
    finally:
        await engine.dispose()


async def test_a_sqlite_file_is_served_by_a_few_connections_however_many_tasks_ask(tmp_path: Path) -> None:
    """Each SQLite connection is an aiosqlite thread and a page cache; the write lock lets one work at
    a time anyway, so twenty tasks at once share the pool's few instead of opening twenty."""
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(engine.sync_engine, "connect", count)
    try:

        async def one_read() -> int:
            async with engine.connect() as conn:
                await asyncio.sleep(0.01)  # held a moment, so the tasks overlap
                return int((await conn.execute(text("SELECT 1"))).scalar_one())

        assert await asyncio.gather(*(one_read() for _ in range(20))) == [1] * 20
        assert opened == SQLITE_POOL_SIZE
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_store_works() -> None:
    store = await Store.open("sqlite://")
    try:
        await store.upgrade()
        await store.add_binding(binding(1))
        result = await store.ingest(GROUP, entries(range(3)))
        assert result.queued == 3
        assert len(await store.pending_for_channel(1)) == 3
    finally:
        await store.close()


async def test_open_names_a_missing_sqlite_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing-dir"):
        await Store.open(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")


async def test_concurrent_overlapping_ingests(store: Store) -> None:
    """Four pollers racing on overlapping batches: no error, no duplicate entry or outbox row."""
    await store.add_binding(binding(1))
    batches = [entries(range(start, start + 300)) for start in (0, 100, 200, 0)]
    results = await asyncio.gather(*(store.ingest(GROUP, b) for b in batches))
    new_ids = [i for r in results for i in r.new_ids]
    assert len(new_ids) == len(set(new_ids)) == 500
    assert sum(r.queued for r in results) == 500
    assert await count_rows(store, "audit_entries") == 500
    assert await count_rows(store, "outbox") == 500


@pytest.mark.parametrize(
    "statement",
    ["SELECT hold()", "INSERT INTO t (x) VALUES (hold()) RETURNING x"],
    ids=["reading", "writing"],
)
async def test_a_task_cancelled_mid_statement_leaves_sqlites_write_lock_free(
    tmp_path: Path, statement: str
) -> None:
    """A stopped poller or lease renewal is a task cancelled wherever it is, often inside a
    transaction (each holds the write lock: BEGIN IMMEDIATE). SQLAlchemy then closes that connection
    without a ROLLBACK; a statement still open on it (the cancelled query's cursor, kept by the
    CancelledError's traceback) used to keep the connection, its transaction and the write lock alive
    until the garbage collector came by, and every other writer failed with "database is locked"."""
    path = tmp_path / "p.db"
    engine = create_engine(f"sqlite:///{path}")
    in_statement, finish = threading.Event(), threading.Event()

    def hold() -> int:  # runs in aiosqlite's thread: the statement is under way until finish is set
        in_statement.set()
        finish.wait(timeout=30)
        return 1

    @event.listens_for(engine.sync_engine, "connect")
    def add_hold(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.create_function("hold", 0, hold)

    async def one_transaction() -> None:
        async with engine.begin() as conn:
            await conn.execute(text(statement))

    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        task = asyncio.create_task(one_transaction())
        await asyncio.to_thread(in_statement.wait, 30)
        task.cancel()
        finish.set()
        with pytest.raises(asyncio.CancelledError) as cancelled:
            await task
        another_process = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            another_process.execute("BEGIN IMMEDIATE")  # "database is locked" at once if still held
            another_process.execute("INSERT INTO t (x) VALUES (2)")
            another_process.execute("COMMIT")
        finally:
            another_process.close()
        assert cancelled.value is not None  # kept to the end, as a log record or a task may keep it
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT x FROM t"))).scalars().all() == [2]
    finally:
        finish.set()
        await engine.dispose()
