"""Kick, ban, unban: applied in VRChat, recorded with the reason, specific refusals."""

from __future__ import annotations

import pytest

from bot.config import Config
from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied, ServiceError, Services
from bot.store import Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import EVE, MAYA, SAM, ClientFactory, actions, writes


async def test_kick_ban_unban_are_recorded_with_the_reason(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, bob, dave = seeded_sim.group.id, seeded_sim.member.id, seeded_sim.outsider.id
    kicked = await services.moderation.kick(MAYA, gid, "Bob", reason="  spamming  ")
    assert kicked.message == "Removed Bob from Test Group. Reason: spamming"
    assert not seeded_sim.sim.state.is_member(gid, bob)

    banned = await services.moderation.ban(SAM, gid, f"https://vrchat.com/home/user/{dave}", "alt account")
    assert (banned.user_id, banned.display_name) == (dave, "Dave")
    assert seeded_sim.sim.state.membership(gid, dave).status == "banned"  # type: ignore[union-attr]
    unbanned = await services.moderation.unban(MAYA, gid, dave)
    assert unbanned.message == "Unbanned Dave in Test Group."
    assert seeded_sim.sim.state.membership(gid, dave) is None

    log = [
        (a.action, a.outcome, a.target_id, a.discord_user_name, a.details)
        for a in reversed(await actions(bound))
    ]
    assert log == [
        ("member.kick", "ok", bob, "maya", {"reason": "spamming", "display_name": "Bob"}),
        ("member.ban", "ok", dave, "sam", {"reason": "alt account", "display_name": "Dave"}),
        ("member.unban", "ok", dave, "maya", {"reason": "", "display_name": "Dave"}),
    ]


async def test_specific_refusals(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid, dave = seeded_sim.group.id, seeded_sim.outsider.id
    with pytest.raises(NotFoundError) as not_member:
        await services.moderation.kick(MAYA, gid, dave)
    assert str(not_member.value) == "Dave is not a member of Test Group, so there is nobody to remove."
    with pytest.raises(NotFoundError) as not_banned:
        await services.moderation.unban(MAYA, gid, dave)
    assert str(not_banned.value) == "Dave is not banned from Test Group."
    await services.moderation.ban(MAYA, gid, dave)
    with pytest.raises(ServiceError) as twice:
        await services.moderation.ban(MAYA, gid, dave)
    assert str(twice.value) == "Dave is already banned from Test Group."
    outcomes = [(a.action, a.outcome) for a in reversed(await actions(bound))]
    assert outcomes == [
        ("member.kick", "error"),
        ("member.unban", "error"),
        ("member.ban", "ok"),
        ("member.ban", "error"),
    ]


async def test_refusals_before_anything_is_sent(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    with pytest.raises(InvalidInput, match=r"The reason is 513 characters long; the limit is 512\."):
        await services.moderation.ban(MAYA, gid, seeded_sim.member.id, "r" * 513)
    with pytest.raises(PermissionDenied):
        await services.moderation.kick(EVE, gid, seeded_sim.member.id)
    with pytest.raises(InvalidInput, match="is not a VRChat user ID"):
        await services.moderation.ban(MAYA, gid, "usr_???")
    with pytest.raises(InvalidInput, match="its own VRChat account"):
        await services.moderation.ban(MAYA, gid, seeded_sim.bot.id)
    assert writes(seeded_sim) == []
    assert await actions(bound) == []
    assert seeded_sim.sim.state.is_member(gid, seeded_sim.member.id)


async def test_vrchat_refusing_the_bot(
    bound: Store, seeded_sim: SeededSim, login: ClientFactory, config: Config
) -> None:
    bob = Services(await login("member-bob", "member pass"), bound, config)
    with pytest.raises(PermissionDenied) as refused:
        await bob.moderation.kick(MAYA, seeded_sim.group.id, seeded_sim.moderator.id)
    assert str(refused.value).startswith("VRChat did not let the bot remove Alice: the group owner cannot be")
    assert seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.moderator.id)
    (record,) = await actions(bound)
    assert (record.action, record.outcome) == ("member.kick", "error")
    assert record.error is not None and "Forbidden" in record.error
