"""Card rounds that overlap (the pipeline's, the mirror check's, the full round) post one card."""

from __future__ import annotations

import asyncio

from bot.sandbox.discord import DiscordStandIn
from tests.discord.conftest import card_messages
from tests.fixtures.vrchat_sim import SeededSim


async def test_rounds_started_together_post_each_card_once(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state, group_id = seeded_sim.sim.state, seeded_sim.group.id
    async with make_bot() as bot:
        cog = bot.get_cog("JoinRequests")
        await cog.sync_cards()  # Carol's card, from the seed
        erin = state.add_user("Erin", bio="Hello")
        state.request_to_join(group_id, erin.id)
        posted = await asyncio.gather(
            cog.sync_cards([group_id]), cog.sync_cards([group_id]), cog.sync_cards()
        )
    titles = [m.embeds[0]["title"] for m in card_messages(gateway_standin)]
    assert sorted(posted) == [0, 0, 1] and len(titles) == 2 and "Erin" in titles[1]
