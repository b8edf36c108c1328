"""The card loop's request listing follows a quiet group's backoff, but only while the group's account
has its pipeline connected here (a new request would be told at once); otherwise every full round
lists every group, as before. A moderator's action or a pipeline notice puts the group back."""

from __future__ import annotations

import asyncio

from bot.services.pipeline_events import PipelineEvents
from bot.store import Store
from bot.vrchat import VRChatClient
from bot.vrchat.pipeline import Backoff
from tests.fixtures.bridge import BotFactory
from tests.fixtures.vrchat_sim import SeededSim

FAST = {"backoff": Backoff(base=0.1, cap=0.2, max_per_window=1000), "idle_check": 0.05}


async def test_a_quiet_groups_listing_waits_while_the_pipeline_listens(
    make_bot: BotFactory, bot_vrchat: VRChatClient, bot_store: Store, seeded_sim: SeededSim
) -> None:
    group_id = seeded_sim.group.id
    async with make_bot() as bot:
        cog = bot.get_cog("JoinRequests")
        rounds = cog.rounds
        await cog.sync_cards()
        for _ in range(4):  # nothing new in four rounds: quiet, its next listing minutes away
            await cog.sync_cards([group_id])
        assert rounds._quiet.backoff(group_id).quiet
        assert group_id in await rounds._listing_due(60)  # no pipeline: every round, as before

        events = PipelineEvents(bot_vrchat, bot_store, seeded_sim.sim.pipeline_url, pipeline_options=FAST)
        await events.start()
        bot.pipeline = events
        try:
            async with asyncio.timeout(10):
                while not events.listening_for(group_id):  # noqa: ASYNC110 - the pipeline's own task
                    await asyncio.sleep(0.01)
            assert group_id not in await rounds._listing_due(60)
            # The ceiling still bounds it: a round whose successor comes after the wait ends lists it.
            assert group_id in await rounds._listing_due(bot.config.feed.quiet_ceiling)
            # A moderator's action in the group: listed at every round again.
            bot.group_activity.touched(group_id)
            assert group_id in await rounds._listing_due(60)
            for _ in range(3):
                await cog.sync_cards([group_id])
            assert group_id not in await rounds._listing_due(60)
            rounds.refresh_now(group_id)  # a pipeline notice, likewise
            assert group_id in await rounds._listing_due(60)
        finally:
            await events.stop()
            bot.pipeline = None
        assert not events.listening_for(group_id)
