"""The feed service's retention loop purges the bot's own records as soon as it starts, each kind by
its own setting, and logs how many went."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.feed.outbox import OutboxWorker
from bot.feed.retention import RetentionSettings
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.store import ActionIn, Store
from bot.store._base import utcnow
from bot.vrchat import VRChatClient
from tests.fixtures.discord_standin import logged_in_client, strict_standin
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import binding
from tests.store.test_ban_prompts_store import ANNA, BEN
from tests.store.test_retention_records import prompted


async def test_the_loop_purges_decided_prompts_keeps_what_has_no_retention_and_logs(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim, caplog: pytest.LogCaptureFixture
) -> None:
    store = sqlite_store
    month_ago = utcnow() - timedelta(days=30)
    store._clock = lambda: month_ago
    b = await store.add_binding(binding(1, group_id=seeded_sim.group.id))
    decided, waiting = await prompted(store, b.id, ANNA), await prompted(store, b.id, BEN)
    for prompt in (decided, waiting):
        assert await store.set_ban_prompt_message(prompt.id, prompt.round, 42)
    assert await store.move_ban_prompt(decided.id, 1, from_states=("open",), to="dismissed")
    await store.record_action(
        ActionIn(guild_id=None, discord_user_id=5, discord_user_name="ada", group_id=None, action="link")
    )
    store._clock = utcnow

    retention = RetentionSettings(decided_days=7)  # the action log: kept forever
    async with strict_standin() as standin, logged_in_client(standin) as client:
        feed = FeedService(vrc, store, OutboxWorker(store, DiscordFeedSender(client)), retention=retention)
        with caplog.at_level(logging.INFO, logger="bot.feed.service"):
            await feed.start()
            try:
                for _ in range(1000):  # bounded: the first purge runs as the loop starts
                    if "Retention: purged" in caplog.text:
                        break
                    await asyncio.sleep(0.01)
            finally:
                await feed.stop()

    assert "Retention: purged 1 decided ban prompts" in caplog.text
    assert await store.ban_prompt(decided.id) is None
    assert await store.ban_prompt(waiting.id) is not None
    assert [a.action for a in await store.list_actions()] == ["link"]
