"""The wake bus (bot.store.wake_bus) on a real PostgreSQL database shared by two Stores, as two
processes share it: a row one writes wakes the other at once, a listening connection that dies is
made again (polling delivering meanwhile), and the URL's password never reaches a log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store import Store
from bot.store.wake_bus import OUTBOX, WakeBus
from tests.fixtures.postgres import opened_store
from tests.fixtures.vrchat_accounts import BRAVO, TwoAccounts, open_pool
from tests.services.test_account_desk import holder_of_bravo
from tests.services.test_wake_relay import until
from tests.store.helpers import GROUP, binding, entries

pytestmark = [pytest.mark.postgres]

NEVER = 3600.0  # a poll interval no test waits out: only a wake can make the loop look
PASSWORD = "wake-bus-Secret-4711"  # the cluster trusts every login, so any password connects


@pytest.fixture
async def stores(postgres_db_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two Stores on one database: "here" and "there", as two processes would open them."""
    async with opened_store(postgres_db_url) as here, opened_store(postgres_db_url) as there:
        yield here, there


class Heard:
    """A wake-bus listener that keeps the keys it was told."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []

    def __call__(self, key: str | None) -> None:
        self.keys.append(key)

    async def until(self, check: Callable[[list[str | None]], bool], what: str) -> None:
        await until(lambda: check(self.keys), what)


async def connected(bus: WakeBus, connections: int = 1) -> None:
    await until(lambda: bus.listening and bus.connections >= connections, f"connection {connections}")


async def terminate(store: Store, pid: int) -> None:
    async with store.engine.connect() as connection:
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_rows_queued_by_one_process_wake_the_other(stores: tuple[Store, Store]) -> None:
    here, there = stores
    heard = Heard()
    here.wake_bus.subscribe(OUTBOX, heard)
    await here.wake_bus.start()
    await heard.until(lambda keys: None in keys, "connected")  # (re)connected: "look now"
    await there.add_binding(binding(501))
    await there.add_binding(binding(502))

    await there.ingest(GROUP, entries(range(1, 4)))

    await heard.until(lambda keys: {"501", "502"} <= set(keys), "both channels")
    assert heard.keys == [None, "501", "502"]  # one notice per channel, not per row
    assert here.wake_bus.heard == 2
    await there.ingest(GROUP, entries(range(1, 4)))  # nothing new, nothing queued: no notice
    await there.ingest(GROUP, entries([4]), enqueue=False)
    await there.ingest(GROUP, entries([5]))
    await heard.until(lambda keys: len(keys) == 5, "the second ingest")
    assert heard.keys[3:] == ["501", "502"]


async def test_a_call_handed_over_by_another_process_wakes_an_idle_holder(
    stores: tuple[Store, Store], two: TwoAccounts, tmp_path: Path
) -> None:
    """The holder's next look is an hour off: only the notice of the call, written by a Store of
    its own (no desk in this process's memory rings), makes it take the call."""
    here, there = stores
    pool = await open_pool(two, tmp_path)
    holder = await holder_of_bravo(there, pool, take_every=NEVER, take_idle_cap=NEVER)
    await holder.start()
    await there.wake_bus.start()
    try:
        await connected(there.wake_bus)
        call = await here.request_vrchat_call(BRAVO, "get_group", f'{{"group_id": "{two.only_b.id}"}}')
        await until(lambda: _done(here, call), "the call done")
        done = await here.vrchat_call(call)
        assert done is not None
        assert done.taken_by == "there" and two.only_b.id in (done.outcome or "")
        assert holder.served == 1
    finally:
        await holder.stop()
        await pool.close()


async def test_a_dropped_listener_is_made_again_and_polling_delivers_meanwhile(
    stores: tuple[Store, Store],
) -> None:
    here, there = stores
    here.wake_bus = WakeBus(here.engine, retry_after=0.05, retry_cap=0.05)
    heard = Heard()
    here.wake_bus.subscribe(OUTBOX, heard)
    await here.wake_bus.start()
    await connected(here.wake_bus)
    await there.add_binding(binding(501))
    first = here.wake_bus.backend_pid
    assert first is not None

    await terminate(there, first)
    # Queued while nobody may be listening: the poll finds it whatever the bus heard.
    await there.ingest(GROUP, entries([1]))
    assert await here.pending_channels() == [501]

    await connected(here.wake_bus, connections=2)
    assert here.wake_bus.backend_pid not in (None, first)
    await heard.until(
        lambda keys: keys.count(None) == 2, "the look after reconnecting"
    )  # told to look after reconnecting
    before = here.wake_bus.heard
    await there.ingest(GROUP, entries([2]))
    await heard.until(lambda keys: keys[-1] == "501", "the notice after reconnecting")
    assert here.wake_bus.heard == before + 1


async def test_a_stopped_bus_hears_nothing_and_sqlite_has_none(
    stores: tuple[Store, Store], sqlite_store: Store
) -> None:
    here, there = stores
    await there.add_binding(binding(501))
    await here.wake_bus.start()
    await connected(here.wake_bus)
    await here.wake_bus.stop()
    assert not here.wake_bus.listening
    await there.ingest(GROUP, entries([1]))  # a notice nobody listens to is simply lost
    assert await here.pending_channels() == [501]

    await sqlite_store.wake_bus.start()
    assert not sqlite_store.wake_bus.enabled and not sqlite_store.wake_bus.listening
    await sqlite_store.add_binding(binding(501))
    await sqlite_store.ingest(GROUP, entries([1]))  # announce() sends nothing to SQLite
    assert await sqlite_store.pending_channels() == [501]


async def test_the_password_never_reaches_the_log(
    postgres_db_url: str, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = make_url(postgres_db_url).set(password=PASSWORD)
    async with opened_store(url.render_as_string(hide_password=False)) as store:
        store.wake_bus = WakeBus(store.engine, retry_after=0.05, retry_cap=0.05)
        await store.wake_bus.start()
        await connected(store.wake_bus)
        pid = store.wake_bus.backend_pid
        assert pid is not None
        await terminate(store, pid)
        await connected(store.wake_bus, connections=2)
    away = Store(url.set(port=unused_tcp_port))  # nothing listens there
    away.wake_bus = WakeBus(away.engine, retry_after=0.05, retry_cap=0.05)
    await away.wake_bus.start()
    try:  # the dropped connection is told, then the refused one
        await until(lambda: caplog.text.count("Not listening") >= 2, "both failures logged")
    finally:
        await away.close()
    assert "Listening for other processes' wakes again." in caplog.text
    assert PASSWORD not in caplog.text


async def _done(store: Store, call: int) -> bool:
    found = await store.vrchat_call(call)
    return found is not None and found.state == "done"
