"""Acting on a user from a feed message through the real bot: the select the outbox puts under a
packed message, the private panel with the actions that fit, Kick/Ban/Unban confirmed and credited,
refusals, and clicks after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.bot import GroupBridgeBot
from bot.feed.actions import FEED_ACTIONS_ID
from bot.feed.outbox import OutboxWorker
from bot.feed.sender import DiscordFeedSender
from bot.sandbox.discord import DiscordStandIn, StandInMessage
from bot.store import AuditEntryIn
from tests.discord.conftest import click, component_id, components
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim

pytestmark = pytest.mark.usefixtures("every_message_without_mentions")


async def feed_message(bot: GroupBridgeBot, standin: DiscordStandIn, seeded: SeededSim) -> StandInMessage:
    """One packed feed message: Bob joined, Dave was banned, a settings change (about nobody), then
    Bob left: three entries about two users."""
    group, bob, dave = seeded.group.id, seeded.member.id, seeded.outsider.id
    start = datetime.now(UTC) - timedelta(minutes=5)
    entries = [
        AuditEntryIn("gaud_feed-1", start, "group.member.join", bob, "Bob", bob, "Bob joined."),
        AuditEntryIn(
            "gaud_feed-2", start + timedelta(seconds=1), "group.user.ban", "usr_m", "M", dave, "Ban."
        ),
        AuditEntryIn("gaud_feed-3", start + timedelta(seconds=2), "group.update", "usr_m", "M", None, "x"),
        AuditEntryIn(
            "gaud_feed-4", start + timedelta(seconds=3), "group.member.join", bob, "Bob", bob, "Again."
        ),
    ]
    await bot.store.ingest(group, entries)
    await OutboxWorker(bot.store, DiscordFeedSender(bot)).drain_once()
    (message,) = [m for m in standin.messages(FEED_CHANNEL_ID) if m.embeds]
    return message


def the_select(message: StandInMessage) -> dict:
    (select,) = [c for c in components(message) if c["type"] == 3]
    return select


async def pick(standin: DiscordStandIn, message: StandInMessage, value: str, who: int = MOD_ID):
    exchange = await click(standin, FEED_ACTIONS_ID, message, who=who, values=[value])
    return await exchange.wait(10)


async def ask_on_the_panel(standin: DiscordStandIn, message: StandInMessage, value: str, verb: str):
    """Pick `value` in the feed's select, click `verb` on the panel: the private confirmation."""
    panel = (await pick(standin, message, value)).message
    prompt = (await (await click(standin, component_id(panel, verb), panel)).wait(10)).message
    assert prompt is not None and prompt.ephemeral and prompt.content.startswith(f"{verb} ")
    return prompt


async def confirm(standin: DiscordStandIn, prompt: StandInMessage, verb: str) -> str:
    """Click `verb` on the confirmation; what the prompt ends with."""
    confirmed = await click(standin, component_id(prompt, verb), prompt)
    return (await confirmed.wait_for_edit(1, timeout=10)).body["content"]


async def test_a_packed_feed_message_offers_each_user_once_with_the_fitting_actions(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    group, bob, dave = seeded_sim.group.id, seeded_sim.member.id, seeded_sim.outsider.id
    async with make_bot() as bot:
        message = await feed_message(bot, gateway_standin, seeded_sim)
        assert len(message.embeds) == 4
        select = the_select(message)
        assert (
            select["custom_id"] == FEED_ACTIONS_ID
            and select["placeholder"] == "Act on a user in this message"
        )
        assert [o["value"] for o in select["options"]] == [f"ban:{group}:{dave}", f"join:{group}:{bob}"]
        assert [o["label"] for o in select["options"]] == [f"User banned: {dave}", "Member joined: Bob"]
        panel = await pick(gateway_standin, message, f"join:{group}:{bob}")
        assert panel.data["flags"] & 64 and panel.data["allowed_mentions"] == {"parse": []}
        assert [c["label"] for c in components(panel.message)] == ["Kick", "Ban", "History"]
    # After a restart the same select still answers, here for Dave: his ban can be lifted.
    async with make_bot():
        panel = await pick(gateway_standin, message, f"ban:{group}:{dave}")
        assert [c["label"] for c in components(panel.message)] == ["Unban", "History"]


async def test_kick_from_the_feed_asks_then_acts_and_credits_the_moderator(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    group, bob = seeded_sim.group.id, seeded_sim.member.id
    async with make_bot() as bot:
        message = await feed_message(bot, gateway_standin, seeded_sim)
        prompt = await ask_on_the_panel(gateway_standin, message, f"join:{group}:{bob}", "Kick")
        assert seeded_sim.sim.state.is_member(group, bob)  # nothing yet
        assert "Removed Bob from Test Group" in await confirm(gateway_standin, prompt, "Kick")
        assert not seeded_sim.sim.state.is_member(group, bob)
        (kick,) = await bot.store.list_actions(action="member.kick")
        assert (kick.discord_user_id, kick.target_id, kick.outcome) == (MOD_ID, bob, "ok")


async def test_cancel_changes_nothing_and_a_member_gets_no_panel(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    group, bob = seeded_sim.group.id, seeded_sim.member.id
    async with make_bot() as bot:
        message = await feed_message(bot, gateway_standin, seeded_sim)
        requests = len(seeded_sim.sim.requests)
        refused = await pick(gateway_standin, message, f"join:{group}:{bob}", who=MEMBER_ID)
        assert "moderator roles" in refused.data["content"] and not refused.data.get("components")
        panel = (await pick(gateway_standin, message, f"join:{group}:{bob}")).message
        # A member who got hold of the panel's button is refused too, before any confirmation.
        stolen = await (await click(gateway_standin, component_id(panel, "Ban"), panel, who=MEMBER_ID)).wait(
            10
        )
        assert "moderator roles" in stolen.data["content"] and not stolen.data.get("components")
        asked = await click(gateway_standin, component_id(panel, "Ban"), panel)
        prompt = (await asked.wait(10)).message
        cancelled = await (await click(gateway_standin, component_id(prompt, "Cancel"), prompt)).wait(10)
        assert cancelled.data["content"] == "Cancelled."
        assert len(seeded_sim.sim.requests) == requests and seeded_sim.sim.state.is_member(group, bob)
        assert await bot.store.list_actions(action="member.ban") == []


async def test_unban_from_the_feed_asks_then_lifts_the_ban_and_credits_the_moderator(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    group, dave = seeded_sim.group.id, seeded_sim.outsider.id
    state = seeded_sim.sim.state
    state.ban(group, dave, seeded_sim.moderator.id)  # the ban the feed entry is about
    async with make_bot() as bot:
        message = await feed_message(bot, gateway_standin, seeded_sim)
        prompt = await ask_on_the_panel(gateway_standin, message, f"ban:{group}:{dave}", "Unban")
        banned = state.membership(group, dave)
        assert banned is not None and banned.status == "banned"  # nothing yet
        assert "Unbanned Dave in Test Group" in await confirm(gateway_standin, prompt, "Unban")
        assert state.membership(group, dave) is None
        (unban,) = await bot.store.list_actions(action="member.unban")
        assert (unban.discord_user_id, unban.target_id, unban.outcome) == (MOD_ID, dave, "ok")
