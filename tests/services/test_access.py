"""Permission checks: moderator roles, Manage Server, the allow-list, the server's bindings."""

from __future__ import annotations

import dataclasses

import pytest

from bot.services.registry import Actor, InvalidInput, NotFoundError, PermissionDenied, Services
from bot.store import BindingIn, Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, EVE, FEED, GHOST_GROUP, GUILD, MAYA, MOD_ROLE, OTHER_GUILD

NOT_ALLOWED = "grp_00000000-0000-4000-8000-0000000000aa"


async def test_moderator_role_or_manage_server(services: Services, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    binding = await services.access.require_moderator(MAYA, gid)
    assert binding.group_id == gid and binding.moderator_role_ids == (MOD_ROLE,)
    assert (await services.access.require_moderator(ADA, gid)).id == binding.id
    with pytest.raises(PermissionDenied) as refused:
        await services.access.require_moderator(EVE, gid)
    assert str(refused.value) == (
        f"You need one of the moderator roles for Test Group (<@&{MOD_ROLE}>) or the Manage Server "
        "permission to do that."
    )


async def test_binding_without_moderator_roles_needs_manage_server(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    (binding,) = await bound.list_bindings(guild_id=GUILD)
    await bound.remove_binding(binding.id)
    await bound.add_binding(BindingIn(gid, GUILD, FEED))
    with pytest.raises(PermissionDenied, match="No moderator roles are set for Test Group"):
        await services.access.require_moderator(MAYA, gid)
    await services.access.require_moderator(ADA, gid)


async def test_other_servers_and_direct_messages(services: Services, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    elsewhere = dataclasses.replace(MAYA, guild_id=OTHER_GUILD)
    with pytest.raises(NotFoundError, match="This server is not linked to the VRChat group Test Group"):
        await services.access.require_moderator(elsewhere, gid)
    with pytest.raises(PermissionDenied, match="inside a Discord server"):
        await services.access.require_moderator(dataclasses.replace(MAYA, guild_id=None), gid)
    with pytest.raises(PermissionDenied, match="inside a Discord server"):
        services.access.require_admin(dataclasses.replace(ADA, guild_id=None))


async def test_allow_list_is_checked_even_for_bound_groups(services: Services, bound: Store) -> None:
    await bound.add_binding(BindingIn(NOT_ALLOWED, GUILD, FEED + 5, moderator_role_ids=(MOD_ROLE,)))
    with pytest.raises(PermissionDenied) as refused:
        await services.access.require_moderator(ADA, NOT_ALLOWED)
    assert str(refused.value) == (
        f"{NOT_ALLOWED} is not one of the groups this bot may manage (see [[groups]] in config.toml)."
    )
    services.access.require_allowed_group(GHOST_GROUP)  # allowed, if unknown to VRChat


def test_require_admin(services: Services) -> None:
    services.access.require_admin(ADA)
    with pytest.raises(PermissionDenied, match="Manage Server"):
        services.access.require_admin(MAYA)


async def test_default_group(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    assert await services.access.default_group(MAYA) == seeded_sim.group.id
    # A second channel for the same group is still one group.
    await bound.add_binding(BindingIn(seeded_sim.group.id, GUILD, FEED + 1))
    assert await services.access.default_group(MAYA) == seeded_sim.group.id
    assert len(await services.access.groups_of_guild(GUILD)) == 2

    await bound.add_binding(BindingIn(GHOST_GROUP, GUILD, FEED + 2))
    with pytest.raises(InvalidInput, match=r"several groups \(Test Group, grp_.*dead\); pick one"):
        await services.access.default_group(MAYA)

    lonely = Actor(5, "lee", OTHER_GUILD, frozenset(), True)
    with pytest.raises(NotFoundError, match="not linked to any VRChat group yet"):
        await services.access.default_group(lonely)
