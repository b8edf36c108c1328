"""A moderator's command taken in one process reaches the process that polls the group (bot.activity's
WakeRelay over bot.store.wakes), on SQLite and PostgreSQL: the poller's process hears it once, a
process not polling the group hears nothing, and the process where it was done is not told twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from bot.activity import GroupActivity, WakeRelay
from bot.config import Config
from bot.services.registry import Services
from bot.store import Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import MAYA
from tests.store.helpers import GROUP, binding

FAST = 0.02  # seconds between reads: the test waits for what it expects, never for this


class Process:
    """One bot process's hub and relay, with its own connection to the database."""

    def __init__(self, store: Store, watched: set[str]) -> None:
        self.store = store
        self.heard: list[str] = []
        self.asked: list[str] = []  # work another process asked of this one (a role-sync ask)
        self.activity = GroupActivity()
        self.activity.subscribe(self.heard.append)
        self.activity.subscribe_asked(self.asked.append)
        self.watched = watched
        self.relay = WakeRelay(self.activity, store, watched=lambda: self.watched, every=FAST)


@asynccontextmanager
async def process(url: str, watched: set[str]) -> AsyncIterator[Process]:
    store = await Store.open(url)
    started = Process(store, watched)
    await started.relay.start()  # reads the counters first: what came before is in the first poll
    try:
        yield started
    finally:
        await started.relay.stop()
        await store.close()


async def until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while not await _value(check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within 10 s: {what}")
        await asyncio.sleep(0.01)


async def _value(result: bool | Awaitable[bool]) -> bool:
    return await result if isinstance(result, Awaitable) else result


def url_of(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


async def test_a_command_in_one_process_wakes_the_poller_in_another(store: Store) -> None:
    async with (
        process(url_of(store), watched=set()) as gateway,
        process(url_of(store), watched={"grp_polled"}) as worker,
        process(url_of(store), watched={"grp_elsewhere"}) as bystander,
    ):
        gateway.activity.touched("grp_polled")
        await until(lambda: worker.heard == ["grp_polled"], "the worker polling the group heard it")
        gateway.activity.touched("grp_polled")
        await until(lambda: worker.heard == ["grp_polled"] * 2, "and the next command too")
        assert gateway.heard == ["grp_polled"] * 2  # told once each, in its own process
        assert bystander.heard == []
    assert await store.group_wakes(["grp_polled"]) == {"grp_polled": 2}


async def test_a_command_in_the_polling_process_is_heard_there_once(store: Store) -> None:
    async with (
        process(url_of(store), watched={"grp_polled"}) as worker,
        process(url_of(store), watched={"grp_polled"}) as sibling,
    ):
        worker.activity.touched("grp_polled")
        await until(lambda: sibling.heard == ["grp_polled"], "the other poller heard it")
        # A second command sent means the round that sent the first has read the counters since.
        worker.activity.touched("grp_other")

        async def sent() -> bool:
            return await store.group_wakes(["grp_other"]) == {"grp_other": 1}

        await until(sent, "the second command sent")
        assert worker.heard == ["grp_polled", "grp_other"]


async def test_a_decision_taken_through_the_services_reaches_the_worker(
    vrc: VRChatClient, bound: Store, config: Config, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    gateway_activity = GroupActivity()
    gateway = Services(vrc, bound, config, activity=gateway_activity)
    relay = WakeRelay(gateway_activity, bound, watched=set, every=FAST)
    await relay.start()
    try:
        async with process(url_of(bound), watched={gid}) as worker:
            await gateway.moderation.kick(MAYA, gid, "Bob")
            await until(lambda: worker.heard == [gid], "the worker heard the kick")
    finally:
        await relay.stop()


async def test_a_group_first_watched_hears_nothing_older_and_one_back_hears_what_it_missed(
    store: Store,
) -> None:
    await store.wake_groups(["grp_taken"])  # before this process polled it: its first poll covers it
    worker = Process(store, watched={"grp_taken"})
    await worker.relay.listen()
    assert worker.heard == []

    worker.watched = set()  # the group's lease moved to another process for a while
    await worker.relay.listen()
    await store.wake_groups(["grp_taken"])
    worker.watched = {"grp_taken"}  # and came back
    await worker.relay.listen()
    await worker.relay.listen()
    assert worker.heard == ["grp_taken"]


async def test_work_asked_of_the_holder_is_told_to_its_asked_listeners_only(store: Store) -> None:
    bound = await store.add_binding(binding(1))
    async with process(url_of(store), watched={GROUP}) as worker, process(url_of(store), set()) as gateway:
        assert worker.asked == [GROUP]  # its first read: asks may be older than its holding the group
        await gateway.store.ask_role_sync(bound.id, GROUP, "usr_member")
        await until(lambda: worker.asked == [GROUP] * 2, "the holder told of the ask")
        assert worker.heard == [] and gateway.asked == []  # no moderator's command: the pace is left alone
