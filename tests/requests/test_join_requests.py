"""Join-request cards and their buttons, through the real bot, gateway and REST."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.feed.poller import AuditPoller
from bot.sandbox.discord import DiscordStandIn, button_click
from bot.store import AuditEntryIn
from tests.discord.conftest import CLOSED_CARD, card_messages, components, labels, post_cards, posted_card
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim


def puts_to_requests(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("PUT", r"/requests/usr_"))


async def test_a_card_is_posted_with_restart_safe_buttons(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await post_cards(bot)
        await post_cards(bot)  # a second round posts nothing new
    (card,) = card_messages(gateway_standin)
    embed = card.embeds[0]
    assert "Carol" in embed["title"] and embed["url"].endswith(seeded_sim.requester.id)
    ids = [c["custom_id"] for c in components(card)]
    assert ids == [
        f"gb:jr:{a}:{seeded_sim.group.id}:{seeded_sim.requester.id}" for a in ("accept", "reject", "block")
    ] + [f"gb:uh:{seeded_sim.group.id}:{seeded_sim.requester.id}"]  # History (bot.desk)
    assert all(len(i) <= 100 for i in ids)
    assert card.allowed_mentions == {"parse": []}


async def test_approve_after_a_restart_accepts_once_and_closes_the_card(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        card = await posted_card(bot, gateway_standin)
    approve = components(card)[0]["custom_id"]

    async with make_bot():  # a new bot instance on the same database: no lookup table survives
        moderator = gateway_standin.member(GUILD_ID, MOD_ID)
        exchange = await gateway_standin.dispatch_interaction(button_click(approve, card, member=moderator))
        await exchange.wait_for_followup(1, timeout=10)
        assert exchange.callback.body["type"] == 5 and exchange.callback.body["data"]["flags"] & 64
        assert "Done" in exchange.followups[0].body["content"]
    assert seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.requester.id)
    assert puts_to_requests(seeded_sim) == 1
    (closed,) = card_messages(gateway_standin)
    assert labels(closed) == CLOSED_CARD  # buttons removed
    assert "Accepted" in str(closed.embeds) and "via Discord" in str(closed.embeds)


async def test_a_non_moderator_click_is_refused_and_changes_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        card = await posted_card(bot, gateway_standin)
        member = gateway_standin.member(GUILD_ID, MEMBER_ID)
        exchange = await gateway_standin.dispatch_interaction(
            button_click(components(card)[0]["custom_id"], card, member=member)
        )
        await exchange.wait_for_followup(1, timeout=10)
        text = exchange.followups[0].body["content"]
        assert "moderator" in text.lower()
    assert puts_to_requests(seeded_sim) == 0
    assert not seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.requester.id)
    assert len(components(card_messages(gateway_standin)[0])) == 4  # the card is untouched (+ History)


async def test_two_moderators_clicking_at_once_make_one_accept_call(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        card = await posted_card(bot, gateway_standin)
        approve = components(card)[0]["custom_id"]
        clicks = [
            button_click(approve, card, member=gateway_standin.member(GUILD_ID, MOD_ID)),
            button_click(approve, card, member=gateway_standin.member(GUILD_ID, ADMIN_ID)),
        ]
        exchanges = await asyncio.gather(*(gateway_standin.dispatch_interaction(c) for c in clicks))
        for exchange in exchanges:
            await exchange.wait_for_followup(1, timeout=10)
        replies = sorted(e.followups[0].body["content"] for e in exchanges)
    assert puts_to_requests(seeded_sim) == 1
    assert replies[0].startswith("Already accepted by") and replies[1].startswith("Done")


async def test_a_request_handled_in_vrchat_updates_the_card(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        await post_cards(bot)
        # Alice handles it in VRChat itself, not through the bot.
        seeded_sim.sim.state.respond_request(
            seeded_sim.group.id, seeded_sim.requester.id, seeded_sim.moderator.id, "reject"
        )
        await post_cards(bot)
    (card,) = card_messages(gateway_standin)
    assert labels(card) == CLOSED_CARD
    text = str(card.embeds)
    assert "Rejected" in text and "Alice" in text and "VRChat" in text


def request_list_calls(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("GET", r"/requests$"))


async def mirror_audit_log(bot, seeded: SeededSim) -> None:
    """One poll of the audit-log mirror, as the feed service would run it."""
    await AuditPoller(bot.vrchat, bot.store, seeded.group.id).poll_once()


async def test_a_request_event_in_the_mirror_closes_the_card_before_the_next_poll(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        cog = bot.get_cog("JoinRequests")
        await post_cards(bot)
        await mirror_audit_log(bot, seeded_sim)
        seeded_sim.sim.state.respond_request(
            seeded_sim.group.id, seeded_sim.requester.id, seeded_sim.moderator.id, "reject"
        )
        calls = request_list_calls(seeded_sim)
        assert await cog.check_feed_events() is False  # not mirrored yet: no event, no VRChat call
        assert request_list_calls(seeded_sim) == calls
        assert len(components(card_messages(gateway_standin)[0])) == 4  # 3 + History (bot.desk)

        await mirror_audit_log(bot, seeded_sim)
        assert await cog.check_feed_events() is True
        assert await cog.check_feed_events() is False  # each event acts once
        assert request_list_calls(seeded_sim) == calls + 1
    (card,) = card_messages(gateway_standin)
    assert labels(card) == CLOSED_CARD
    text = str(card.embeds)
    assert "Rejected" in text and "Alice" in text and "VRChat" in text


async def test_a_new_request_event_posts_its_card(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state, group_id = seeded_sim.sim.state, seeded_sim.group.id
    async with make_bot() as bot:
        cog = bot.get_cog("JoinRequests")
        await post_cards(bot)
        await mirror_audit_log(bot, seeded_sim)
        erin = state.add_user("Erin", bio="Hello")
        state.add_join_request(group_id, erin.id)
        assert await cog.check_feed_events() is False
        assert len(card_messages(gateway_standin)) == 1
        state.add_audit_entry(group_id, "group.request.create", erin.id, group_id, "Erin asked to join.")
        await mirror_audit_log(bot, seeded_sim)
        assert await cog.check_feed_events() is True
    cards = card_messages(gateway_standin)
    assert len(cards) == 2 and "Erin" in cards[1].embeds[0]["title"]
    assert components(cards[1])[0]["custom_id"] == f"gb:jr:accept:{group_id}:{erin.id}"
    assert cards[1].allowed_mentions == {"parse": []}


async def test_request_events_of_unlinked_groups_are_ignored(make_bot, seeded_sim: SeededSim) -> None:
    other = "grp_00000000-0000-0000-0000-0000000000aa"
    async with make_bot() as bot:
        await bot.store.ingest(
            other,
            [
                AuditEntryIn(
                    id="gaud_other-1",
                    created_at=datetime.now(UTC),
                    event_type="group.request.create",
                    actor_id=seeded_sim.outsider.id,
                    actor_display_name="Dave",
                    target_id=other,
                    description="Dave asked to join.",
                    data={},
                )
            ],
        )
        calls = request_list_calls(seeded_sim)
        assert await bot.get_cog("JoinRequests").check_feed_events() is False
    assert request_list_calls(seeded_sim) == calls
