"""Invites: resolving what a moderator typed, autocomplete, and the four outcomes."""

from __future__ import annotations

import pytest

from bot.config import Config
from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied, Services
from bot.store import Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import EVE, MAYA, ClientFactory, actions, writes


def searches(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("GET", r"^/users$"))


async def test_resolve_by_id_and_link_sends_nothing(services: Services, seeded_sim: SeededSim) -> None:
    dave = seeded_sim.outsider.id
    before = len(seeded_sim.sim.requests)
    assert await services.invites.resolve_user(f"  {dave} ") == dave
    assert await services.invites.resolve_user(f"https://vrchat.com/home/user/{dave}") == dave
    assert await services.invites.resolve_user("8JoV9XEdpo") == "8JoV9XEdpo"  # legacy ID
    assert len(seeded_sim.sim.requests) == before


async def test_resolve_by_exact_display_name(services: Services, seeded_sim: SeededSim) -> None:
    seeded_sim.sim.state.add_user("Daveed")  # a substring match that is not the one
    assert await services.invites.resolve_user("Dave") == seeded_sim.outsider.id
    assert await services.invites.resolve_user("dave") == seeded_sim.outsider.id  # case only differs
    assert searches(seeded_sim) == 2
    with pytest.raises(NotFoundError, match="No VRChat user is called “Dav” exactly"):
        await services.invites.resolve_user("Dav")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Say which VRChat user"),
        ("   ", "Say which VRChat user"),
        ("usr_not-a-real-id", "is not a VRChat user ID or profile link"),
        ("https://example.com/home/user/usr_x", "is not a VRChat user ID or profile link"),
        ("https://vrchat.com/home/group/grp_71a7ff59-112c-4e78-a990-c7cc650776e5", "profile link"),
        ("x" * 101, "cannot be a VRChat display name"),
        ("two\nlines", "cannot be a VRChat display name"),
    ],
)
async def test_bad_user_text_is_refused_before_any_request(
    services: Services, seeded_sim: SeededSim, text: str, message: str
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(InvalidInput, match=message) as refused:
        await services.invites.resolve_user(text)
    assert "exact display name" in str(refused.value)  # names the accepted forms
    assert len(seeded_sim.sim.requests) == before


async def test_invite_outcomes(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    sent = await services.invites.invite(MAYA, gid, "Dave")
    assert (sent.kind, sent.user_id, sent.display_name) == ("sent", seeded_sim.outsider.id, "Dave")
    assert sent.message == "Invited Dave to Test Group."
    assert seeded_sim.sim.state.membership(gid, seeded_sim.outsider.id).status == "invited"  # type: ignore[union-attr]

    again = await services.invites.invite(MAYA, gid, seeded_sim.outsider.id)
    assert again.kind == "already_invited" and "already has a pending invite" in again.message
    member = await services.invites.invite(MAYA, gid, seeded_sim.member.id)
    assert member.kind == "already_member" and member.message.startswith(
        "Bob is already a member of Test Group"
    )

    log = await actions(bound, action="invite")
    assert [(a.outcome, a.details["result"]) for a in reversed(log)] == [
        ("ok", "sent"),
        ("error", "already_invited"),
        ("error", "already_member"),
    ]
    assert all(a.target_id and a.discord_user_name == "maya" for a in log)


async def test_cannot_invite(
    bound: Store, seeded_sim: SeededSim, login: ClientFactory, config: Config
) -> None:
    """Bob's account is a plain member: VRChat refuses (403), which is an outcome, not an error."""
    bob = Services(await login("member-bob", "member pass"), bound, config)
    outcome = await bob.invites.invite(MAYA, seeded_sim.group.id, seeded_sim.outsider.id)
    assert outcome.kind == "cannot_invite"
    assert outcome.message.startswith("VRChat will not let the bot invite Dave to Test Group")
    (record,) = await actions(bound)
    assert (record.action, record.outcome, record.details["result"]) == ("invite", "error", "cannot_invite")


async def test_invite_refusals_change_nothing(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    with pytest.raises(PermissionDenied):
        await services.invites.invite(EVE, seeded_sim.group.id, "Dave")
    with pytest.raises(InvalidInput):
        await services.invites.invite(MAYA, seeded_sim.group.id, "usr_bad")
    assert writes(seeded_sim) == [] and searches(seeded_sim) == 0
    assert await actions(bound) == []


async def test_autocomplete_is_cached_and_rate_limited(
    bound: Store, seeded_sim: SeededSim, vrc: VRChatClient, config: Config
) -> None:
    now = [1000.0]
    services = Services(vrc, bound, config, monotonic=lambda: now[0])
    state = seeded_sim.sim.state
    for n in range(30):
        state.add_user(f"Crowd {n:02d}")
    long_name = "L" * 120
    state.add_user(long_name)

    crowd = await services.invites.suggest("crowd")
    assert searches(seeded_sim) == 1
    assert len(crowd) == 25 and all(len(label) <= 100 for label, _ in crowd)
    assert crowd[0][0] == f"Crowd 00 ({crowd[0][1]})"
    assert await services.invites.suggest(" Crowd ") == crowd  # same query, from the cache
    assert searches(seeded_sim) == 1

    # A new query within a second: no search, the last results filtered instead.
    narrowed = await services.invites.suggest("crowd 1")
    assert searches(seeded_sim) == 1
    assert [label.split(" (")[0] for label, _ in narrowed] == [f"Crowd 1{n}" for n in range(10)]

    now[0] += 1.5
    (long_choice,) = await services.invites.suggest("LLLL")
    assert searches(seeded_sim) == 2
    assert len(long_choice[0]) == 100 and long_choice[0].endswith(f"… ({long_choice[1]})")

    now[0] += 61  # past the cache's lifetime
    await services.invites.suggest("crowd")
    assert searches(seeded_sim) == 3

    # IDs and links need no search; junk gives nothing.
    dave = seeded_sim.outsider.id
    assert await services.invites.suggest(dave) == [(dave, dave)]
    assert await services.invites.suggest("") == []
    assert await services.invites.suggest("https://example.com") == []
    assert searches(seeded_sim) == 3
