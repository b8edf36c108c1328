"""Giving and taking group roles through the client, against the validating simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.vrchat import EVENT_ROLE_ASSIGN, EVENT_ROLE_UNASSIGN, Fault, VRChatSimulator
from bot.vrchat import Forbidden, InvalidReference, NotFound, OutcomeUnknown, Politeness, VRChatClient
from bot.vrchat.router import GroupRouter
from tests.fixtures.vrchat_accounts import BRAVO, TwoAccounts, open_pool, seed_two_accounts
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import ClientFactory

UNKNOWN_ROLE = "grol_00000000-0000-0000-0000-000000000000"


def role_path(seeded: SeededSim, user_id: str, role_id: str) -> str:
    return f"/groups/{seeded.group.id}/members/{user_id}/roles/{role_id}"


async def test_a_role_is_given_and_taken_with_vrchat_s_audit_entries(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    verified = state.add_role(gid, "Verified", permissions=["group-instance-join"])
    bob = seeded_sim.member.id

    assert await client.add_member_role(gid, bob, verified.id) == [verified.id]
    assert state.membership(gid, bob).role_ids == [verified.id]  # type: ignore[union-attr]
    given = state.audit(gid)[0]
    assert (given.event_type, given.actor_id, given.target_id) == (EVENT_ROLE_ASSIGN, seeded_sim.bot.id, bob)
    assert given.data == {"roleId": verified.id, "roleName": "Verified"}

    assert await client.remove_member_role(gid, bob, verified.id) == []
    taken = state.audit(gid)[0]
    assert (taken.event_type, taken.target_id, taken.data["roleId"]) == (
        EVENT_ROLE_UNASSIGN,
        bob,
        verified.id,
    )


async def test_giving_a_held_role_or_taking_a_missing_one_changes_nothing(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    alice, moderator = seeded_sim.moderator.id, seeded_sim.moderator_role.id
    entries = len(state.audit(gid))
    assert await client.add_member_role(gid, alice, moderator) == [moderator]
    assert await client.remove_member_role(gid, seeded_sim.member.id, moderator) == []
    assert len(state.audit(gid)) == entries


async def test_a_caller_without_group_roles_assign_is_forbidden(
    moderator_client: VRChatClient, seeded_sim: SeededSim
) -> None:
    # Alice's moderator role has the usual moderation permissions, but not group-roles-assign.
    alice = moderator_client
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    entries = len(state.audit(gid))
    with pytest.raises(Forbidden):
        await alice.add_member_role(gid, seeded_sim.member.id, seeded_sim.moderator_role.id)
    with pytest.raises(Forbidden):
        await alice.remove_member_role(gid, seeded_sim.moderator.id, seeded_sim.moderator_role.id)
    assert state.membership(gid, seeded_sim.member.id).role_ids == []  # type: ignore[union-attr]
    assert len(state.audit(gid)) == entries

    clerk = state.add_role(gid, "Role Clerk", permissions=["group-roles-assign"])
    state.membership(gid, seeded_sim.moderator.id).role_ids.append(clerk.id)  # type: ignore[union-attr]
    assert await alice.add_member_role(gid, seeded_sim.member.id, clerk.id) == [clerk.id]


async def test_strangers_and_unknown_roles_are_not_found(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    with pytest.raises(NotFound):
        await client.add_member_role(gid, seeded_sim.outsider.id, seeded_sim.moderator_role.id)
    with pytest.raises(NotFound):
        await client.add_member_role(gid, seeded_sim.requester.id, seeded_sim.moderator_role.id)
    with pytest.raises(NotFound):
        await client.remove_member_role(gid, seeded_sim.member.id, UNKNOWN_ROLE)


@pytest.mark.parametrize("method", ["add_member_role", "remove_member_role"])
@pytest.mark.parametrize(
    "which",
    ["group", "user", "role"],
)
async def test_bad_ids_are_refused_before_anything_is_sent(
    client: VRChatClient, seeded_sim: SeededSim, method: str, which: str
) -> None:
    args = {"group": seeded_sim.group.id, "user": seeded_sim.member.id, "role": seeded_sim.moderator_role.id}
    args[which] = "../auditLogs"
    before = len(seeded_sim.sim.requests)
    with pytest.raises(InvalidReference):
        await getattr(client, method)(args["group"], args["user"], args["role"])
    assert len(seeded_sim.sim.requests) == before


@pytest.mark.parametrize(("method", "verb"), [("add_member_role", "PUT"), ("remove_member_role", "DELETE")])
async def test_a_write_that_times_out_is_not_repeated(
    client_factory: ClientFactory, seeded_sim: SeededSim, method: str, verb: str
) -> None:
    fast = Politeness(requests_per_second=200, burst=20, base_backoff=0.01, timeout=0.3)
    vrc = await client_factory(politeness=fast)
    await vrc.login()
    path = role_path(seeded_sim, seeded_sim.moderator.id, seeded_sim.moderator_role.id)
    seeded_sim.sim.faults.add(Fault(method=verb, path=path, delay=1.0, times=1))
    with pytest.raises(OutcomeUnknown):
        await getattr(vrc, method)(seeded_sim.group.id, seeded_sim.moderator.id, seeded_sim.moderator_role.id)
    assert len(seeded_sim.sim.requests_to(verb, "/roles/")) == 1


@pytest.mark.parametrize(("method", "verb"), [("add_member_role", "PUT"), ("remove_member_role", "DELETE")])
async def test_a_gateway_error_on_a_write_is_outcome_unknown(
    client: VRChatClient, seeded_sim: SeededSim, method: str, verb: str
) -> None:
    path = role_path(seeded_sim, seeded_sim.moderator.id, seeded_sim.moderator_role.id)
    seeded_sim.sim.faults.add(Fault(method=verb, path=path, status=502, times=1))
    with pytest.raises(OutcomeUnknown):
        await getattr(client, method)(
            seeded_sim.group.id, seeded_sim.moderator.id, seeded_sim.moderator_role.id
        )
    assert len(seeded_sim.sim.requests_to(verb, "/roles/")) == 1


async def test_the_router_sends_role_changes_as_the_account_serving_the_group(
    vrchat_sim_two: TwoAccounts, tmp_path: Path
) -> None:
    two = vrchat_sim_two
    state = two.sim.state
    verified = state.add_role(two.only_b.id, "Verified")
    state.add_member(two.only_b.id, two.requester.id)
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        assert await router.add_member_role(two.only_b.id, two.requester.id, verified.id) == [verified.id]
        assert await router.remove_member_role(two.only_b.id, two.requester.id, verified.id) == []
    finally:
        await pool.close()
    actors = {e.actor_id for e in state.audit(two.only_b.id) if e.event_type.startswith("group.member.role")}
    assert actors == {two.user_of(BRAVO).id}


@pytest.fixture
def vrchat_sim_two(vrchat_sim: VRChatSimulator) -> TwoAccounts:
    return seed_two_accounts(vrchat_sim)
