"""Guild members and roles in the Discord stand-in, through the real discord.py client: giving and
taking roles with Discord's refusals, and the member, role and ban events a bot with the right
intents receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord
import pytest

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.discord.guilds import MANAGE_ROLES
from tests.fixtures.discord_gateway import (
    GUILD_ID,
    MEMBER_ID,
    MOD_ID,
    MOD_ROLE_ID,
    connected_bot,
    populate_guild,
)
from tests.fixtures.discord_standin import fail_on_violations, running_standin

VERIFIED_ID = 1_400_000_000_000_000_010
BOOSTER_ID = 1_400_000_000_000_000_011
NEWCOMER_ID = 1_500_000_000_000_000_010


class RoleBot(discord.Client):
    """A throwaway bot with the intents role sync and ban sync need."""

    def __init__(self, intents: discord.Intents | None = None) -> None:
        if intents is None:
            intents = discord.Intents.none()
            intents.guilds = intents.members = intents.moderation = True
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none())
        self.bans: list[int] = []

    async def on_member_ban(self, guild: discord.Guild, user: discord.User | discord.Member) -> None:
        self.bans.append(user.id)

    @property
    def guild(self) -> discord.Guild:
        guild = self.get_guild(GUILD_ID)
        assert guild is not None
        return guild

    def member(self, user_id: int) -> discord.Member:
        member = self.guild.get_member(user_id)
        assert member is not None, f"member {user_id} is not in discord.py's cache"
        return member


async def after(bot: discord.Client, event: str, action: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``action`` and return what discord.py's ``event`` carried (the listener is in place first)."""
    waiter = asyncio.ensure_future(bot.wait_for(event, timeout=5))
    await asyncio.sleep(0)
    await action()
    return await waiter


async def seed_roles(standin: DiscordStandIn) -> int:
    """Verified just above @everyone (below the bot's role), an integration's Booster role just
    above that (managed), the Moderator role above the bot's; the bot gets Manage Roles.  Returns the
    bot's role id."""
    standin.add_role(GUILD_ID, VERIFIED_ID, "Verified", position=1)
    standin.add_role(GUILD_ID, BOOSTER_ID, "Twitch Subscriber", position=2, integration_id=77)
    bot_role = standin.top_role(GUILD_ID, standin.bot_user.id)
    assert bot_role is not None
    await standin.update_role(GUILD_ID, bot_role.id, permissions=bot_role.permissions | MANAGE_ROLES)
    return bot_role.id


@pytest.fixture
async def roles_standin() -> AsyncIterator[DiscordStandIn]:
    async with running_standin() as standin:
        populate_guild(standin)
        await seed_roles(standin)
        yield standin
    fail_on_violations(standin)


def positions(standin: DiscordStandIn) -> dict[str, int]:
    return {r.name: r.position for r in standin.roles(GUILD_ID)}


async def test_roles_are_ranked_like_discord(roles_standin: DiscordStandIn) -> None:
    assert positions(roles_standin) == {
        "Verified": 1,
        "Twitch Subscriber": 2,
        "GroupBridge": 3,
        "Moderator": 4,
    }
    async with connected_bot(roles_standin, RoleBot()) as bot:
        fetched = {r.name: r for r in await bot.guild.fetch_roles()}
        assert fetched["Twitch Subscriber"].managed and fetched["GroupBridge"].managed
        assert not fetched["Verified"].managed
        assert fetched["Twitch Subscriber"].tags is not None
        assert fetched["Twitch Subscriber"].tags.integration_id == 77
        assert bot.guild.me.top_role.name == "GroupBridge"
        assert [r.name for r in bot.guild.roles] == [
            "@everyone",
            "Verified",
            "Twitch Subscriber",
            "GroupBridge",
            "Moderator",
        ]


async def test_the_bot_gives_and_takes_a_role_below_its_own(roles_standin: DiscordStandIn) -> None:
    async with connected_bot(roles_standin, RoleBot()) as bot:
        member, verified = bot.member(MEMBER_ID), bot.guild.get_role(VERIFIED_ID)
        assert verified is not None
        before, now = await after(bot, "member_update", lambda: member.add_roles(verified))
        assert verified not in before.roles and verified in now.roles
        assert roles_standin.member(GUILD_ID, MEMBER_ID).role_ids == (VERIFIED_ID,)
        before, now = await after(bot, "member_update", lambda: member.remove_roles(verified))
        assert verified in before.roles and verified not in now.roles
        assert roles_standin.member(GUILD_ID, MEMBER_ID).role_ids == ()
    calls = roles_standin.requests_to("PUT", f"/guilds/{GUILD_ID}/members/{MEMBER_ID}/roles/{VERIFIED_ID}")
    assert [c.status for c in calls] == [204]


async def test_giving_a_held_role_again_changes_nothing_and_sends_no_event(
    roles_standin: DiscordStandIn,
) -> None:
    await roles_standin.give_role(GUILD_ID, MEMBER_ID, VERIFIED_ID)
    async with connected_bot(roles_standin, RoleBot()) as bot:
        events = len(roles_standin.gateway.session.events)  # type: ignore[union-attr]
        await bot.http.add_role(GUILD_ID, MEMBER_ID, VERIFIED_ID)
        await bot.http.remove_role(GUILD_ID, MOD_ID, VERIFIED_ID)
        assert len(roles_standin.gateway.session.events) == events  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("role_id", "why"),
    [(MOD_ROLE_ID, "above the bot's highest role"), (BOOSTER_ID, "managed by an integration")],
)
async def test_discord_refuses_roles_the_bot_may_not_manage(
    roles_standin: DiscordStandIn, role_id: int, why: str
) -> None:
    async with connected_bot(roles_standin, RoleBot()) as bot:
        role = bot.guild.get_role(role_id)
        assert role is not None
        with pytest.raises(discord.Forbidden) as refused:
            await bot.member(MEMBER_ID).add_roles(role)
        assert (refused.value.status, refused.value.code, refused.value.text) == (
            403,
            50013,
            "Missing Permissions",
        )
        with pytest.raises(discord.Forbidden):
            await bot.member(MOD_ID).remove_roles(role)
    assert roles_standin.member(GUILD_ID, MEMBER_ID).role_ids == (), why
    assert roles_standin.member(GUILD_ID, MOD_ID).role_ids == (MOD_ROLE_ID,)


async def test_the_bot_s_own_role_and_everyone_cannot_be_handed_out(roles_standin: DiscordStandIn) -> None:
    async with connected_bot(roles_standin, RoleBot()) as bot:
        for role in (bot.guild.me.top_role, bot.guild.default_role):
            with pytest.raises(discord.Forbidden):
                await bot.http.add_role(GUILD_ID, MEMBER_ID, role.id)


async def test_without_manage_roles_nothing_is_assignable() -> None:
    async with running_standin() as standin:
        populate_guild(standin)
        standin.add_role(GUILD_ID, VERIFIED_ID, "Verified", position=1)
        async with connected_bot(standin, RoleBot()) as bot:
            with pytest.raises(discord.Forbidden) as refused:
                await bot.http.add_role(GUILD_ID, MEMBER_ID, VERIFIED_ID)
            assert refused.value.code == 50013
        assert not standin.violations


async def test_moving_the_bot_s_role_down_changes_what_it_may_assign(roles_standin: DiscordStandIn) -> None:
    async with connected_bot(roles_standin, RoleBot()) as bot:
        me = bot.guild.me.top_role
        old, new = await after(
            bot, "guild_role_update", lambda: roles_standin.update_role(GUILD_ID, me.id, position=1)
        )
        assert (old.position, new.position) == (3, 1)
        assert bot.guild.get_role(VERIFIED_ID).position == 2  # type: ignore[union-attr]
        with pytest.raises(discord.Forbidden):
            await bot.http.add_role(GUILD_ID, MEMBER_ID, VERIFIED_ID)


@pytest.mark.parametrize(
    ("user_id", "role_id", "code"),
    [(NEWCOMER_ID, VERIFIED_ID, 10007), (MEMBER_ID, 1_400_000_000_000_000_099, 10011)],
)
async def test_unknown_members_and_roles_are_not_found(
    roles_standin: DiscordStandIn, user_id: int, role_id: int, code: int
) -> None:
    async with connected_bot(roles_standin, RoleBot()) as bot:
        with pytest.raises(discord.NotFound) as missing:
            await bot.http.add_role(GUILD_ID, user_id, role_id)
        assert missing.value.code == code


async def test_a_bad_snowflake_is_refused_by_the_spec(roles_standin: DiscordStandIn) -> None:
    async with connected_bot(roles_standin, RoleBot()) as bot:
        with pytest.raises(discord.HTTPException) as refused:
            await bot.http.add_role(GUILD_ID, "not-a-user", VERIFIED_ID)
        assert refused.value.code == 50035
    assert roles_standin.violations and "user_id" in roles_standin.violations[0]
    roles_standin.violations.clear()
