"""Issue #17: a card whose group moved between closing the request and editing the message.

The holder's round claims the card of a request VRChat no longer lists, then loses the group's lease
before it edits the message (its guard stops it). The message keeps its buttons while the row says
handled. The process that holds the group next closes it in its first round of that tenure, even a
process that had held the group before (and had done its once-per-process pass of cards left open).
"""

from __future__ import annotations

from bot.lease_names import group_lease
from bot.sandbox.discord import DiscordStandIn
from bot.store import Store
from tests.discord.conftest import CLOSED_CARD, card_messages, components, labels
from tests.fixtures.lease_moves import holder, take_over
from tests.fixtures.vrchat_sim import SeededSim


async def test_a_card_claimed_by_a_holder_that_lost_the_group_is_closed_by_the_next_one(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    lease = group_lease(group)
    async with make_bot() as bot:
        bot.leases = keeper = await holder(bot_store, "b")
        rounds = bot.get_cog("JoinRequests")
        assert await rounds.sync_cards([group]) == 1  # Carol's card, in this process's first round
        assert len(components(card_messages(gateway_standin)[0])) == 4

        # The group moves to process "a". Carol is rejected in VRChat; a's round claims her card and
        # loses the group before it edits the message (its guard raises LeaseLost there).
        await take_over(bot_store, lease, "a")
        seeded_sim.sim.state.respond_request(group, carol, seeded_sim.moderator.id, "reject")
        assert await bot_store.claim_card(
            group, carol, "rejected", by_discord_id=None, by_name="Alice", where="VRChat"
        )
        assert len(components(card_messages(gateway_standin)[0])) == 4  # still open

        # The group comes back to this process: its first round of the new tenure closes the card.
        await take_over(bot_store, lease, "b")
        await keeper.tick()
        assert await rounds.sync_cards([group]) == 1
        (card,) = card_messages(gateway_standin)
        assert labels(card) == CLOSED_CARD and "Rejected" in str(card.embeds)
        (row,) = await bot_store.cards_for(group, carol)
        assert row.closed_at is not None

        # Once per tenure: a later round of the same tenure looks at nothing more.
        assert await rounds.sync_cards([group]) == 0
