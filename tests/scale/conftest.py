"""Several processes on one database: stores that share a hand-moved clock, one per "process"."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store
from tests.fixtures.postgres import copy_migrated

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

OpenStore = Callable[[], Awaitable[Store]]


class Clock:
    """The database-side clock of every store in a test: expiry is a step, never a wait."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def open_store(db_url: str, clock: Clock, migrated_sqlite: Path) -> AsyncIterator[OpenStore]:
    """Opens another Store (own engine and pool, as another process has) on the test's database,
    migrated once (SQLite: a copy of the session's migrated file); all are closed at the end."""
    opened: list[Store] = []
    migrated = copy_migrated(db_url, migrated_sqlite)

    async def opener() -> Store:
        store = await Store.open(db_url, clock=clock)
        if not opened and not migrated:
            await store.upgrade()
        opened.append(store)
        return store

    try:
        yield opener
    finally:
        for store in opened:
            await store.close()
