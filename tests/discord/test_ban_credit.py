"""An automatic VRChat ban (`/bridge bans mode:ban`) is credited to the Discord moderator who made the
Discord ban, as the audit log names them (before or after the ban event, or read at a catch-up or a
restart), and to the bot, saying so, when nothing names them. Through the real bot, on the Discord
stand-in and the VRChat simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.bot import GroupBridgeBot
from bot.feed.attribution import credit_from_store
from bot.feed.outbox import OutboxWorker
from bot.feed.sender import DiscordFeedSender
from bot.sandbox.discord import DiscordStandIn
from bot.store import ActionRecord, AuditEntryIn, Store
from tests.discord.conftest import command, first_reply
from tests.discord.test_ban_catch_up import caught_up
from tests.discord.test_ban_prompts import (
    allow_audit_log,
    ban_cards,
    outcome,
    stored_prompt,
    wait_for_cards,
)
from tests.fixtures.discord_gateway import ADMIN_ID, FEED_CHANNEL_ID, GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import link_directly

pytestmark = pytest.mark.usefixtures("every_message_without_mentions")

CREDITED = "moderator (automatic: Discord ban)"  # MOD_ID's name in the stand-in


def cog(bot: GroupBridgeBot) -> Any:
    return bot.get_cog("BanBridge")


async def automatic(standin: DiscordStandIn, store: Store, seeded: SeededSim) -> None:
    first_reply(await command(standin, "bridge", "bans", {"mode": "ban"}, who=ADMIN_ID))
    await link_directly(store, MEMBER_ID, seeded.member.id)


async def vrchat_bans(store: Store, seeded: SeededSim) -> list[ActionRecord]:
    actions = await store.list_actions(group_id=seeded.group.id, limit=20)
    return [a for a in actions if a.action == "member.ban"]


async def closed_card(standin: DiscordStandIn) -> Any:
    (card,) = await wait_for_cards(standin)
    assert not card.components
    return card


async def banned_automatically(
    standin: DiscordStandIn,
    store: Store,
    seeded: SeededSim,
    *,
    by: int | None = None,
    audit_first: bool = False,
) -> Any:
    """The binding bans automatically; its linked member is banned in Discord (by `by`): the card."""
    await automatic(standin, store, seeded)
    await standin.ban(GUILD_ID, MEMBER_ID, by=by, audit_first=audit_first)
    return await closed_card(standin)


@pytest.mark.parametrize("audit_first", [False, True], ids=["entry after the ban", "entry before the ban"])
async def test_the_automatic_ban_is_credited_to_the_discord_moderator(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim, audit_first: bool
) -> None:
    allow_audit_log(gateway_standin)
    async with make_bot():
        card = await banned_automatically(
            gateway_standin, bot_store, seeded_sim, by=MOD_ID, audit_first=audit_first
        )
    (ban,) = await vrchat_bans(bot_store, seeded_sim)
    assert (ban.discord_user_id, ban.discord_user_name, ban.outcome) == (MOD_ID, CREDITED, "ok")
    assert "automatically" in outcome(card) and "because moderator banned them in Discord" in outcome(card)
    assert seeded_sim.group.memberships[seeded_sim.member.id].status == "banned"
    assert audit_log_reads(gateway_standin) == []  # the entry heard live was enough


def audit_log_reads(standin: DiscordStandIn) -> list[Any]:
    """The reads of the newest ban entries (the catch-up's reads page with `after`)."""
    reads = standin.requests_to("GET", f"/guilds/{GUILD_ID}/audit-logs")
    return [r for r in reads if "after" not in r.query]


async def test_a_discord_ban_the_bot_made_itself_is_credited_to_the_bot_once(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    async with make_bot() as bot:
        card = await banned_automatically(
            gateway_standin, bot_store, seeded_sim, by=gateway_standin.bot_user.id
        )
        await asyncio.sleep(0.3)
        bot_id = bot.user.id if bot.user else None
    (ban,) = await vrchat_bans(bot_store, seeded_sim)
    assert ban.discord_user_id == bot_id and "not known" in outcome(card)
    assert len(ban_cards(gateway_standin)) == 1


async def test_without_view_audit_log_the_bot_is_credited_at_once_and_the_card_says_who_is_unknown(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        cog(bot).authors.wait = 3600.0  # would hang the test if the bot waited for an entry it cannot get
        card = await banned_automatically(gateway_standin, bot_store, seeded_sim, by=MOD_ID)
        bot_id = bot.user.id if bot.user else None
    (ban,) = await vrchat_bans(bot_store, seeded_sim)
    assert ban.discord_user_id == bot_id and ban.discord_user_name.endswith("(automatic: Discord ban)")
    assert "who banned them in Discord is not known" in outcome(card)


async def test_when_no_entry_comes_the_ban_waits_a_moment_then_falls_back_to_the_bot(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    async with make_bot() as bot:
        cog(bot).authors.wait = 0.3
        card = await banned_automatically(
            gateway_standin, bot_store, seeded_sim
        )  # nobody named: no audit entry at all
    (ban,) = await vrchat_bans(bot_store, seeded_sim)
    assert ban.discord_user_id != MOD_ID and "not known" in outcome(card)
    assert len(audit_log_reads(gateway_standin)) == 1  # after the wait, the log itself was asked once
    assert seeded_sim.group.memberships[seeded_sim.member.id].status == "banned"


async def banned_while_away(make_bot, standin: DiscordStandIn, store: Store, seeded: SeededSim) -> None:
    """The bot has watched the server (its mark is set) and bans automatically; then, with no process
    listening, the moderator bans the linked member: the entry, naming them, is in the audit log."""
    allow_audit_log(standin)
    async with make_bot() as bot:
        await caught_up(bot)
        await automatic(standin, store, seeded)
    await standin.ban(GUILD_ID, MEMBER_ID, by=MOD_ID)


async def test_a_ban_made_while_away_is_credited_to_its_moderator_at_the_catch_up(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    await banned_while_away(make_bot, gateway_standin, bot_store, seeded_sim)
    async with make_bot() as bot:
        await caught_up(bot)
        card = await closed_card(gateway_standin)
    (ban,) = await vrchat_bans(bot_store, seeded_sim)
    assert (ban.discord_user_id, ban.discord_user_name) == (MOD_ID, CREDITED)
    assert "because moderator banned them in Discord" in outcome(card)


async def test_a_restart_during_the_wait_bans_once_credited_to_the_moderator(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    await banned_while_away(make_bot, gateway_standin, bot_store, seeded_sim)
    prompt = await stored_prompt(bot_store, seeded_sim, "auto")  # the process died waiting
    bans_asked = len([r for r in seeded_sim.sim.requests if r.method == "POST" and r.path.endswith("/bans")])
    async with make_bot() as bot:
        await caught_up(bot)  # reads the same ban again: it must not start a second one
        await closed_card(gateway_standin)
        await cog(bot).sweep()
        await asyncio.sleep(0.2)
    (ban,) = await vrchat_bans(bot_store, seeded_sim)
    assert (ban.discord_user_id, ban.discord_user_name) == (MOD_ID, CREDITED)
    asked = [r for r in seeded_sim.sim.requests if r.method == "POST" and r.path.endswith("/bans")]
    assert len(asked) == bans_asked + 1 and len(ban_cards(gateway_standin)) == 1
    done = await bot_store.ban_prompt(prompt.id)
    assert done is not None and (done.state, done.handled_by_discord_id) == ("banned", MOD_ID)


async def test_the_feed_and_history_show_the_moderator_for_the_automatic_ban(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    async with make_bot() as bot:
        await banned_automatically(gateway_standin, bot_store, seeded_sim, by=MOD_ID)
        group = seeded_sim.group.id
        (made,) = [e for e in seeded_sim.sim.state.audit(group) if e.event_type == "group.user.ban"]
        mirrored = AuditEntryIn(
            made.id, made.created_at, made.event_type, made.actor_id, made.actor_display_name,
            made.target_id, made.description,
        )  # fmt: skip
        credited = await credit_from_store(bot.store, group, [mirrored], seeded_sim.bot.id)
        await bot.store.ingest(group, credited)
        await OutboxWorker(bot.store, DiscordFeedSender(bot)).drain_once()
        asked = await command(gateway_standin, "vrc", "history", {"user": seeded_sim.member.id})
        history = first_reply(asked)
    (feed,) = [m for m in gateway_standin.messages(FEED_CHANNEL_ID) if m.embeds and made.id in str(m.embeds)]
    assert f"by {CREDITED} via GroupBridge" in str(feed.embeds)
    assert f"by {CREDITED}" in str(history["embeds"])


async def test_only_ban_unban_and_kick_entries_move_the_audit_mark(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store
) -> None:
    allow_audit_log(gateway_standin)
    async with make_bot() as bot:
        await caught_up(bot)
        mark = await bot_store.audit_mark(GUILD_ID)
        guild = gateway_standin.state.guilds[GUILD_ID]
        # A role change (MEMBER_ROLE_UPDATE): the bridge does nothing with it, so no write either.
        await gateway_standin._audit_entry(guild, 25, by=MOD_ID, target=MEMBER_ID, reason=None)
        await gateway_standin.ban(GUILD_ID, MEMBER_ID, by=MOD_ID)
        newest = int(guild.audit_log[-1]["id"])
        for _ in range(100):
            if await bot_store.audit_mark(GUILD_ID) == newest:
                break
            await asyncio.sleep(0.05)
        assert await bot_store.audit_mark(GUILD_ID) == newest
        await gateway_standin._audit_entry(guild, 25, by=MOD_ID, target=MOD_ID, reason=None)
        await asyncio.sleep(0.3)
    assert mark is not None and await bot_store.audit_mark(GUILD_ID) == newest
