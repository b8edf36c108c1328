"""A Discord ban of a linked member asks the moderators to ban the VRChat account too, through the real
bot: the stand-in sends GUILD_BAN_ADD (the bot asked for the Guild Moderation intent), the card comes,
and Confirm / Dismiss act as the moderator who clicks, checked at the click."""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any, Literal

import pytest

from bot.bot import GroupBridgeBot
from bot.sandbox.discord import DiscordStandIn, InteractionExchange
from bot.sandbox.discord.guilds import VIEW_AUDIT_LOG
from bot.sandbox.discord.intents import GUILD_MODERATION
from bot.store import BanPrompt, Store
from tests.discord.conftest import click, command, component_id, first_reply
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, MEMBER_ID, MOD_ID, REQUESTS_CHANNEL_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import link_directly

pytestmark = pytest.mark.usefixtures("every_message_without_mentions")

CONFIRM = "Confirm: ban in VRChat"
BYSTANDER_ID = 1_500_000_000_000_000_077  # a plain member who is not the one banned


def ban_cards(standin: DiscordStandIn, channel_id: int = REQUESTS_CHANNEL_ID) -> list[Any]:
    return [m for m in standin.messages(channel_id) if m.embeds and "Ban prompt" in str(m.embeds)]


async def wait_for_cards(
    standin: DiscordStandIn, n: int = 1, channel_id: int = REQUESTS_CHANNEL_ID
) -> list[Any]:
    for _ in range(200):
        cards = ban_cards(standin, channel_id)
        if len(cards) >= n:
            return cards
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"expected {n} ban card(s) in {channel_id}, found {len(ban_cards(standin, channel_id))}"
    )


def status_in_vrchat(seeded: SeededSim, user_id: str) -> str | None:
    membership = seeded.group.memberships.get(user_id)
    return membership.status if membership is not None else None


def outcome(card: Any) -> str:
    fields = {f["name"]: f["value"] for f in card.embeds[0].get("fields", [])}
    return fields.get("Outcome", "")


async def answer(exchange: InteractionExchange) -> str:
    await exchange.wait_for(lambda ex: bool(ex.followups), timeout=10, what="the answer to the click")
    return str(exchange.followups[-1].body.get("content") or "")


async def linked_member_banned(standin: DiscordStandIn, store: Store, seeded: SeededSim) -> Any:
    """MEMBER_ID is linked to the VRChat member Bob, and banned in Discord; the card that came."""
    await link_directly(store, MEMBER_ID, seeded.member.id)
    await standin.ban(GUILD_ID, MEMBER_ID)
    (card,) = await wait_for_cards(standin)
    return card


async def test_the_bot_asks_for_the_moderation_intent(make_bot, gateway_standin: DiscordStandIn) -> None:
    async with make_bot():
        session = await gateway_standin.gateway.wait_connected(5)
        assert session.intents & GUILD_MODERATION


async def test_a_ban_of_a_linked_member_posts_a_card_with_the_linked_account(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        card = await linked_member_banned(gateway_standin, bot_store, seeded_sim)
        await asyncio.sleep(0.2)
    assert len(ban_cards(gateway_standin)) == 1
    text = str(card.embeds[0])
    assert seeded_sim.member.id in text and f"<@{MEMBER_ID}>" in text
    assert seeded_sim.member.display_name in text
    labels = {c.get("label") for row in card.components for c in row["components"]}
    assert labels == {CONFIRM, "Dismiss"}
    assert card.allowed_mentions == {"parse": []}
    assert status_in_vrchat(seeded_sim, seeded_sim.member.id) == "member"  # nothing done yet


async def test_an_unlinked_member_banned_gets_no_card(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        await gateway_standin.ban(GUILD_ID, MEMBER_ID)
        await asyncio.sleep(0.5)
    assert ban_cards(gateway_standin) == []
    assert await bot_store.unposted_ban_prompts() == []


async def test_confirm_by_a_moderator_bans_in_vrchat_and_credits_them(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        card = await linked_member_banned(gateway_standin, bot_store, seeded_sim)
        said = await answer(await click(gateway_standin, component_id(card, CONFIRM), card, who=MOD_ID))
    assert said.startswith("Banned usr_")
    assert status_in_vrchat(seeded_sim, seeded_sim.member.id) == "banned"
    (closed,) = ban_cards(gateway_standin)
    assert not closed.components
    assert "Banned in VRChat" in outcome(closed) and "moderator" in outcome(closed)
    actions = await bot_store.list_actions(group_id=seeded_sim.group.id, limit=10)
    (ban,) = [a for a in actions if a.action == "member.ban"]
    assert (ban.discord_user_id, ban.target_id, ban.outcome) == (MOD_ID, seeded_sim.member.id, "ok")


async def test_confirm_by_a_plain_member_is_refused_and_changes_nothing(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    gateway_standin.add_member(GUILD_ID, BYSTANDER_ID, "bystander")
    async with make_bot():
        card = await linked_member_banned(gateway_standin, bot_store, seeded_sim)
        before = len(seeded_sim.sim.requests)
        said = await answer(await click(gateway_standin, component_id(card, CONFIRM), card, who=BYSTANDER_ID))
    assert "moderator roles" in said or "Manage Server" in said
    assert seeded_sim.sim.requests[before:] == []
    assert status_in_vrchat(seeded_sim, seeded_sim.member.id) == "member"
    (still,) = ban_cards(gateway_standin)
    assert still.components  # the buttons stay for a moderator
    prompt = await bot_store.ban_prompt(1)
    assert prompt is not None and prompt.state == "open"


async def test_dismiss_closes_the_card_and_bans_nothing(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        card = await linked_member_banned(gateway_standin, bot_store, seeded_sim)
        stale = copy.deepcopy(card)  # as another moderator's client still shows it
        said = await answer(await click(gateway_standin, component_id(card, "Dismiss"), card, who=MOD_ID))
        again = await answer(await click(gateway_standin, component_id(stale, CONFIRM), stale, who=MOD_ID))
    assert said.startswith("Dismissed")
    assert again.startswith("Already dismissed by moderator")
    assert status_in_vrchat(seeded_sim, seeded_sim.member.id) == "member"
    (closed,) = ban_cards(gateway_standin)
    assert not closed.components and "Dismissed" in outcome(closed)


async def test_automatic_mode_bans_at_once_and_the_card_says_so(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        exchange = await command(gateway_standin, "bridge", "bans", {"mode": "ban"}, who=ADMIN_ID)
        assert "**ban**" in first_reply(exchange)["content"]
        card = await linked_member_banned(gateway_standin, bot_store, seeded_sim)
    assert status_in_vrchat(seeded_sim, seeded_sim.member.id) == "banned"
    assert not card.components
    assert "automatically" in outcome(card)
    actions = await bot_store.list_actions(group_id=seeded_sim.group.id, limit=10)
    (ban,) = [a for a in actions if a.action == "member.ban"]
    assert "automatic" in ban.discord_user_name


async def test_off_means_no_card(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        await command(gateway_standin, "bridge", "bans", {"mode": "off"}, who=ADMIN_ID)
        await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
        await gateway_standin.ban(GUILD_ID, MEMBER_ID)
        await asyncio.sleep(0.5)
    assert ban_cards(gateway_standin) == []


async def stored_prompt(store: Store, seeded: SeededSim, state: Literal["auto", "open"]) -> BanPrompt:
    """The prompt a ban of MEMBER_ID stores, as a process that died before its card left it."""
    (binding,) = await store.list_bindings(guild_id=GUILD_ID)
    prompt = await store.open_ban_prompt(
        binding_id=binding.id,
        guild_id=GUILD_ID,
        group_id=seeded.group.id,
        discord_user_id=MEMBER_ID,
        vrchat_user_id=seeded.member.id,
        channel_id=REQUESTS_CHANNEL_ID,
        state=state,
    )
    assert prompt is not None
    return prompt


async def test_a_card_lost_to_a_crash_is_posted_once_at_the_next_start(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    """The prompt is stored, then the process dies before the card (or before its id is stored): the
    next start posts it, exactly once either way."""
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    prompt = await stored_prompt(bot_store, seeded_sim, "open")
    async with make_bot():
        await wait_for_cards(gateway_standin)
    await bot_store.set_ban_prompt_message(prompt.id, prompt.round, 0)  # as if the id never got stored
    async with bot_store._sessions.begin() as session:
        from sqlalchemy import text

        await session.execute(text("UPDATE ban_prompts SET message_id = NULL"))
    async with make_bot() as bot:
        await _sweep(bot)
        await asyncio.sleep(0.2)
    assert len(ban_cards(gateway_standin)) == 1
    stored = await bot_store.ban_prompt(prompt.id)
    assert stored is not None and stored.message_id == ban_cards(gateway_standin)[0].id


async def _sweep(bot: GroupBridgeBot) -> None:
    cog: Any = bot.get_cog("BanBridge")
    await cog.sweep()


async def test_an_unban_closes_a_waiting_card_and_a_new_ban_prompts_again(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        first = await linked_member_banned(gateway_standin, bot_store, seeded_sim)
        stale = copy.deepcopy(first)
        await gateway_standin.unban(GUILD_ID, MEMBER_ID)
        for _ in range(100):
            (card,) = ban_cards(gateway_standin)
            if not card.components:
                break
            await asyncio.sleep(0.05)
        assert "Discord ban lifted" in outcome(card)
        await gateway_standin.join(GUILD_ID, MEMBER_ID, "member")
        await gateway_standin.ban(GUILD_ID, MEMBER_ID)
        _, second = await wait_for_cards(gateway_standin, 2)
        old = await answer(await click(gateway_standin, component_id(stale, CONFIRM), stale, who=MOD_ID))
    assert "out of date" in old
    assert status_in_vrchat(seeded_sim, seeded_sim.member.id) == "member"
    assert second.components


def allow_audit_log(standin: DiscordStandIn) -> None:
    """The bot's role may View Audit Log: Discord then sends it the audit log's entries (kicks)."""
    role = standin.top_role(GUILD_ID, standin.bot_user.id)
    assert role is not None
    role.permissions |= VIEW_AUDIT_LOG
    standin.state.guilds[GUILD_ID].refresh_permissions()


async def test_a_kick_prompts_where_kicks_are_switched_on(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    gateway_standin.add_member(GUILD_ID, BYSTANDER_ID, "bystander")
    async with make_bot():
        await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
        await link_directly(bot_store, BYSTANDER_ID, seeded_sim.moderator.id)
        await gateway_standin.kick(GUILD_ID, MEMBER_ID, by=MOD_ID)  # kicks are off by default
        await asyncio.sleep(0.3)
        assert ban_cards(gateway_standin) == []
        said = first_reply(await command(gateway_standin, "bridge", "bans", {"kick": "prompt"}, who=ADMIN_ID))
        assert "When one is kicked: **prompt**" in said["content"] and "View Audit Log" not in said["content"]
        await gateway_standin.leave(GUILD_ID, BYSTANDER_ID)  # leaving by oneself is no kick
        await gateway_standin.join(GUILD_ID, MEMBER_ID, "member")
        await gateway_standin.kick(GUILD_ID, MEMBER_ID, by=MOD_ID)
        (card,) = await wait_for_cards(gateway_standin)
        said = await answer(await click(gateway_standin, component_id(card, CONFIRM), card, who=MOD_ID))
    assert card.embeds[0]["title"] == "Kicked from Discord: also ban in VRChat?"
    assert said.startswith("Banned usr_")
    assert status_in_vrchat(seeded_sim, seeded_sim.member.id) == "banned"
    assert len(ban_cards(gateway_standin)) == 1


async def test_switching_kicks_on_without_view_audit_log_says_they_will_not_prompt(
    make_bot, gateway_standin: DiscordStandIn
) -> None:
    async with make_bot():
        said = first_reply(await command(gateway_standin, "bridge", "bans", {"kick": "prompt"}, who=ADMIN_ID))
    assert "lacks View Audit Log" in said["content"]


async def test_a_card_discord_refuses_stays_for_the_next_sweep_and_is_warned_about_once(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim, caplog
) -> None:
    (binding,) = await bot_store.list_bindings(guild_id=GUILD_ID)
    await bot_store.set_ban_setting(
        binding.id, "prompt", 1_300_000_000_000_000_404, by=ADMIN_ID
    )  # no such channel
    async with make_bot() as bot:
        with caplog.at_level(logging.DEBUG, logger="bot.banbridge.cog"):
            await linked_member_banned_unposted(gateway_standin, bot_store, seeded_sim)
            await _sweep(bot)
            await _sweep(bot)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "ban card" in r.getMessage()]
    assert len(warnings) == 1
    (unposted,) = await bot_store.unposted_ban_prompts()
    assert unposted.state == "open"


async def linked_member_banned_unposted(standin: DiscordStandIn, store: Store, seeded: SeededSim) -> None:
    await link_directly(store, MEMBER_ID, seeded.member.id)
    await standin.ban(GUILD_ID, MEMBER_ID)
    for _ in range(200):
        if await store.unposted_ban_prompts():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the ban was not stored")


async def test_a_bans_audit_entry_is_not_taken_for_a_kick(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    async with make_bot():
        await command(gateway_standin, "bridge", "bans", {"kick": "prompt"}, who=ADMIN_ID)
        await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
        await gateway_standin.ban(GUILD_ID, MEMBER_ID, by=MOD_ID)  # GUILD_BAN_ADD and MEMBER_BAN_ADD
        (card,) = await wait_for_cards(gateway_standin)
        await asyncio.sleep(0.3)
        session = gateway_standin.gateway.session
        assert session is not None and "GUILD_AUDIT_LOG_ENTRY_CREATE" in [e["t"] for e in session.events]
    assert len(ban_cards(gateway_standin)) == 1
    assert card.embeds[0]["title"] == "Banned in Discord: also ban in VRChat?"
