"""The process heartbeat on a real SQLite file: a process alone on its database (SQLite, behind the
process lock) writes no row to process_states, since no other process could read it and /bridge
status shows this process from its snapshot; one that shares its database rewrites its row."""

from __future__ import annotations

import asyncio

from bot.services.processes import ProcessReporter
from bot.store import Store
from bot.vrchat import VRChatClient
from tests.fixtures.statements import Sent, statements

ALONE, SHARING = "host-a:101:aaaaaa", "host-b:202:bbbbbb"
EVERY = 0.01  # seconds between heartbeats: a short run is many heartbeats


def row_writes(sent: list[Sent], owner: str) -> int:
    """process_states rows written (inserted or rewritten) for `owner`, as the database was asked to."""
    return sum(
        1
        for sql, parameters in sent
        if sql.lstrip().upper().startswith("INSERT INTO PROCESS_STATES") and owner in parameters
    )


def reporter(store: Store, vrchat: VRChatClient, owner: str, *, alone: bool) -> ProcessReporter:
    return ProcessReporter(store, vrchat, owner=owner, role="all", polled=tuple, alone=alone, every=EVERY)


async def test_a_process_alone_on_sqlite_writes_no_heartbeat(
    sqlite_store: Store, bot_vrchat: VRChatClient
) -> None:
    alone = reporter(sqlite_store, bot_vrchat, ALONE, alone=True)
    # The same reporter sharing its database, as on PostgreSQL: its beats mark how long the run was.
    sharing = reporter(sqlite_store, bot_vrchat, SHARING, alone=False)
    with statements(sqlite_store) as sent:
        await alone.start()
        await sharing.start()
        try:
            async with asyncio.timeout(30):
                while row_writes(sent, SHARING) < 5:  # noqa: ASYNC110 - the heartbeats run in their own tasks
                    await asyncio.sleep(EVERY)
            board = await alone.board(())
        finally:
            await sharing.stop()
            await alone.stop()

    assert row_writes(sent, ALONE) == 0
    assert [line.owner for line in board if line.this_process] == [ALONE]  # shown from its snapshot
