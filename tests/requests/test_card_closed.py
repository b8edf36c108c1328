"""A card remembers that its message shows it closed (request_cards.closed_at), so the first round of a
process edits only the cards a crash (or a failed edit) left open, however long ago, and looks at no
card closed already."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.sandbox.discord import DiscordStandIn, button_click
from bot.store import Store
from tests.discord.conftest import CLOSED_CARD, card_messages, component_id, components, labels, post_cards
from tests.fixtures.discord_gateway import GUILD_ID, MOD_ID, REQUESTS_CHANNEL_ID
from tests.fixtures.vrchat_sim import SeededSim


def card_reads(standin: DiscordStandIn) -> int:
    """Messages of the requests channel fetched one by one (how the round finds a card to close)."""
    prefix = f"/channels/{REQUESTS_CHANNEL_ID}/messages/"
    return sum(1 for r in standin.requests if r.method == "GET" and r.path.startswith(prefix))


async def test_a_card_left_open_days_ago_is_closed_at_the_next_start(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    async with make_bot() as bot:
        await post_cards(bot)
    # Claimed two days ago, then the process died before the card was edited; the bot was away since.
    seeded_sim.sim.state.respond_request(group, carol, seeded_sim.moderator.id, "reject")
    claimed = await bot_store.claim_card(
        group,
        carol,
        "rejected",
        by_discord_id=None,
        by_name="Alice",
        where="VRChat",
        at=datetime.now(UTC) - timedelta(days=2),
    )
    assert claimed and len(components(card_messages(gateway_standin)[0])) == 4  # still open

    async with make_bot() as bot:
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert labels(card) == CLOSED_CARD and "Rejected" in str(card.embeds)
    (row,) = await bot_store.cards_for(group, carol)
    assert row.closed_at is not None


async def test_cards_closed_by_a_click_or_a_round_are_not_looked_at_again(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    state, group = seeded_sim.sim.state, seeded_sim.group.id
    erin = state.add_user("Erin", bio="Hello")
    state.request_to_join(group, erin.id)
    async with make_bot() as bot:
        await post_cards(bot)
        carol_card = next(c for c in card_messages(gateway_standin) if "Carol" in c.embeds[0]["title"])
        approve = component_id(carol_card, "Approve")
        moderator = gateway_standin.member(GUILD_ID, MOD_ID)
        exchange = await gateway_standin.dispatch_interaction(
            button_click(approve, carol_card, member=moderator)
        )
        await exchange.wait_for_followup(1, timeout=10)
        state.respond_request(group, erin.id, seeded_sim.moderator.id, "reject")  # in VRChat itself
        await post_cards(bot)  # closes Erin's card
    assert all(labels(c) == CLOSED_CARD for c in card_messages(gateway_standin))
    rows = [
        *await bot_store.cards_for(group, seeded_sim.requester.id),
        *await bot_store.cards_for(group, erin.id),
    ]
    assert [r.closed_at is not None for r in rows] == [True, True]

    reads = card_reads(gateway_standin)
    async with make_bot() as bot:  # a new process: its first round looks for cards left open
        await post_cards(bot)
    assert card_reads(gateway_standin) == reads


async def test_a_reopened_card_is_open_again(bot_store: Store, seeded_sim: SeededSim) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    await bot_store.upsert_card(group, carol, REQUESTS_CHANNEL_ID, message_id=5)
    assert not await bot_store.set_card_closed(group, carol, REQUESTS_CHANNEL_ID)  # pending: not closed
    at = datetime.now(UTC) - timedelta(hours=1)
    await bot_store.claim_card(
        group, carol, "accepted", by_discord_id=1, by_name="Bob", where="Discord", at=at
    )
    assert await bot_store.set_card_closed(group, carol, REQUESTS_CHANNEL_ID)
    (card,) = await bot_store.cards_for(group, carol)
    assert card.closed_at is not None and not card.left_open
    await bot_store.reopen_cards(group, carol, handled_before=datetime.now(UTC))
    (card,) = await bot_store.cards_for(group, carol)
    assert card.pending and card.closed_at is None
