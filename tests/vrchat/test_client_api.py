"""Every VRChatClient method against the validating simulator (which fails a test on any spec breach)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.vrchat import (
    AlreadyInvited,
    AlreadyMember,
    CannotInvite,
    Forbidden,
    InvalidReference,
    NotFound,
    VRChatClient,
)
from tests.fixtures.vrchat_sim import SeededSim


async def test_current_user_and_group(client: VRChatClient, seeded_sim: SeededSim) -> None:
    me = await client.get_current_user()
    assert me.id == seeded_sim.bot.id == client.user_id
    assert me.display_name == "GroupBridge Bot"
    group = await client.get_group(seeded_sim.group.id, include_roles=True)
    assert (group.name, group.short_code, group.discriminator) == ("Test Group", "TESTG", "1234")
    assert group.owner_id == seeded_sim.bot.id
    assert seeded_sim.moderator_role.id in {role.id for role in group.roles or []}


async def test_unknown_group_is_not_found(client: VRChatClient) -> None:
    with pytest.raises(NotFound):
        await client.get_group("grp_00000000-0000-0000-0000-000000000000")


async def test_roles(client: VRChatClient, seeded_sim: SeededSim) -> None:
    roles = await client.list_group_roles(seeded_sim.group.id)
    assert {r.name for r in roles} >= {"Moderator"}


async def test_member_pagination_over_250_members(client: VRChatClient, seeded_sim: SeededSim) -> None:
    state = seeded_sim.sim.state
    extra = [state.add_user(f"Member {i:03d}").id for i in range(258)]
    for user_id in extra:
        state.add_member(seeded_sim.group.id, user_id)
    seen = [m.user_id async for m in client.iter_group_members(seeded_sim.group.id)]
    # VRChat never lists the caller itself; everyone else exactly once.
    expected = set(extra) | {seeded_sim.moderator.id, seeded_sim.member.id}
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
    pages = [r for r in seeded_sim.sim.requests if r.path.endswith("/members")]
    assert [int(r.query["offset"]) for r in pages] == [0, 100, 200]


async def test_get_member_kick_ban_unban(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid, bob = seeded_sim.group.id, seeded_sim.member.id
    member = await client.get_group_member(gid, bob)
    assert member is not None and member.membership_status == "member"
    assert await client.get_group_member(gid, seeded_sim.outsider.id) is None

    await client.kick_member(gid, bob)
    assert not seeded_sim.sim.state.is_member(gid, bob)

    banned = await client.ban_member(gid, seeded_sim.outsider.id)
    assert banned.user_id == seeded_sim.outsider.id
    assert [b.user_id for b in await client.list_group_bans(gid)] == [seeded_sim.outsider.id]
    await client.unban_member(gid, seeded_sim.outsider.id)
    assert await client.list_group_bans(gid) == []

    types = [e.event_type for e in seeded_sim.sim.state.audit(gid)[:3]]
    assert types == ["group.user.unban", "group.user.ban", "group.member.remove"]


async def test_invites(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid, dave = seeded_sim.group.id, seeded_sim.outsider.id
    await client.invite_user(gid, dave)
    assert [i.user_id for i in await client.list_group_invites(gid)] == [dave]
    with pytest.raises(AlreadyInvited):
        await client.invite_user(gid, dave)
    await client.cancel_invite(gid, dave)
    assert await client.list_group_invites(gid) == []


async def test_invite_existing_member_is_its_own_error(client: VRChatClient, seeded_sim: SeededSim) -> None:
    with pytest.raises(AlreadyMember) as err:
        await client.invite_user(seeded_sim.group.id, seeded_sim.member.id)
    assert err.value.status == 400


async def test_invite_without_permission_is_cannot_invite(client_factory, seeded_sim: SeededSim) -> None:
    # Bob is a plain member: VRChat answers 403, which invite_user turns into CannotInvite.
    bob = await client_factory(username="member-bob", password="member pass", totp_secret=None)
    await bob.login()
    with pytest.raises(CannotInvite):
        await bob.invite_user(seeded_sim.group.id, seeded_sim.outsider.id)
    with pytest.raises(Forbidden):
        await bob.kick_member(seeded_sim.group.id, seeded_sim.moderator.id)


async def test_join_requests(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    pending = await client.list_join_requests(gid)
    assert [r.user_id for r in pending] == [carol]
    assert await client.list_join_requests(gid, blocked=True) == []
    await client.respond_join_request(gid, carol, "accept")
    assert seeded_sim.sim.state.is_member(gid, carol)
    assert await client.list_join_requests(gid) == []


async def test_reject_and_block(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    await client.respond_join_request(gid, carol, "reject", block=True)
    assert [r.user_id for r in await client.list_join_requests(gid, blocked=True)] == [carol]
    body = seeded_sim.sim.requests[-2].json  # the PUT, before the listing
    assert body == {"action": "reject", "block": True}


@pytest.mark.parametrize(
    ("action", "block", "needle"),
    [("approve", False, "accept' or 'reject"), ("accept", True, "only goes with action 'reject'")],
)
async def test_bad_join_request_answers_send_nothing(
    client: VRChatClient, seeded_sim: SeededSim, action: str, block: bool, needle: str
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(ValueError, match=needle):
        await client.respond_join_request(seeded_sim.group.id, seeded_sim.requester.id, action, block=block)
    assert len(seeded_sim.sim.requests) == before


async def test_posts(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid, role = seeded_sim.group.id, seeded_sim.moderator_role.id
    post = await client.create_post(
        gid, "Event tonight", "Meet at 8", "group", role_ids=[role], send_notification=True
    )
    assert post.id.startswith("not_") and post.role_ids == [role]  # VRChat answers `roleId`
    listed = await client.list_posts(gid)
    assert post.id in {p.id for p in listed}
    await client.delete_post(gid, post.id)
    assert post.id not in {p.id for p in await client.list_posts(gid)}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"visibility": "friends"}, "visibility must be"),
        (
            {"visibility": "public", "role_ids": ["grol_459d3911-f672-44bc-b84d-e54ffe7960fe"]},
            "roles can only",
        ),
        ({"title": "  "}, "title and a text"),
        ({"role_ids": ["moderators"]}, "group role ID"),
    ],
)
async def test_bad_posts_send_nothing(
    client: VRChatClient, seeded_sim: SeededSim, kwargs: dict, error: str
) -> None:
    args = {"title": "T", "text": "x", "visibility": "group", **kwargs}
    before = len(seeded_sim.sim.requests)
    with pytest.raises(ValueError, match=error):
        await client.create_post(seeded_sim.group.id, **args)
    assert len(seeded_sim.sim.requests) == before


async def test_audit_logs_and_filters(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    start = datetime.now(UTC) - timedelta(days=3)
    for i in range(30):
        seeded_sim.sim.state.add_audit_entry(
            gid,
            "group.update",
            seeded_sim.bot.id,
            gid,
            f"change {i}",
            created_at=start + timedelta(minutes=i),
        )
    page = await client.get_audit_logs(gid, n=10)
    assert len(page.results) == 10 and page.has_next and (page.total_count or 0) >= 30
    stamps = [e.created_at for e in page.results]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert all(e.id.startswith("gaud_") for e in page.results)

    since = start + timedelta(minutes=25)
    recent = await client.get_audit_logs(gid, start_date=since, event_types=["group.update"])
    assert [e.description for e in recent.results] == [f"change {i}" for i in range(29, 24, -1)]

    sent = seeded_sim.sim.requests[-1].query
    assert sent["eventTypes"] == "group.update" and sent["startDate"].endswith("Z")
    types = await client.list_audit_log_types(gid)
    assert "group.update" in types


async def test_naive_datetime_is_refused(client: VRChatClient, seeded_sim: SeededSim) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.get_audit_logs(seeded_sim.group.id, start_date=datetime(2026, 1, 1))


async def test_instances(client: VRChatClient, seeded_sim: SeededSim) -> None:
    instances = await client.list_group_instances(seeded_sim.group.id)
    assert len(instances) == 1 and instances[0].world is not None
    assert instances[0].world.name == "Test World"
    own = await client.list_user_group_instances(seeded_sim.bot.id)
    assert [i.world.name for i in own.instances if i.world] == ["Test World"]
    with pytest.raises(Forbidden):  # VRChat only answers this for the caller's own ID
        await client.list_user_group_instances(seeded_sim.member.id)


async def test_users(client: VRChatClient, seeded_sim: SeededSim) -> None:
    carol = await client.get_user(seeded_sim.requester.id)
    assert carol.display_name == "Carol" and carol.bio == "Let me in"
    found = await client.search_users("Alic")
    assert seeded_sim.moderator.id in {u.id for u in found}
    groups = await client.list_user_groups(seeded_sim.moderator.id)
    assert [(g.group_id, g.name) for g in groups] == [(seeded_sim.group.id, "Test Group")]
    assert await client.list_user_groups(seeded_sim.outsider.id) == []


async def test_search_groups(client: VRChatClient, seeded_sim: SeededSim) -> None:
    found = await client.search_groups("testg")
    assert [(g.id, g.short_code, g.discriminator) for g in found] == [(seeded_sim.group.id, "TESTG", "1234")]
    assert await client.search_groups("no such group") == []
    for bad in ("  ", "x" * 101):
        with pytest.raises(ValueError, match="group search"):
            await client.search_groups(bad)
    assert len(seeded_sim.sim.requests_to("GET", "/groups$")) == 2  # nothing sent for bad input


async def test_update_own_profile(client: VRChatClient, seeded_sim: SeededSim) -> None:
    me = await client.update_user(
        seeded_sim.bot.id, status="busy", status_description="Moderating", pronouns="it/its", bio_links=[]
    )
    assert (me.status, me.status_description, me.pronouns) == ("busy", "Moderating", "it/its")
    assert seeded_sim.sim.requests[-1].json == {
        "status": "busy",
        "statusDescription": "Moderating",
        "bioLinks": [],
        "pronouns": "it/its",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "online"},
        {"pronouns": "x" * 33},
        {"status_description": "y" * 40},
        {"bio_links": ["ftp://x"]},
    ],
)
async def test_bad_profile_values_send_nothing(
    client: VRChatClient, seeded_sim: SeededSim, kwargs: dict
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(ValueError):
        await client.update_user(seeded_sim.bot.id, **kwargs)
    assert len(seeded_sim.sim.requests) == before


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("get_group", ("ABCDE.1234",)),
        ("get_group", ("grp_../../auth",)),
        ("get_user", ("https://vrchat.com/home/user/usr_x",)),
        ("kick_member", ("grp_71a7ff59-112c-4e78-a990-c7cc650776e5", "../users")),
        ("invite_user", ("not-a-group", "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469")),
        ("delete_post", ("grp_71a7ff59-112c-4e78-a990-c7cc650776e5", "post-1")),
        ("list_user_groups", ("",)),
    ],
)
async def test_bad_ids_are_rejected_before_any_request(
    client: VRChatClient, seeded_sim: SeededSim, method: str, args: tuple
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(InvalidReference):
        await getattr(client, method)(*args)
    assert len(seeded_sim.sim.requests) == before


@pytest.mark.parametrize(("n", "offset"), [(0, 0), (101, 0), (10, -1)])
async def test_bad_paging_is_rejected(
    client: VRChatClient, seeded_sim: SeededSim, n: int, offset: int
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(ValueError):
        await client.list_group_members(seeded_sim.group.id, n=n, offset=offset)
    assert len(seeded_sim.sim.requests) == before


async def test_every_request_carries_the_user_agent(client: VRChatClient, seeded_sim: SeededSim) -> None:
    await client.get_group(seeded_sim.group.id)
    agents = {r.headers.get("User-Agent") for r in seeded_sim.sim.requests}
    assert agents == {"GroupBridge-tests/0.1 (+https://groupbridge.invalid; tests@groupbridge.invalid)"}
