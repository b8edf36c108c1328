"""A moderator's decision claimed in the store by a process that died before it called VRChat
(bot.requests.claims): the next round that can be sure the claim's process is gone asks VRChat about
the request, releases the claim, and the same card's buttons work again. Nothing is sent to VRChat on
the dead claim's behalf, and no second card is posted. The card row names the claiming process: once
that process holds no lease its claim is settled, whoever else is running."""

from __future__ import annotations

from datetime import timedelta

from bot.lease_names import group_lease
from bot.sandbox.discord import DiscordStandIn, button_click
from bot.store import Store
from bot.store._base import utcnow
from tests.discord.conftest import CLOSED_CARD, card_messages, component_id, components, labels, post_cards
from tests.fixtures.discord_gateway import GUILD_ID, MOD_ID
from tests.fixtures.lease_moves import TTL, holder
from tests.fixtures.vrchat_sim import SeededSim


def decisions(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("PUT", r"/requests/usr_"))


async def claim_then_die(store: Store, seeded: SeededSim, claimed_by: str | None = None) -> None:
    """What the decision of a process killed between its claim and its VRChat call leaves (made by
    process `claimed_by`; None: a claim from before the card rows named their process)."""
    assert await store.claim_card(
        seeded.group.id,
        seeded.requester.id,
        "accepted",
        by_discord_id=MOD_ID,
        by_name="maya",
        where="Discord",
        claimed_by=claimed_by,
    )


async def click_approve(standin: DiscordStandIn) -> None:
    (card,) = card_messages(standin)
    moderator = standin.member(GUILD_ID, MOD_ID)
    exchange = await standin.dispatch_interaction(
        button_click(component_id(card, "Approve"), card, member=moderator)
    )
    await exchange.wait_for_followup(1, timeout=10)


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

        await click_approve(gateway_standin)  # its buttons work: one decision, in VRChat once
    assert decisions(seeded_sim) == 1 and seeded_sim.sim.state.is_member(group, carol)
    (card,) = card_messages(gateway_standin)
    assert labels(card) == CLOSED_CARD and "Accepted" in str(card.embeds)


async def test_a_claim_naming_no_process_is_left_alone_while_a_process_older_than_it_lives(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    other = "member:other"
    async with make_bot() as bot:
        bot.leases = await holder(bot_store, "me")  # PostgreSQL-like: shared, not exclusive
        assert bot.leases.holds(group_lease(group))
        await post_cards(bot)
        assert other in await bot_store.acquire_leases([other], "other", TTL)  # another live process
        await claim_then_die(bot_store, seeded_sim)  # made before 0021: it may be that process's

        await bot.get_cog("JoinRequests").sync_cards([group])
        (row,) = await bot_store.cards_for(group, carol)
        assert row.state == "accepted"  # its VRChat call may still be on its way

        await bot_store.release_leases("other")  # that process is gone
        await bot.get_cog("JoinRequests").sync_cards([group])
        (row,) = await bot_store.cards_for(group, carol)
        assert row.pending
    assert decisions(seeded_sim) == 0
    assert len(components(card_messages(gateway_standin)[0])) == 4


async def test_a_claim_whose_process_holds_no_lease_is_settled_though_older_processes_live(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    async with make_bot() as bot:
        bot.leases = await holder(bot_store, "me")  # PostgreSQL-like: shared, not exclusive
        await post_cards(bot)
        assert "member:other" in await bot_store.acquire_leases(["member:other"], "other", TTL)
        await claim_then_die(bot_store, seeded_sim, claimed_by="dead-owner")  # no lease of its own

        await post_cards(bot)  # "other" started before the claim, but did not make it
        (row,) = await bot_store.cards_for(group, carol)
        assert row.pending and row.claimed_by is None
        assert decisions(seeded_sim) == 0
        assert len(components(card_messages(gateway_standin)[0])) == 4

        await click_approve(gateway_standin)
        (row,) = await bot_store.cards_for(group, carol)
        assert row.state == "accepted" and row.claimed_by == bot.leases.owner  # the click's process
    assert decisions(seeded_sim) == 1 and seeded_sim.sim.state.is_member(group, carol)


async def test_a_claim_whose_process_holds_a_lease_is_left_alone_until_it_holds_none(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, sqlite_url: str
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    async with make_bot() as bot:
        bot.leases = await holder(bot_store, "me")
        await post_cards(bot)
        await claim_then_die(bot_store, seeded_sim, claimed_by="other")
        # The claiming process took its lease again after the claim (it had lapsed): it is not older
        # than the claim, and still it may be the one calling VRChat.
        later = await Store.open(sqlite_url, clock=lambda: utcnow() + timedelta(minutes=1))
        try:
            assert "member:other" in await later.acquire_leases(["member:other"], "other", TTL)
        finally:
            await later.close()

        await post_cards(bot)
        (row,) = await bot_store.cards_for(group, carol)
        assert row.state == "accepted" and row.claimed_by == "other"

        await bot_store.release_leases("other")  # that process is gone
        await post_cards(bot)
        (row,) = await bot_store.cards_for(group, carol)
        assert row.pending and row.claimed_by is None
    assert decisions(seeded_sim) == 0
    assert len(components(card_messages(gateway_standin)[0])) == 4
