"""On PostgreSQL the wake bus (bot.store.wake_bus) carries a moved wake counter at once: a moderator's
command and a role-sync ask taken by the gateway reach the worker polling the group although its
relay's next read is an hour off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.activity import WakeRelay
from tests.fixtures.postgres import opened_store
from tests.services.test_wake_relay import Process, until
from tests.store.helpers import GROUP, binding

pytestmark = [pytest.mark.postgres]

NEVER = 3600.0  # the relay's read interval: only a wake makes it read


@asynccontextmanager
async def listening_process(url: str, watched: set[str]) -> AsyncIterator[Process]:
    async with opened_store(url) as store:
        started = Process(store, watched)
        started.relay = WakeRelay(started.activity, store, watched=lambda: started.watched, every=NEVER)
        await started.relay.start()
        await store.wake_bus.start()
        try:
            await until(lambda: store.wake_bus.listening, "listening")
            yield started
        finally:
            await started.relay.stop()


async def test_a_command_and_an_ask_reach_the_holder_without_its_read(postgres_db_url: str) -> None:
    async with (
        listening_process(postgres_db_url, watched={GROUP}) as worker,
        listening_process(postgres_db_url, watched=set()) as gateway,
    ):
        bound = await gateway.store.add_binding(binding(1))
        gateway.activity.touched(GROUP)
        await until(lambda: worker.heard == [GROUP], "the worker heard the command")
        await gateway.store.ask_role_sync(bound.id, GROUP, "usr_member")
        await until(lambda: worker.asked == [GROUP] * 2, "the ask told")  # the first: its first read
        assert gateway.heard == [GROUP] and gateway.asked == []
        assert worker.store.wake_bus.heard >= 2
