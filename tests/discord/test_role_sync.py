"""`/rolesync` and role sync through the real bot, the Discord stand-in and the VRChat simulator:
mapping (and the refusal of management roles), the dry run, shadow and on, both directions, the
membership role, Discord's hierarchy refusal reported once, and loop-proofing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.bot import GroupBridgeBot
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.discord.guilds import MANAGE_ROLES
from bot.sandbox.vrchat.crowd import add_crowd
from bot.sandbox.vrchat.faults import Fault
from bot.store import Store
from bot.vrchat import VRChatClient
from bot.vrchat.errors import ServerError
from tests.discord.conftest import assert_messages_disable_mentions, command, first_reply
from tests.fixtures.discord_gateway import ADMIN_ID, FEED_CHANNEL_ID, GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import link_directly

VERIFIED_D = 1_400_000_000_000_000_201  # below the bot's role
MEMBER_D = 1_400_000_000_000_000_202  # below the bot's role
HIGH_D = 1_400_000_000_000_000_203  # above the bot's role: Discord refuses the bot
MOD_LINK_D = MOD_ID


@pytest.fixture
def roles_world(gateway_standin: DiscordStandIn, seeded_sim: SeededSim) -> str:
    """Discord roles (two assignable, one above the bot), the bot with Manage Roles, and a plain
    VRChat role "Verified"; returns its ID."""
    guild = gateway_standin.state.guilds[GUILD_ID]
    bot_member = guild.members[gateway_standin.state.bot.id]
    guild.roles[bot_member.role_ids[0]].permissions |= MANAGE_ROLES
    gateway_standin.add_role(GUILD_ID, VERIFIED_D, "Verified", position=1)
    gateway_standin.add_role(GUILD_ID, MEMBER_D, "Group member", position=1)
    gateway_standin.add_role(GUILD_ID, HIGH_D, "Council")  # on top, above the bot's
    guild.refresh_permissions()
    return seeded_sim.sim.state.add_role(seeded_sim.group.id, "Verified", permissions=()).id


@pytest.fixture(autouse=True)
def replies_private_and_silent(gateway_standin: DiscordStandIn):
    yield
    assert_messages_disable_mentions(gateway_standin)


def role(standin: DiscordStandIn, role_id: int) -> object:
    return standin.state.guilds[GUILD_ID].roles[role_id]


def holds(standin: DiscordStandIn, user_id: int, role_id: int) -> bool:
    return role_id in standin.member(GUILD_ID, user_id).role_ids


async def roles_cmd(standin: DiscordStandIn, sub: str, who: int = ADMIN_ID, **options: object) -> str:
    exchange = await command(standin, "rolesync", sub, dict(options), who=who, force=True)
    reply = first_reply(exchange)
    embeds = reply.get("embeds") or []
    parts = [reply.get("content") or ""]
    for embed in embeds:
        parts += [
            embed.get("title", ""),
            embed.get("description", ""),
            embed.get("footer", {}).get("text", ""),
        ]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def cog(bot: GroupBridgeBot) -> Any:
    """The RoleSync cog (discord.py loads the extension as a module of its own, so not an instance of
    the RoleSync this test imports)."""
    found = bot.get_cog("RoleSync")
    assert found is not None and type(found).__name__ == "RoleSync"
    return found


async def test_map_diff_shadow_and_on_copy_vrchat_roles_and_membership_to_discord(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    bob, alice = seeded_sim.member, seeded_sim.moderator
    seeded_sim.sim.state.assign_role(seeded_sim.group.id, bob.id, roles_world, seeded_sim.bot.id)
    await link_directly(bot_store, MEMBER_ID, bob.id)
    await link_directly(bot_store, MOD_ID, alice.id)
    async with make_bot() as bot:
        mapped = await roles_cmd(
            gateway_standin, "map", vrchat_role="Verified", discord_role=role(gateway_standin, VERIFIED_D),
            direction="vrchat_to_discord",
        )  # fmt: skip
        assert "Mapped VRChat role Verified" in mapped
        member = await roles_cmd(gateway_standin, "membership", role=role(gateway_standin, MEMBER_D))
        assert "Linked members of the VRChat group get" in member
        listed = await roles_cmd(gateway_standin, "list")
        assert "vrchat_to_discord" in listed and f"<@&{MEMBER_D}>" in listed and "Mode: off" in listed

        diff = await roles_cmd(gateway_standin, "diff")
        assert "In Discord: 3 change(s)" in diff and "In VRChat: 0 change(s)" in diff
        assert f"give <@&{VERIFIED_D}> to <@{MEMBER_ID}>" in diff
        assert f"give <@&{MEMBER_D}> to <@{MOD_ID}>" in diff
        assert not holds(gateway_standin, MEMBER_ID, VERIFIED_D)  # a dry run changes nothing

        assert "shadow mode" in await roles_cmd(gateway_standin, "mode", mode="shadow")
        await cog(bot).loop.full_round()
        assert not holds(gateway_standin, MEMBER_ID, VERIFIED_D)  # shadow changes nothing either
        assert await bot_store.list_actions(action="role") == []

        assert "Role sync is on" in await roles_cmd(gateway_standin, "mode", mode="on")
        assert await cog(bot).loop.full_round() == 3
        assert holds(gateway_standin, MEMBER_ID, VERIFIED_D) and holds(gateway_standin, MEMBER_ID, MEMBER_D)
        assert holds(gateway_standin, MOD_ID, MEMBER_D) and not holds(gateway_standin, MOD_ID, VERIFIED_D)
        logged = await bot_store.list_actions(action="role.discord.add")
        assert len(logged) == 3 and {a.target_id for a in logged} == {bob.id, alice.id}

        status = first_reply(await command(gateway_standin, "bridge", "status", {}, who=ADMIN_ID))
        (field,) = [f for f in status["embeds"][0]["fields"] if f["name"] == "Role sync"]
        assert "1 on" in field["value"] and "Server Members intent off" in field["value"]

        # Nothing left to do; a second round writes nothing.
        assert await cog(bot).loop.full_round() == 0
        assert "In Discord: 0 change(s)" in await roles_cmd(gateway_standin, "diff")

        # Bob leaves the VRChat group: he loses the membership role (and Verified, which VRChat took).
        seeded_sim.sim.state.leave(seeded_sim.group.id, bob.id)
        assert await cog(bot).loop.full_round() == 2
        assert not holds(gateway_standin, MEMBER_ID, MEMBER_D) and not holds(
            gateway_standin, MEMBER_ID, VERIFIED_D
        )


async def test_discord_to_vrchat_and_the_management_role_refusal(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    bob, group = seeded_sim.member, seeded_sim.group.id
    await link_directly(bot_store, MEMBER_ID, bob.id)
    async with make_bot() as bot:
        refused = await roles_cmd(
            gateway_standin, "map", vrchat_role="Moderator", discord_role=role(gateway_standin, VERIFIED_D),
            direction="discord_to_vrchat",
        )  # fmt: skip
        assert "carries management permissions" in refused and "allow_management" in refused
        assert await bot_store.role_mappings((await bot_store.list_bindings())[0].id) == []
        # One way into Discord is fine: it hands out no power in VRChat.
        ok = await roles_cmd(
            gateway_standin, "map", vrchat_role="Moderator", discord_role=role(gateway_standin, MEMBER_D),
            direction="vrchat_to_discord",
        )  # fmt: skip
        assert "Mapped" in ok
        await roles_cmd(
            gateway_standin, "map", vrchat_role=roles_world, discord_role=role(gateway_standin, VERIFIED_D),
            direction="both", source_of_truth="discord",
        )  # fmt: skip
        await roles_cmd(gateway_standin, "mode", mode="on")
        await gateway_standin.give_role(GUILD_ID, MEMBER_ID, VERIFIED_D)
        await cog(bot).loop.full_round()
        assert roles_world in seeded_sim.sim.state.membership(group, bob.id).role_ids
        (assigned,) = await bot_store.list_actions(action="role.assign")
        assert assigned.target_id == bob.id and assigned.details["why"].startswith("no history")

        # The audit entry of the bot's own assignment comes back: not a change to copy.
        assert await cog(bot).loop.check_events() == 0
        # Taken in Discord: taken in VRChat (the side that changed since they agreed).
        await gateway_standin.take_role(GUILD_ID, MEMBER_ID, VERIFIED_D)
        await cog(bot).loop.full_round()
        assert roles_world not in seeded_sim.sim.state.membership(group, bob.id).role_ids
        assert not holds(gateway_standin, MEMBER_ID, VERIFIED_D)


async def test_a_vrchat_role_vrchat_refuses_is_listed_by_name(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    group = seeded_sim.group.id
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    seeded_sim.sim.faults.add(Fault(method="PUT", path=rf"^/groups/{group}/members/.+/roles/", status=403))
    async with make_bot() as bot:
        await roles_cmd(
            gateway_standin, "map", vrchat_role=roles_world, discord_role=role(gateway_standin, VERIFIED_D),
            direction="discord_to_vrchat",
        )  # fmt: skip
        await roles_cmd(gateway_standin, "mode", mode="on")
        await gateway_standin.give_role(GUILD_ID, MEMBER_ID, VERIFIED_D)
        await cog(bot).loop.full_round()
        listed = await roles_cmd(gateway_standin, "list")
    assert f"⚠ refused: Verified (`{roles_world}`)" in listed


async def test_a_role_above_the_bots_is_reported_once_and_not_retried(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    await link_directly(bot_store, MOD_LINK_D, seeded_sim.moderator.id)
    async with make_bot() as bot:
        await roles_cmd(gateway_standin, "membership", role=role(gateway_standin, HIGH_D))
        await roles_cmd(gateway_standin, "mode", mode="on")
        await cog(bot).loop.full_round()
        await cog(bot).loop.full_round()
        notices = [
            m
            for m in gateway_standin.messages(FEED_CHANNEL_ID)
            if "Role sync cannot change" in (m.content or "")
        ]
        assert len(notices) == 1 and "not below the bot's highest role" in notices[0].content
        role_writes = [
            r for r in gateway_standin.requests if r.method == "PUT" and f"/roles/{HIGH_D}" in r.path
        ]
        assert len(role_writes) == 1  # the second member and the second round do not try again
        listed = await roles_cmd(gateway_standin, "list")
        assert "refused" in listed
        assert "removal" not in await roles_cmd(gateway_standin, "diff")


async def test_roles_commands_need_manage_server(
    make_bot, gateway_standin: DiscordStandIn, roles_world: str
) -> None:
    async with make_bot():
        for sub, options in (("list", {}), ("diff", {}), ("mode", {"mode": "on"})):
            text = await roles_cmd(gateway_standin, sub, who=MEMBER_ID, **options)
            assert "Only members with the Manage Server permission" in text


class SecondPageFails(VRChatClient):
    """The real client, except that VRChat answers 503 for every page of members after the first."""

    async def list_group_members(self, group_id: str, **kwargs: Any) -> list:  # type: ignore[override]
        if kwargs.get("offset", 0) > 0:
            raise ServerError("HTTP 503 from VRChat (test)")
        return await super().list_group_members(group_id, **kwargs)


async def test_a_partial_vrchat_listing_removes_nothing_but_still_adds(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    state, group = seeded_sim.sim.state, seeded_sim.group.id
    bob, dave = seeded_sim.member, seeded_sim.outsider
    state.add_member(group, dave.id)
    crowd = add_crowd(state, group, 150)
    await link_directly(bot_store, MOD_ID, dave.id)
    async with make_bot() as bot:
        await roles_cmd(gateway_standin, "membership", role=role(gateway_standin, MEMBER_D))
        await roles_cmd(gateway_standin, "mode", mode="on")
        await cog(bot).loop.full_round()
        assert holds(gateway_standin, MOD_ID, MEMBER_D)
        state.leave(group, dave.id)  # Dave leaves; the oldest member (page 1) and Bob (page 2) link
        await link_directly(bot_store, MEMBER_ID, crowd[0].id)
        await link_directly(bot_store, ADMIN_ID, bob.id)
        assert f"take <@&{MEMBER_D}> from <@{MOD_ID}>" in await roles_cmd(gateway_standin, "diff")

        bot.vrchat.__class__ = SecondPageFails  # from here on, page 2 of the members fails
        partial = await roles_cmd(gateway_standin, "diff")
        assert "listing the VRChat group's members failed" in partial
        assert f"give <@&{MEMBER_D}> to <@{MEMBER_ID}>" in partial and "take" not in partial
        await cog(bot).loop.full_round()
        assert holds(gateway_standin, MEMBER_ID, MEMBER_D)  # on page 1: given
        assert holds(gateway_standin, MOD_ID, MEMBER_D)  # Dave: kept, the listing was partial
        assert not holds(gateway_standin, ADMIN_ID, MEMBER_D)  # Bob, on the failed page: left alone
        assert await bot_store.list_actions(action="role.discord.remove") == []

        bot.vrchat.__class__ = VRChatClient
        await cog(bot).loop.full_round()
        assert not holds(gateway_standin, MOD_ID, MEMBER_D) and holds(gateway_standin, ADMIN_ID, MEMBER_D)


async def test_bad_mappings_are_refused_in_one_line_and_change_nothing(
    make_bot, gateway_standin: DiscordStandIn, bot_store: Store, roles_world: str
) -> None:
    bot_role = gateway_standin.bot_member(GUILD_ID).role_ids[0]
    async with make_bot():
        cases = [
            ({"vrchat_role": "Nope", "discord_role": role(gateway_standin, VERIFIED_D)}, "has no role"),
            ({"vrchat_role": "Verified", "discord_role": role(gateway_standin, bot_role)}, "cannot be given"),
            ({"vrchat_role": "Verified", "discord_role": role(gateway_standin, GUILD_ID)}, "cannot be given"),
        ]
        for options, why in cases:
            text = await roles_cmd(gateway_standin, "map", direction="both", **options)
            assert why in text and "\n" not in text.strip(), text
        assert "Mapped" in await roles_cmd(
            gateway_standin, "map", vrchat_role="verified", discord_role=role(gateway_standin, VERIFIED_D),
            direction="both",
        )  # fmt: skip
        again = await roles_cmd(
            gateway_standin, "map", vrchat_role=roles_world, discord_role=role(gateway_standin, MEMBER_D),
            direction="both",
        )  # fmt: skip
        assert "already mapped" in again
        taken = await roles_cmd(gateway_standin, "membership", role=role(gateway_standin, VERIFIED_D))
        assert "mapped to a VRChat role already" in taken
        (binding,) = await bot_store.list_bindings()
        assert len(await bot_store.role_mappings(binding.id)) == 1
        assert "No mapping" in await roles_cmd(gateway_standin, "unmap", role="Moderator")
        assert "Unmapped" in await roles_cmd(gateway_standin, "unmap", role="Verified")
        assert await bot_store.role_mappings(binding.id) == []
        actions = [a.action for a in await bot_store.list_actions(action="roles")]
        assert sorted(actions) == ["roles.map", "roles.unmap"]


async def test_a_role_sync_command_is_activity_on_its_group(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    """Role sync logs through the same action log as every feature: the feed hears of its actions too
    (bot.activity), as of any moderator's command on the group."""
    async with make_bot() as bot:
        heard: list[str] = []
        bot.group_activity.subscribe(heard.append)
        assert "shadow mode" in await roles_cmd(gateway_standin, "mode", mode="shadow")
    assert heard == [seeded_sim.group.id]
