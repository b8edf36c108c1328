"""Bans, unbans and kicks made while no bot process was connected: at the next connection Discord's
audit log tells them (the bot may View Audit Log), and they prompt as if heard live, once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.bot import GroupBridgeBot
from bot.sandbox.discord import DiscordStandIn
from bot.store import Store
from tests.discord.conftest import command
from tests.discord.test_ban_prompts import allow_audit_log, ban_cards, wait_for_cards
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import link_directly

pytestmark = pytest.mark.usefixtures("every_message_without_mentions")

BYSTANDER_ID = 1_500_000_000_000_000_078


async def caught_up(bot: GroupBridgeBot) -> None:
    """Until the bot has acted on what its audit log says happened while it was away."""
    cog: Any = bot.get_cog("BanBridge")
    await asyncio.wait_for(cog.caught_up(), timeout=10)


async def test_a_ban_made_while_away_prompts_at_the_next_connection_once(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    async with make_bot() as bot:
        await caught_up(bot)  # the first connection: from now on
    await gateway_standin.ban(GUILD_ID, MEMBER_ID, by=MOD_ID)  # nobody listening
    async with make_bot() as bot:
        await caught_up(bot)
        (card,) = await wait_for_cards(gateway_standin)
    assert card.embeds[0]["title"] == "Banned in Discord: also ban in VRChat?"
    async with make_bot() as bot:
        await caught_up(bot)
    assert len(ban_cards(gateway_standin)) == 1  # read again, prompted once


async def test_what_was_undone_while_away_prompts_nothing_and_a_kick_does(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    gateway_standin.add_member(GUILD_ID, BYSTANDER_ID, "bystander")
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    await link_directly(bot_store, BYSTANDER_ID, seeded_sim.moderator.id)
    async with make_bot() as bot:
        await caught_up(bot)
        await command(gateway_standin, "bridge", "bans", {"kick": "prompt"}, who=ADMIN_ID)
    await gateway_standin.ban(GUILD_ID, MEMBER_ID, by=MOD_ID)
    await gateway_standin.unban(GUILD_ID, MEMBER_ID, by=MOD_ID)  # lifted before anyone saw it
    await gateway_standin.kick(GUILD_ID, BYSTANDER_ID, by=MOD_ID)
    async with make_bot() as bot:
        await caught_up(bot)
    (card,) = ban_cards(gateway_standin)
    assert card.embeds[0]["title"] == "Kicked from Discord: also ban in VRChat?"
    assert len(ban_cards(gateway_standin)) == 1
    prompts = [await bot_store.ban_prompt(n) for n in (1, 2)]
    assert [p.discord_user_id for p in prompts if p is not None] == [BYSTANDER_ID]


async def test_a_ban_from_before_the_bot_watched_is_not_replayed(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    await gateway_standin.ban(GUILD_ID, MEMBER_ID, by=MOD_ID)  # before the first connection
    async with make_bot() as bot:
        await caught_up(bot)
    assert ban_cards(gateway_standin) == []
    assert await bot_store.audit_mark(GUILD_ID) is not None


async def test_without_view_audit_log_it_says_so_and_prompts_nothing(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim, caplog
) -> None:
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    async with make_bot() as bot:
        await caught_up(bot)
    await gateway_standin.ban(GUILD_ID, MEMBER_ID, by=MOD_ID)
    with caplog.at_level(logging.WARNING, logger="bot.banbridge.cog"):
        async with make_bot() as bot:
            await caught_up(bot)
    assert ban_cards(gateway_standin) == []
    assert "needs View Audit Log" in caplog.text


async def test_an_entry_heard_before_the_catch_up_read_leaves_the_mark_where_it_starts(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, seeded_sim: SeededSim
) -> None:
    allow_audit_log(gateway_standin)
    gateway_standin.add_member(GUILD_ID, BYSTANDER_ID, "bystander")
    async with make_bot() as bot:
        await caught_up(bot)
        cog: Any = bot.get_cog("BanBridge")
        mark = await bot_store.audit_mark(GUILD_ID)
        await cog.on_disconnect()  # the session is gone: the next one's catch-up starts at `mark`
        await gateway_standin.kick(GUILD_ID, BYSTANDER_ID, by=MOD_ID)  # an entry heard meanwhile
        await asyncio.sleep(0.2)
        assert await bot_store.audit_mark(GUILD_ID) == mark
        await cog.on_resumed()  # Discord replayed the gap: live entries move it again
        await gateway_standin.join(GUILD_ID, BYSTANDER_ID, "bystander")
        await gateway_standin.kick(GUILD_ID, BYSTANDER_ID, by=MOD_ID)
        for _ in range(100):
            if await bot_store.audit_mark(GUILD_ID) != mark:
                break
            await asyncio.sleep(0.05)
    newest = int(gateway_standin.state.guilds[GUILD_ID].audit_log[-1]["id"])
    assert await bot_store.audit_mark(GUILD_ID) == newest
