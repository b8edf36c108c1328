"""The whole mirror, VRChat simulator to Discord stand-in: poll, store, deliver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Generator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from bot.feed.outbox import OutboxWorker
from bot.feed.pacing import SlidingWindowPacer
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.sandbox.discord import DiscordStandIn
from bot.store import BindingIn, Store
from bot.vrchat import VRChatAPI, VRChatClient
from tests.feed.conftest import seed_history
from tests.feed.test_outbox import delivered_ids
from tests.fixtures.discord_standin import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    logged_in_client,
    strict_standin,
)
from tests.fixtures.vrchat_sim import SeededSim

SECOND_CHANNEL = FEED_CHANNEL_ID + 1


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with strict_standin(rate_limit=(5, 0.05)) as running:
        running.add_channel(SECOND_CHANNEL, guild_id=GUILD_ID, name="mod-feed")
        yield running


@pytest.fixture
async def service(
    vrc: VRChatClient, sqlite_store: Store, standin: DiscordStandIn
) -> AsyncIterator[FeedService]:
    async with logged_in_client(standin) as client:
        worker = OutboxWorker(
            sqlite_store,
            DiscordFeedSender(client),
            pacer_factory=lambda: SlidingWindowPacer(5, 0.05, margin=0.005),
        )
        yield FeedService(vrc, sqlite_store, worker)


@pytest.mark.slow  # a thousand entries polled and delivered at Discord's (scaled) pace
async def test_a_vrchat_burst_reaches_discord_complete_and_in_order(
    service: FeedService, sqlite_store: Store, standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    group = seeded_sim.group.id
    await sqlite_store.add_binding(
        BindingIn(group_id=group, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
    )
    await sqlite_store.add_binding(
        BindingIn(
            group_id=group, guild_id=GUILD_ID, feed_channel_id=SECOND_CHANNEL, event_families=("moderation",)
        )
    )
    seed_history(seeded_sim, 5)
    first = await service.run_once()
    assert first.drain.messages == 0  # backfill "none": history is stored, not posted

    burst = seed_history(seeded_sim, 1000, start=datetime.now(UTC) - timedelta(minutes=20), step=0.5)
    cycle = await service.run_once()
    assert cycle.polls[group] is not None and cycle.polls[group].new == 1000
    assert delivered_ids(standin) == burst
    assert max(len(m.embeds) for m in standin.messages(FEED_CHANNEL_ID)) == 10
    assert standin.messages(SECOND_CHANNEL) == []  # group.update is not moderation

    ban = await service.source.ban_member(group, seeded_sim.outsider.id)  # type: ignore[attr-defined]
    assert ban is not None
    await service.run_once()
    assert len(delivered_ids(standin, SECOND_CHANNEL)) == 1
    assert len(delivered_ids(standin)) == 1001


async def test_one_broken_group_does_not_hold_up_another(
    service: FeedService, sqlite_store: Store, standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    missing = "grp_00000000-0000-0000-0000-00000000dead"
    await sqlite_store.add_binding(
        BindingIn(group_id=missing, guild_id=GUILD_ID, feed_channel_id=SECOND_CHANNEL)
    )
    await sqlite_store.add_binding(
        BindingIn(group_id=seeded_sim.group.id, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
    )
    await service.run_once()
    seed_history(seeded_sim, 3, start=datetime.now(UTC) - timedelta(minutes=1), step=1)
    cycle = await service.run_once()
    assert cycle.polls[missing] is None and cycle.polls[seeded_sim.group.id] is not None
    assert len(delivered_ids(standin)) == 3
    broken = await sqlite_store.get_cursor(missing)
    assert broken is not None and "404" in (broken.last_error or "")


async def test_start_and_stop_cleanly(
    service: FeedService, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    await sqlite_store.add_binding(
        BindingIn(group_id=seeded_sim.group.id, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
    )
    await service.start()
    assert set(service.pollers) == {seeded_sim.group.id}
    await asyncio.sleep(0)
    await asyncio.wait_for(service.stop(), timeout=15)
    assert service._tasks == {}


class HeldAuditLog:
    """The bot's client, except that an audit-log read waits, once under way (`entered`), until the
    test lets it go on (`release`)."""

    def __init__(self, client: VRChatClient) -> None:
        self.client = client
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def get_audit_logs(self, group_id: str, n: int = 100, offset: int = 0) -> Any:
        self.entered.set()
        await self.release.wait()
        return await self.client.get_audit_logs(group_id, n=n, offset=offset)


@contextlib.contextmanager
def tasks_created() -> Generator[list[asyncio.Task[Any]]]:
    """The tasks created on the running loop meanwhile."""
    loop = asyncio.get_running_loop()
    created: list[asyncio.Task[Any]] = []
    before = loop.get_task_factory()

    def recording(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], /, **kwargs: Any) -> Any:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        created.append(task)  # named by create_task once this returns
        return task

    loop.set_task_factory(recording)
    try:
        yield created
    finally:
        loop.set_task_factory(before)


async def test_a_poll_that_ends_during_stop_starts_no_follow_up(
    vrc: VRChatClient, sqlite_store: Store, standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    """stop() waits for the tasks it listed; a session-alert check that a poll ending meanwhile
    started would outlive the feed (CI's stop-during-start test caught one once)."""
    await sqlite_store.add_binding(
        BindingIn(group_id=seeded_sim.group.id, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
    )
    source = HeldAuditLog(vrc)
    async with logged_in_client(standin) as client:
        worker = OutboxWorker(sqlite_store, DiscordFeedSender(client))
        service = FeedService(cast(VRChatAPI, source), sqlite_store, worker)
        await service.start()
        service.wake(seeded_sim.group.id)  # its first poll now, not after the spread of first polls
        await source.entered.wait()
        stopping = asyncio.create_task(service.stop())
        await asyncio.sleep(0)  # stop() has listed the tasks it waits for, the poll among them
        assert service._tasks == {} and not stopping.done()
        with tasks_created() as created:
            source.release.set()
            await stopping
        # The first poll through asks for a look at an alarm an earlier life may have left open...
        assert service.alerts.needs_check()
        # ...but nothing is started once the feed is stopping.
        assert [t.get_name() for t in created if t.get_name() == "session alert"] == []
