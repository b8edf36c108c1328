"""The process heartbeat on a real SQLite file: a process alone on its database (SQLite, behind the
process lock) writes no row to process_states, since no other process could read it and /bridge
status shows this process from its snapshot; one that shares its database rewrites its row."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot.services.processes import ProcessReporter
from bot.store import Store
from bot.vrchat import VRChatClient

ALONE, SHARING = "host-a:101:aaaaaa", "host-b:202:bbbbbb"
EVERY = 0.01  # seconds between heartbeats: a short run is many heartbeats


@contextmanager
def row_writes(store: Store) -> Iterator[Counter[str]]:
    """process_states rows written (inserted or rewritten) per owner, as the database is asked to."""
    writes: Counter[str] = Counter()

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PROCESS_STATES"):
            writes.update(owner for owner in (ALONE, SHARING) if owner in parameters)

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def reporter(store: Store, vrchat: VRChatClient, owner: str, *, alone: bool) -> ProcessReporter:
    return ProcessReporter(store, vrchat, owner=owner, role="all", polled=tuple, alone=alone, every=EVERY)


async def test_a_process_alone_on_sqlite_writes_no_heartbeat(
    sqlite_store: Store, bot_vrchat: VRChatClient
) -> None:
    alone = reporter(sqlite_store, bot_vrchat, ALONE, alone=True)
    # The same reporter sharing its database, as on PostgreSQL: its beats mark how long the run was.
    sharing = reporter(sqlite_store, bot_vrchat, SHARING, alone=False)
    with row_writes(sqlite_store) as writes:
        await alone.start()
        await sharing.start()
        try:
            async with asyncio.timeout(30):
                while writes[SHARING] < 5:  # noqa: ASYNC110 - the heartbeats run in their own tasks
                    await asyncio.sleep(EVERY)
            board = await alone.board(())
        finally:
            await sharing.stop()
            await alone.stop()

    assert writes[ALONE] == 0
    assert [line.owner for line in board if line.this_process] == [ALONE]  # shown from its snapshot
