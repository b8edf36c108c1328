"""A moderator's decision claimed in the store by a process that died before it called VRChat
(bot.requests.claims): the next round that can be sure the claim's process is gone asks VRChat about
the request, releases the claim, and the same card's buttons work again. Nothing is sent to VRChat on
the dead claim's behalf, and no second card is posted."""

from __future__ import annotations

from bot.lease_names import group_lease
from bot.sandbox.discord import DiscordStandIn, button_click
from bot.store import Store
from tests.discord.conftest import card_messages, component_id, components, post_cards
from tests.fixtures.discord_gateway import GUILD_ID, MOD_ID
from tests.fixtures.lease_moves import TTL, holder
from tests.fixtures.vrchat_sim import SeededSim


def decisions(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("PUT", r"/requests/usr_"))


async def claim_then_die(store: Store, seeded: SeededSim) -> None:
    """What the decision of a process killed between its claim and its VRChat call leaves."""
    assert await store.claim_card(
        seeded.group.id,
        seeded.requester.id,
        "accepted",
        by_discord_id=MOD_ID,
        by_name="maya",
        where="Discord",
    )


async def test_a_claim_whose_process_died_is_released_and_the_card_works_again(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    async with make_bot() as bot:
        await post_cards(bot)
    await claim_then_die(bot_store, seeded_sim)
    (before,) = await bot_store.cards_for(group, carol)

    async with make_bot() as bot:  # the restart (SQLite: this process is alone on the database)
        await post_cards(bot)
        (row,) = await bot_store.cards_for(group, carol)
        assert row.pending and row.handled_by_name is None
        assert row.message_id == before.message_id  # the same card, not a second one
        (card,) = card_messages(gateway_standin)
        assert len(components(card)) == 4
        assert decisions(seeded_sim) == 0  # nothing sent on the dead claim's behalf

        # Its buttons work: one decision, in VRChat once.
        moderator = gateway_standin.member(GUILD_ID, MOD_ID)
        exchange = await gateway_standin.dispatch_interaction(
            button_click(component_id(card, "Approve"), card, member=moderator)
        )
        await exchange.wait_for_followup(1, timeout=10)
    assert decisions(seeded_sim) == 1 and seeded_sim.sim.state.is_member(group, carol)
    (card,) = card_messages(gateway_standin)
    assert components(card) == [] and "Accepted" in str(card.embeds)


async def test_a_claim_another_live_process_may_be_making_is_left_alone_until_it_is_gone(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    other = "member:other"
    async with make_bot() as bot:
        bot.leases = await holder(bot_store, "me")  # PostgreSQL-like: shared, not exclusive
        assert bot.leases.holds(group_lease(group))
        await post_cards(bot)
        assert other in await bot_store.acquire_leases([other], "other", TTL)  # another live process
        await claim_then_die(bot_store, seeded_sim)  # ...which may be the one making this claim

        await bot.get_cog("JoinRequests").sync_cards([group])
        (row,) = await bot_store.cards_for(group, carol)
        assert row.state == "accepted"  # its VRChat call may still be on its way

        await bot_store.release_leases("other")  # that process is gone
        await bot.get_cog("JoinRequests").sync_cards([group])
        (row,) = await bot_store.cards_for(group, carol)
        assert row.pending
    assert decisions(seeded_sim) == 0
    assert len(components(card_messages(gateway_standin)[0])) == 4
