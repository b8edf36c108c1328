"""Listing a group's members and roles through the client, against the validating simulator."""

from __future__ import annotations

import time

import pytest

from bot.sandbox.vrchat import add_crowd
from bot.vrchat import InvalidReference, VRChatClient
from bot.vrchat.models import MemberSort
from bot.vrchat.paging import MAX_PAGE
from bot.vrchat.permissions import is_management_role
from tests.fixtures.vrchat_sim import SeededSim


def member_pages(seeded: SeededSim) -> list[dict[str, str]]:
    return [r.query for r in seeded.sim.requests if r.path.endswith("/members")]


async def test_members_are_listed_oldest_first_or_newest_first(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    crowd = add_crowd(seeded_sim.sim.state, seeded_sim.group.id, 5)
    oldest = await client.list_group_members(seeded_sim.group.id, n=3, sort=MemberSort.JOINED_ASC)
    assert [m.user_id for m in oldest] == [u.id for u in crowd[:3]]
    newest = await client.list_group_members(seeded_sim.group.id, n=2, sort="joinedAt:desc")
    assert [m.user_id for m in newest] == [seeded_sim.member.id, seeded_sim.moderator.id]
    assert [q.get("sort") for q in member_pages(seeded_sim)] == ["joinedAt:asc", "joinedAt:desc"]


async def test_members_holding_one_role(client: VRChatClient, seeded_sim: SeededSim) -> None:
    role = seeded_sim.moderator_role.id
    holders = await client.list_group_members(seeded_sim.group.id, role_id=role)
    assert [m.user_id for m in holders] == [seeded_sim.moderator.id]
    assert holders[0].role_ids == [role]


async def test_bad_sort_or_role_is_refused_before_anything_is_sent(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(ValueError, match="sort must be one of"):
        await client.list_group_members(seeded_sim.group.id, sort="displayName:asc")
    with pytest.raises(InvalidReference):
        await client.list_group_members(seeded_sim.group.id, role_id="Moderator")
    assert len(seeded_sim.sim.requests) == before


@pytest.mark.slow  # 5,002 members through the validating simulator
async def test_five_thousand_members_are_walked_once_each_at_the_largest_page(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    crowd = add_crowd(seeded_sim.sim.state, gid, 5000)
    started = time.perf_counter()
    seen = [m.user_id async for m in client.iter_group_members(gid)]
    elapsed = time.perf_counter() - started
    expected = {u.id for u in crowd} | {seeded_sim.moderator.id, seeded_sim.member.id}
    assert len(seen) == len(set(seen)) == len(expected) == 5002
    assert set(seen) == expected
    pages = member_pages(seeded_sim)
    assert len(pages) == 51  # 5,002 others at 100 a page; the caller is never listed
    assert {q["n"] for q in pages} == {str(MAX_PAGE)} and {q["sort"] for q in pages} == {"joinedAt:asc"}
    print(f"\n5,002 members in {len(pages)} pages in {elapsed:.2f} s at the test client's rate")


async def test_a_page_one_short_does_not_end_the_walk(client: VRChatClient, seeded_sim: SeededSim) -> None:
    # 99 others: VRChat may have taken the caller out of a full page, so one more page is asked for.
    add_crowd(seeded_sim.sim.state, seeded_sim.group.id, 97)
    seen = [m.user_id async for m in client.iter_group_members(seeded_sim.group.id)]
    assert len(seen) == 99
    assert [q["offset"] for q in member_pages(seeded_sim)] == ["0", "99"]


async def test_a_join_during_a_newest_first_walk_repeats_nobody(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    crowd = add_crowd(state, gid, 150)
    seen: list[str] = []
    async for member in client.iter_group_members(gid, sort=MemberSort.JOINED_DESC):
        if len(seen) == 1:  # the first page is in; shift every later offset by one
            state.join(gid, state.add_user("Latecomer").id)
        seen.append(member.user_id)
    assert len(seen) == len(set(seen))
    assert {u.id for u in crowd} <= set(seen)


async def test_a_join_during_an_oldest_first_walk_is_seen(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    add_crowd(state, gid, 150)
    late = state.add_user("Latecomer")
    seen: list[str] = []
    async for member in client.iter_group_members(gid):
        if len(seen) == 1:
            state.join(gid, late.id)
        seen.append(member.user_id)
    assert len(seen) == len(set(seen)) == 153
    assert seen[-1] == late.id


async def test_roles_carry_their_permissions(client: VRChatClient, seeded_sim: SeededSim) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    state.add_role(gid, "Verified", permissions=["group-instance-join", "group-instance-open-create"])
    state.add_role(gid, "Greeter", permissions=["group-invites-manage"])
    roles = {r.name: r for r in await client.list_group_roles(gid)}
    assert roles["Verified"].permissions == ["group-instance-join", "group-instance-open-create"]
    verdicts = {name: is_management_role(role) for name, role in roles.items()}
    assert verdicts == {"Moderator": True, "Verified": False, "Greeter": True}
