"""On PostgreSQL, rows another process's poller queued for a channel held here are delivered at once:
the wake bus (bot.store.wake_bus) wakes this process's outbox worker, whose next look is an hour off.

"There" polls the group (an AuditPoller on a Store of its own); "here" holds only the feed channel's
lease and runs the outbox worker against the Discord stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import bot.feed.service as feed_service
from bot.feed.outbox import OutboxWorker
from bot.feed.poller import AuditPoller, PollSettings
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.lease_names import channel_lease
from bot.leases import LeaseKeeper
from bot.sandbox.discord import DiscordStandIn
from bot.store import BindingIn
from bot.vrchat import VRChatClient
from tests.feed.conftest import seed_history
from tests.feed.test_outbox import delivered_ids
from tests.fixtures.discord_standin import FEED_CHANNEL_ID, GUILD_ID, logged_in_client, strict_standin
from tests.fixtures.postgres import opened_store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.test_wake_relay import until

pytestmark = [pytest.mark.postgres]

NEVER = 3600.0


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with strict_standin() as running:
        yield running


async def test_rows_another_process_queued_are_delivered_without_waiting_for_the_poll(
    postgres_db_url: str,
    vrc: VRChatClient,
    standin: DiscordStandIn,
    seeded_sim: SeededSim,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed_service, "OUTBOX_IDLE", NEVER)
    monkeypatch.setattr(feed_service, "OUTBOX_IDLE_SHARED", NEVER)
    group = seeded_sim.group.id
    async with (
        opened_store(postgres_db_url) as here,
        opened_store(postgres_db_url) as there,
        logged_in_client(standin) as client,
    ):
        await there.add_binding(BindingIn(group_id=group, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID))
        poller = AuditPoller(vrc, there, group, PollSettings(interval=NEVER))
        await poller.poll_once()  # the anchor: what comes next is new

        async def wanted() -> dict[str, str | None]:
            return {channel_lease(FEED_CHANNEL_ID): None}

        leases = LeaseKeeper(here, wanted, ttl=30.0, owner="here")
        await leases.tick()
        worker = OutboxWorker(here, DiscordFeedSender(client), leases=leases)
        service = FeedService(vrc, here, worker, PollSettings(interval=NEVER), leases=leases)
        await here.wake_bus.start()
        await service.start()
        try:
            assert service.pollers == {}  # the group is not held here: "there" polls it
            await until(lambda: here.wake_bus.listening, "listening")
            new = seed_history(seeded_sim, 3)
            await poller.poll_once()
            await until(lambda: delivered_ids(standin) == new, "the rows delivered")
            assert here.wake_bus.heard == 1
        finally:
            await service.stop()
