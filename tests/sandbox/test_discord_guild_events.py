"""The member, ban and role events of the Discord stand-in, as discord.py receives them, only for the
intents the bot identified with; and the member, role and ban REST reads discord.py makes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import discord
import pytest

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.discord.guilds import BAN_MEMBERS, MANAGE_ROLES
from bot.sandbox.discord.intents import GUILD_MEMBERS, GUILDS
from bot.sandbox.discord.response_spec import ResponseChecker
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    GUILD_ID,
    MEMBER_ID,
    MOD_ID,
    connected_bot,
    populate_guild,
)
from tests.fixtures.discord_standin import running_standin
from tests.sandbox.test_discord_members import NEWCOMER_ID, VERIFIED_ID, RoleBot, after

STRANGER_ID = 1_500_000_000_000_000_020


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for the bot to have processed what the stand-in sent (events that follow the awaited one)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not condition():
        assert loop.time() < deadline, f"waited 5 s for {what}"
        await asyncio.sleep(0.01)


def event_types(standin: DiscordStandIn) -> list[str]:
    session = standin.gateway.session
    assert session is not None
    return [e["t"] for e in session.events]


async def test_members_join_change_and_leave(gateway_standin: DiscordStandIn) -> None:
    gateway_standin.add_role(GUILD_ID, VERIFIED_ID, "Verified", position=1)
    async with connected_bot(gateway_standin, RoleBot()) as bot:
        joined = await after(
            bot, "member_join", lambda: gateway_standin.join(GUILD_ID, NEWCOMER_ID, "newcomer")
        )
        assert (joined.id, joined.name, bot.guild.member_count) == (NEWCOMER_ID, "newcomer", 5)
        old, new = await after(
            bot, "member_update", lambda: gateway_standin.update_member(GUILD_ID, NEWCOMER_ID, nick="Newbie")
        )
        assert (old.nick, new.nick) == (None, "Newbie")
        old, new = await after(
            bot, "member_update", lambda: gateway_standin.give_role(GUILD_ID, NEWCOMER_ID, VERIFIED_ID)
        )
        assert [r.id for r in new.roles[1:]] == [VERIFIED_ID] and new.nick == "Newbie"
        gone = await after(bot, "member_remove", lambda: gateway_standin.leave(GUILD_ID, NEWCOMER_ID))
        assert gone.id == NEWCOMER_ID and bot.guild.get_member(NEWCOMER_ID) is None


async def test_a_ban_reaches_the_bot_before_the_member_leaves(gateway_standin: DiscordStandIn) -> None:
    async with connected_bot(gateway_standin, RoleBot()) as bot:
        guild, banned = await after(bot, "member_ban", lambda: gateway_standin.ban(GUILD_ID, MEMBER_ID))
        assert guild.id == GUILD_ID and isinstance(banned, discord.Member) and banned.id == MEMBER_ID
        await until(lambda: bot.guild.get_member(MEMBER_ID) is None, "GUILD_MEMBER_REMOVE after the ban")
        types = event_types(gateway_standin)
        assert types.index("GUILD_BAN_ADD") < types.index("GUILD_MEMBER_REMOVE")
        guild, user = await after(bot, "member_unban", lambda: gateway_standin.unban(GUILD_ID, MEMBER_ID))
        assert user.id == MEMBER_ID
        # Someone who never was a member can be banned too (a known troublemaker).
        _, stranger = await after(
            bot, "member_ban", lambda: gateway_standin.ban(GUILD_ID, STRANGER_ID, "troll")
        )
        assert isinstance(stranger, discord.User) and stranger.name == "troll"


async def test_roles_are_created_changed_and_deleted(gateway_standin: DiscordStandIn) -> None:
    async with connected_bot(gateway_standin, RoleBot()) as bot:
        role = await after(
            bot,
            "guild_role_create",
            lambda: gateway_standin.create_role(GUILD_ID, VERIFIED_ID, "Verified", position=1),
        )
        assert (role.id, role.position) == (VERIFIED_ID, 1)
        # The roles it pushed up come as updates after the create.
        await until(lambda: bot.guild.me.top_role.position == 2, "the bot's role moved up")
        old, new = await after(
            bot,
            "guild_role_update",
            lambda: gateway_standin.update_role(GUILD_ID, VERIFIED_ID, name="Linked"),
        )
        assert (old.name, new.name) == ("Verified", "Linked")
        await gateway_standin.give_role(GUILD_ID, MEMBER_ID, VERIFIED_ID)
        deleted = await after(
            bot, "guild_role_delete", lambda: gateway_standin.delete_role(GUILD_ID, VERIFIED_ID)
        )
        assert deleted.id == VERIFIED_ID
        assert gateway_standin.member(GUILD_ID, MEMBER_ID).role_ids == ()
        await until(lambda: bot.guild.me.top_role.position == 1, "the bot's role moved down")


async def test_a_bot_without_the_intents_hears_of_roles_only(gateway_standin: DiscordStandIn) -> None:
    intents = discord.Intents.none()
    intents.guilds = True
    async with connected_bot(gateway_standin, RoleBot(intents)):
        await gateway_standin.join(GUILD_ID, NEWCOMER_ID, "newcomer")
        await gateway_standin.update_member(GUILD_ID, MEMBER_ID, nick="Bobby")
        await gateway_standin.ban(GUILD_ID, NEWCOMER_ID)
        await gateway_standin.create_role(GUILD_ID, VERIFIED_ID, "Verified", position=1)
        sent = event_types(gateway_standin)
    assert "GUILD_ROLE_CREATE" in sent
    assert not [t for t in sent if t.startswith(("GUILD_MEMBER_", "GUILD_BAN_"))]


async def test_members_intent_alone_brings_no_bans(gateway_standin: DiscordStandIn) -> None:
    intents = discord.Intents.none()
    intents.guilds = intents.members = True
    async with connected_bot(gateway_standin, RoleBot(intents)):
        await gateway_standin.ban(GUILD_ID, MEMBER_ID)
        sent = event_types(gateway_standin)
    assert "GUILD_MEMBER_REMOVE" in sent and "GUILD_BAN_ADD" not in sent


async def test_a_ban_during_a_reconnect_reaches_the_bot_once(gateway_standin: DiscordStandIn) -> None:
    async with connected_bot(gateway_standin, RoleBot()) as bot:

        async def drop_then_ban() -> None:
            await gateway_standin.gateway.drop()  # the socket closes; the session stays resumable
            await gateway_standin.ban(GUILD_ID, MEMBER_ID)  # sent live or replayed by RESUME

        _, banned = await after(bot, "member_ban", drop_then_ban)
        await gateway_standin.gateway.wait_connected()
        await asyncio.sleep(0.1)  # a second delivery would have come by now
    assert banned.id == MEMBER_ID and bot.bans == [MEMBER_ID]
    assert gateway_standin.gateway.resume_count == 1


async def test_a_privileged_intent_the_application_lacks_stops_the_bot() -> None:
    async with running_standin() as standin:
        populate_guild(standin)
        standin.state.privileged_intents &= ~GUILD_MEMBERS
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with connected_bot(standin, RoleBot()):
                pass
        assert standin.gateway.connections[-1].close_code == 4014
        intents = discord.Intents.none()
        intents.guilds = intents.moderation = True
        async with connected_bot(standin, RoleBot(intents)) as bot:  # bans need no privileged intent
            with pytest.raises(discord.Forbidden) as refused:
                await bot.http.get_members(GUILD_ID, 1000, None)
            assert refused.value.code == 50001
        assert not standin.violations


async def test_members_are_fetched_by_id_and_paged_by_user_id(gateway_standin: DiscordStandIn) -> None:
    for n in range(1500):
        gateway_standin.add_member(GUILD_ID, 1_600_000_000_000_000_000 + n, f"fan{n:04d}")
    async with connected_bot(gateway_standin, RoleBot()) as bot:
        moderator = await bot.guild.fetch_member(MOD_ID)
        assert [r.name for r in moderator.roles[1:]] == ["Moderator"]
        with pytest.raises(discord.NotFound) as missing:
            await bot.guild.fetch_member(STRANGER_ID)
        assert missing.value.code == 10007
        everyone = [m.id async for m in bot.guild.fetch_members(limit=None)]
    assert len(everyone) == len(set(everyone)) == 1504
    pages = gateway_standin.requests_to("GET", f"/guilds/{GUILD_ID}/members")
    assert [p.query.get("limit") for p in pages] == ["1000", "1000"]
    # The second page starts after the highest user id of the first (the bot, 3 members, 996 fans).
    assert pages[1].query["after"] == str(1_600_000_000_000_000_995)


async def test_bans_are_listed_and_looked_up_with_ban_members(gateway_standin: DiscordStandIn) -> None:
    bot_role = gateway_standin.top_role(GUILD_ID, gateway_standin.bot_user.id)
    assert bot_role is not None
    await gateway_standin.ban(GUILD_ID, MEMBER_ID)
    await gateway_standin.ban(GUILD_ID, STRANGER_ID, "troll")
    async with connected_bot(gateway_standin, RoleBot()) as bot:
        with pytest.raises(discord.Forbidden):
            await bot.guild.fetch_ban(discord.Object(MEMBER_ID))
        await gateway_standin.update_role(
            GUILD_ID, bot_role.id, permissions=bot_role.permissions | BAN_MEMBERS
        )
        assert sorted([b.user.id async for b in bot.guild.bans()]) == [MEMBER_ID, STRANGER_ID]
        assert (await bot.guild.fetch_ban(discord.Object(STRANGER_ID))).user.name == "troll"
        with pytest.raises(discord.NotFound) as missing:
            await bot.guild.fetch_ban(discord.Object(ADMIN_ID))
        assert missing.value.code == 10026


def test_the_response_check_catches_a_member_discord_would_not_send(gateway_standin: DiscordStandIn) -> None:
    checker = ResponseChecker(gateway_standin.spec)
    member = gateway_standin.member(GUILD_ID, MOD_ID).to_payload(with_permissions=False)
    path = f"/guilds/{GUILD_ID}/members/{MOD_ID}"
    assert checker.check("GET", path, 200, member) == []
    del member["joined_at"]
    problems = checker.check("GET", path, 200, {**member, "roles": ["x"]})
    assert len(problems) == 2 and all(
        "GET /guilds/{guild_id}/members/{user_id} -> 200" in p for p in problems
    )
    assert any("joined_at" in p for p in problems) and any("roles/0" in p for p in problems)
    role = gateway_standin.roles(GUILD_ID)[0].to_payload()
    assert checker.check("GET", f"/guilds/{GUILD_ID}/roles", 200, [role]) == []
    assert checker.check("GET", f"/guilds/{GUILD_ID}/roles", 200, [{**role, "managed": "no"}])


def test_intents_constants_match_discord_py() -> None:
    assert discord.Intents(guilds=True).value == GUILDS
    assert discord.Intents(members=True).value == GUILD_MEMBERS
    assert discord.Permissions(manage_roles=True).value == MANAGE_ROLES
