"""Lookups: a user's profile and groups, the bot account's group instances (read-only, moderators only)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.config import Config
from bot.sandbox.vrchat import SimUser
from bot.sandbox.vrchat.faults import Fault
from bot.services.lookups import group_lines
from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied, ServiceError, Services
from bot.store import BindingIn, Store
from bot.vrchat import VRChatClient
from bot.vrchat.ids import launch_url
from bot.vrchat.models import UserGroup
from tests.fixtures.vrchat_sim import SeededSim, joiner_of_many
from tests.services.conftest import ADA, EVE, FEED, GUILD, MAYA, OTHER_GUILD, Actor, writes

TODAY = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WORLD = "wrld_4cf554b4-430c-4f8f-b53e-1f294eed230b"


@pytest.fixture
def fixed(vrc: VRChatClient, bound: Store, config: Config) -> Services:
    """Services whose clock says TODAY."""
    return Services(vrc, bound, config, clock=lambda: TODAY)


def many_groups(seeded: SeededSim, count: int) -> SimUser:
    """A user who is a member of `count` new groups (owned by someone else) plus the seeded one."""
    joiner = joiner_of_many(seeded, count)
    seeded.sim.state.add_member(seeded.group.id, joiner.id)
    return joiner


def user_gets(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("GET", r"^/users"))


# ------------------------------------------------------------------ /vrc user


async def test_a_user_in_one_group_gets_a_profile_card(fixed: Services, seeded_sim: SeededSim) -> None:
    bob = seeded_sim.member
    bob.date_joined = date(2026, 1, 30)
    bob.tags = ["system_trust_basic", "system_trust_known"]
    bob.pronouns = "he/him"
    bob.bio = "Hello " * 50
    profile = await fixed.lookups.user_profile(MAYA, bob.id)
    assert (profile.user_id, profile.display_name) == (bob.id, "Bob")
    assert profile.profile_url == f"https://vrchat.com/home/user/{bob.id}"
    assert profile.account_created == date(2026, 1, 30) and profile.account_age_days == 30
    assert profile.trust_rank == "User" and profile.pronouns == "he/him"
    assert profile.avatar_url and profile.avatar_url.startswith("https://")
    assert profile.bio_excerpt.startswith("Hello") and len(profile.bio_excerpt) == 200
    assert profile.adult is False
    (group,) = profile.groups
    assert (group.group_id, group.name, group.short_code) == (seeded_sim.group.id, "Test Group", "TESTG.1234")
    assert group.member_count == seeded_sim.sim.state.group(seeded_sim.group.id).member_count
    assert group.linked is True and group.url == f"https://vrchat.com/home/group/{seeded_sim.group.id}"


async def test_a_user_in_no_group_is_said_plainly(services: Services, seeded_sim: SeededSim) -> None:
    profile = await services.lookups.user_profile(MAYA, "Dave")  # by exact display name
    assert profile.user_id == seeded_sim.outsider.id and profile.groups == ()
    assert profile.no_groups_text == "Dave shows no groups (the list may be private)."


async def test_a_private_group_list_reads_like_an_empty_one(
    services: Services, seeded_sim: SeededSim
) -> None:
    fault = seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/users/[^/]+/groups$", status=403))
    profile = await services.lookups.user_profile(MAYA, seeded_sim.member.id)
    assert fault.hits == 1 and profile.groups == ()
    assert profile.no_groups_text == "Bob shows no groups (the list may be private)."


async def test_120_groups_with_the_linked_one_first(services: Services, seeded_sim: SeededSim) -> None:
    joiner = many_groups(seeded_sim, 119)
    profile = await services.lookups.user_profile(ADA, joiner.id)
    assert len(profile.groups) == 120
    assert profile.groups[0].group_id == seeded_sim.group.id and profile.groups[0].linked
    assert [g.name for g in profile.groups[1:4]] == ["Club 000", "Club 001", "Club 002"]
    assert not any(g.linked for g in profile.groups[1:])
    assert {g.short_code for g in profile.groups[1:3]} == {"CL000.0001", "CL001.0001"}


@pytest.mark.parametrize(("status", "adult"), [("18+", True), ("verified", False), ("hidden", False)])
async def test_18_plus_only_for_exactly_18_plus(
    services: Services, seeded_sim: SeededSim, status: str, adult: bool
) -> None:
    seeded_sim.member.age_verification_status = status
    assert (await services.lookups.user_profile(MAYA, seeded_sim.member.id)).adult is adult


def test_mutual_groups_come_after_linked_ones() -> None:
    linked = "grp_71a7ff59-112c-4e78-a990-c7cc650776e5"
    entries = [
        UserGroup(groupId="grp_11111111-1111-4111-8111-111111111111", name="Plain"),
        UserGroup(groupId="grp_22222222-2222-4222-8222-222222222222", name="Shared", mutualGroup=True),
        UserGroup(groupId=linked, name="Ours", shortCode="OURS", discriminator="0420"),
        UserGroup(groupId="bogus", name="Odd", shortCode="ODD"),
    ]
    lines = group_lines(entries, frozenset({linked}))
    assert [(g.name, g.linked, g.mutual, g.short_code) for g in lines] == [
        ("Ours", True, False, "OURS.0420"),
        ("Shared", False, True, None),
        ("Plain", False, False, None),
        ("Odd", False, False, "ODD"),
    ]
    assert lines[-1].url is None  # no link built from an ID of the wrong form


@pytest.mark.parametrize(
    ("actor", "error", "message"),
    [
        (EVE, PermissionDenied, "moderator roles"),
        (
            Actor(user_id=9, name="x", guild_id=OTHER_GUILD, role_ids=frozenset(), manage_guild=True),
            NotFoundError,
            "not linked to any VRChat group",
        ),
        (
            Actor(user_id=9, name="x", guild_id=None, role_ids=frozenset(), manage_guild=True),
            PermissionDenied,
            "inside a Discord server",
        ),
    ],
)
async def test_only_moderators_may_look(
    services: Services, seeded_sim: SeededSim, actor: Actor, error: type[Exception], message: str
) -> None:
    before = user_gets(seeded_sim)
    with pytest.raises(error, match=message):
        await services.lookups.user_profile(actor, seeded_sim.member.id)
    assert user_gets(seeded_sim) == before


@pytest.mark.parametrize("text", ["", "https://evil.example/home/user/usr_x", "a\x00b"])
async def test_bad_user_text_is_refused_before_any_request(
    services: Services, seeded_sim: SeededSim, text: str
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(InvalidInput):
        await services.lookups.user_profile(MAYA, text)
    assert len(seeded_sim.sim.requests) == before


async def test_an_unknown_user_is_not_found(services: Services, seeded_sim: SeededSim) -> None:
    with pytest.raises(NotFoundError, match="no user with the ID"):
        await services.lookups.user_profile(MAYA, "usr_00000000-0000-4000-8000-000000000000")
    assert writes(seeded_sim) == []


# ------------------------------------------------------------------ /vrc instances


def instance_requests(seeded: SeededSim) -> list[str]:
    return [r.path for r in seeded.sim.requests_to("GET", r"/instances/groups$")]


async def test_instances_of_the_bot_account_by_group(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    state = seeded_sim.sim.state
    other = state.add_group("Side Club", short_code="SIDE", owner_id=seeded_sim.moderator.id)
    state.add_member(other.id, seeded_sim.bot.id)
    side = state.add_instance(other.id, "Side World", "jp", 16, n_users=16, access_type="plus")
    state.add_instance(seeded_sim.group.id, "Second World", "us", 20)
    stranger = state.add_group("Not Ours", short_code="NOPE", owner_id=seeded_sim.moderator.id)
    state.add_instance(stranger.id, "Hidden World", "eu", 8)  # the bot is not a member
    elsewhere = state.add_group("Elsewhere", short_code="ELSE", owner_id=seeded_sim.bot.id)
    state.add_instance(elsewhere.id, "Their World", "us", 8)  # the bot's, but another server's group
    await bound.add_binding(BindingIn(group_id=other.id, guild_id=GUILD, feed_channel_id=FEED + 7))
    await bound.add_binding(BindingIn(group_id=elsewhere.id, guild_id=OTHER_GUILD, feed_channel_id=FEED + 8))

    groups = await services.lookups.instances(MAYA)

    assert [(g.group_id, g.group_name) for g in groups] == [
        (seeded_sim.group.id, "Test Group"),  # the name from config.toml
        (other.id, "Side Club"),  # the name from the bot's own group list
    ]
    first, second = groups[0].instances
    assert (first.world_name, first.region, first.users, first.capacity) == ("Test World", "eu", 3, 40)
    assert (first.queue_size, first.instance_type) == (0, "group (members)")
    assert second.world_name == "Second World"
    (line,) = groups[1].instances
    assert (line.users, line.capacity, line.instance_type) == (16, 16, "group (plus)")
    assert line.launch_url == (
        f"https://vrchat.com/home/launch?worldId={side.world.id}&instanceId="
        f"{side.name}~group%28{other.id}%29~groupAccessType%28plus%29~region%28jp%29"
    )
    # Only the bot's own ID is ever asked about.
    assert instance_requests(seeded_sim) == [f"/users/{seeded_sim.bot.id}/instances/groups"]
    assert writes(seeded_sim) == []


async def test_no_group_names_are_fetched_when_config_names_them_all(
    services: Services, seeded_sim: SeededSim
) -> None:
    groups = await services.lookups.instances(MAYA)
    assert [g.group_name for g in groups] == ["Test Group"]
    assert seeded_sim.sim.requests_to("GET", r"^/users/[^/]+/groups$") == []


async def test_no_instances_is_an_empty_list(services: Services, seeded_sim: SeededSim) -> None:
    seeded_sim.sim.state.group(seeded_sim.group.id).instances.clear()
    assert await services.lookups.instances(ADA) == []


async def test_a_403_on_the_instances_is_explained(services: Services, seeded_sim: SeededSim) -> None:
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/users/.*/instances/groups", status=403))
    with pytest.raises(ServiceError, match=r"refused to list the bot account's group instances \(403\)"):
        await services.lookups.instances(MAYA)


async def test_a_non_moderator_sees_no_instances(services: Services, seeded_sim: SeededSim) -> None:
    with pytest.raises(PermissionDenied):
        await services.lookups.instances(EVE)
    assert instance_requests(seeded_sim) == []


@pytest.mark.parametrize(
    ("world_id", "instance_id"),
    [
        ("wrld_x", "12345~region(eu)"),
        (WORLD, "12345&evil=1"),
        (WORLD, "12345~region(eu) [x](https://evil.example)"),
        (WORLD, "javascript:alert(1)"),
        (WORLD, ""),
        (None, "12345"),
        ("WRLD_4CF554B4-430C-4F8F-B53E-1F294EED230B", "12345"),
    ],
)
def test_launch_links_only_from_strict_ids(world_id: str | None, instance_id: str) -> None:
    assert launch_url(world_id, instance_id) is None


def test_a_launch_link_from_good_ids() -> None:
    assert launch_url(WORLD, "12345~hidden(usr_1)~region(use)~nonce(abc-123)") == (
        f"https://vrchat.com/home/launch?worldId={WORLD}"
        "&instanceId=12345~hidden%28usr_1%29~region%28use%29~nonce%28abc-123%29"
    )
