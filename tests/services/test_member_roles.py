"""Member roles from Discord: given and taken in VRChat, kept in the action log and credited in the
feed, management roles refused unless the binding allows them, specific refusals."""

from __future__ import annotations

import pytest

from bot.config import Config
from bot.feed.attribution import credit
from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied, Services
from bot.store import AuditEntryIn, Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import EVE, FEED, GUILD, MAYA, actions, make_config, writes


def with_binding(seeded: SeededSim, **settings: object) -> Config:
    base = make_config(seeded.group.id).model_dump(mode="json", exclude_none=True)
    base["bindings"] = [{"group_id": seeded.group.id, "guild_id": GUILD, "feed_channel_id": FEED, **settings}]
    return Config.model_validate(base)


async def test_a_role_is_given_taken_logged_and_credited(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    state, gid, bob = seeded_sim.sim.state, seeded_sim.group.id, seeded_sim.member.id
    verified = state.add_role(gid, "Verified", permissions=["group-instance-join"])
    given = await services.member_roles.add(MAYA, gid, "Bob", "verified")
    assert given.changed and given.message == "Gave Bob the role Verified in Test Group."
    assert state.membership(gid, bob).role_ids == [verified.id]  # type: ignore[union-attr]
    again = await services.member_roles.add(MAYA, gid, bob, verified.id)
    assert not again.changed and "already has" in again.message
    found = await services.member_roles.roles_of(MAYA, gid, bob)
    assert [r.name for r in found.roles] == ["Verified"]
    taken = await services.member_roles.remove(MAYA, gid, bob, verified.id)
    assert taken.changed and state.membership(gid, bob).role_ids == []  # type: ignore[union-attr]

    log = [(a.action, a.target_id, a.discord_user_name) for a in reversed(await actions(bound))]
    assert log == [("member.role.add", bob, "maya"), ("member.role.remove", bob, "maya")]
    # The entries VRChat wrote (actor: the bot account) are credited to maya, as kicks and bans are.
    entries = [
        AuditEntryIn(
            id=e.id,
            created_at=e.created_at,
            event_type=e.event_type,
            actor_id=e.actor_id,
            target_id=e.target_id,
        )
        for e in state.audit(gid)[:2]
    ]
    credited = credit(entries, await actions(bound), seeded_sim.bot.id)
    assert [(c.event_type, c.discord_actor_name) for c in credited] == [
        ("group.member.role.unassign", "maya"),
        ("group.member.role.assign", "maya"),
    ]


async def test_management_roles_are_refused_unless_the_binding_allows_them(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, bob, moderator = seeded_sim.group.id, seeded_sim.member.id, seeded_sim.moderator_role
    refusing = Services(vrc, bound, with_binding(seeded_sim))
    with pytest.raises(PermissionDenied, match="management permissions"):
        await refusing.member_roles.add(MAYA, gid, bob, moderator.id)
    with pytest.raises(PermissionDenied, match="allow_management_roles"):
        await refusing.member_roles.remove(MAYA, gid, seeded_sim.moderator.id, "Moderator")
    assert moderator.id not in [r.role_id for r in await refusing.member_roles.group_roles(MAYA, gid)]
    assert writes(seeded_sim) == []

    allowing = Services(vrc, bound, with_binding(seeded_sim, allow_management_roles=True))
    assert (await allowing.member_roles.add(MAYA, gid, bob, moderator.id)).changed
    assert moderator.id in [r.role_id for r in await allowing.member_roles.group_roles(MAYA, gid)]


async def test_specific_refusals_change_nothing(services: Services, seeded_sim: SeededSim) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    verified = state.add_role(gid, "Verified")
    roles = services.member_roles
    with pytest.raises(PermissionDenied):
        await roles.add(EVE, gid, "Bob", verified.id)
    with pytest.raises(NotFoundError, match="not a member"):
        await roles.add(MAYA, gid, seeded_sim.outsider.id, verified.id)
    with pytest.raises(NotFoundError, match="no role"):
        await roles.add(MAYA, gid, "Bob", "Nope")
    with pytest.raises(InvalidInput):
        await roles.add(MAYA, gid, "Bob", "   ")
    with pytest.raises(InvalidInput):
        await roles.add(MAYA, gid, "Bob", "x\u0000y")
    with pytest.raises(InvalidInput, match="its own"):
        await roles.add(MAYA, gid, seeded_sim.bot.id, verified.id)
    state.add_role(gid, "verified")  # two roles, one name
    with pytest.raises(InvalidInput, match="Several roles"):
        await roles.add(MAYA, gid, "Bob", "Verified")
    assert writes(seeded_sim) == []
