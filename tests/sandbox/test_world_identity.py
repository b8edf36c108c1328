"""The offline world's identity helpers (bot.sandbox.identity): what process tests of links and role
sync start from, exercised with the real clients (no bot process needed for these)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from bot.sandbox.identity import IdentityRoles
from bot.sandbox.world import GUILD_ID, MEMBER_ID, TOKEN, SandboxWorld
from bot.vrchat import Politeness, VRChatClient
from bot.vrchat.permissions import is_management_role
from tests.fixtures.discord_gateway import connected_bot
from tests.fixtures.discord_standin import fail_on_violations
from tests.fixtures.vrchat_sim import world_client
from tests.sandbox.test_discord_members import RoleBot


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SandboxWorld]:
    async with SandboxWorld(tmp_path / "world") as started:
        yield started
    fail_on_violations(started.discord)
    assert not started.sim.violations


@pytest.fixture
async def vrchat(world: SandboxWorld, tmp_path: Path) -> AsyncIterator[VRChatClient]:
    fast = Politeness(requests_per_second=500, burst=50, timeout=5)
    async with world_client(world, tmp_path / "client-session.json", fast) as client:
        await client.login()
        yield client


async def test_the_roles_to_map_are_one_ordinary_and_one_management(
    world: SandboxWorld, vrchat: VRChatClient
) -> None:
    roles = world.seed_identity()
    listed = {r.name: r for r in await vrchat.list_group_roles(world.community.group.id)}
    assert not is_management_role(listed["Verified"]) and is_management_role(listed["Moderator"])
    fern = world.players.named("Fern")
    given = await vrchat.add_member_role(world.community.group.id, fern.id, roles.vrchat_verified.id)
    assert given == [roles.vrchat_verified.id]
    ben = world.players.named("Ben")
    assert world.players.give_role(ben, roles.vrchat_verified, by="Aiko") == [roles.vrchat_verified.id]
    entry = world.sim.state.audit(world.community.group.id)[0]
    assert (entry.event_type, entry.actor_id, entry.data["roleName"]) == (
        "group.member.role.assign",
        world.players.named("Aiko").id,
        "Verified",
    )
    assert world.players.take_role(ben, roles.vrchat_verified, by="Aiko") == []


async def test_the_bot_may_give_verified_but_not_staff_or_a_managed_role(world: SandboxWorld) -> None:
    roles: IdentityRoles = world.seed_identity()
    async with connected_bot(world.discord, RoleBot(), token=TOKEN) as bot:
        member = bot.member(MEMBER_ID)
        await member.add_roles(discord.Object(roles.discord_verified))
        for refused in (roles.discord_staff, roles.discord_booster):
            with pytest.raises(discord.Forbidden):
                await member.add_roles(discord.Object(refused))
        assert bot.guild.me.guild_permissions.manage_roles and bot.guild.me.guild_permissions.ban_members
    assert world.discord.member(GUILD_ID, MEMBER_ID).role_ids == (roles.discord_verified,)


async def test_a_player_s_profile_edit_is_what_the_bot_reads(
    world: SandboxWorld, vrchat: VRChatClient
) -> None:
    world.players.edit_profile("Dana", bio="my discord: dana", status_description="GB-LINK-42")
    user = await vrchat.get_user(world.players.named("Dana").id)
    assert (user.bio, user.status_description) == ("my discord: dana", "GB-LINK-42")
    with pytest.raises(LookupError):
        world.players.named("Nobody")


async def test_a_crowd_joins_the_world_s_group(world: SandboxWorld, vrchat: VRChatClient) -> None:
    crowd = world.players.crowd(1200, name="Fan")
    seen = [m.user_id async for m in vrchat.iter_group_members(world.community.group.id)]
    assert len(seen) == 1206 and {u.id for u in crowd} <= set(seen)  # with the six seeded members
