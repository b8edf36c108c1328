"""The bot account's profile: shown and changed by admins only, checked before sending, logged."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.vrchat.faults import Fault
from bot.services.profile import split_links
from bot.services.registry import InvalidInput, PermissionDenied, ServiceError, Services
from bot.store import Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, MAYA, Actor, actions


def puts(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("PUT", r"^/users/"))


async def test_show_reads_the_bot_accounts_profile(services: Services, seeded_sim: SeededSim) -> None:
    seeded_sim.bot.pronouns = "it/its"
    seeded_sim.bot.bio_links = ["https://groupbridge.net"]
    profile = await services.profile.show(ADA)
    assert (profile.user_id, profile.display_name) == (seeded_sim.bot.id, "GroupBridge Bot")
    assert (profile.bio, profile.pronouns, profile.status) == ("I bridge groups.", "it/its", "active")
    assert profile.bio_links == ("https://groupbridge.net",)
    assert profile.profile_url == f"https://vrchat.com/home/user/{seeded_sim.bot.id}"


async def test_an_admin_changes_the_profile_and_it_is_logged(
    services: Services, seeded_sim: SeededSim, bound: Store
) -> None:
    profile = await services.profile.set(
        ADA,
        status="join me",
        status_description="Bridging",
        bio="Line one\nLine two",
        bio_links=" https://a.example/x , https://b.example ,",
        pronouns="it/its",
    )
    bot = seeded_sim.bot
    assert (bot.status, bot.status_description, bot.pronouns) == ("join me", "Bridging", "it/its")
    assert bot.bio == "Line one\nLine two" and bot.bio_links == ["https://a.example/x", "https://b.example"]
    assert profile.status == "join me" and profile.bio_links == ("https://a.example/x", "https://b.example")
    (record,) = await actions(bound, action="profile.update")
    assert (record.discord_user_id, record.outcome, record.group_id) == (ADA.user_id, "ok", None)
    assert record.target_id == bot.id
    assert record.details["changes"]["pronouns"] == "it/its"
    assert record.details["changes"]["bioLinks"] == ["https://a.example/x", "https://b.example"]


async def test_only_the_given_fields_change(services: Services, seeded_sim: SeededSim) -> None:
    await services.profile.set(ADA, pronouns="they/them")
    (request,) = seeded_sim.sim.requests_to("PUT", r"^/users/")
    assert request.json == {"pronouns": "they/them"}
    assert seeded_sim.bot.bio == "I bridge groups."


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "away"}, "Status must be one of active, join me, ask me, busy, offline"),
        ({"status_description": "x" * 33}, "Status description must be one line of at most 32 characters"),
        ({"status_description": "two\nlines"}, "one line"),
        ({"bio": "b" * 513}, "Bio is limited to 512 characters (got 513)"),
        (
            {"bio_links": "https://a.example, https://b.example, https://c.example, https://d.example"},
            "At most 3",
        ),
        ({"bio_links": "javascript:alert(1)"}, "is not an http(s) URL"),
        ({"bio_links": "https://a.example, ftp://b.example"}, "'ftp://b.example' is not an http(s) URL"),
        ({"bio_links": "https://a b.example"}, "is not an http(s) URL"),
        ({"pronouns": "p" * 33}, "Pronouns are limited to 32 characters (got 33)"),
        ({}, "Nothing to change"),
    ],
)
async def test_every_bad_value_is_refused_before_any_request(
    services: Services, seeded_sim: SeededSim, bound: Store, fields: dict[str, Any], message: str
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        await services.profile.set(ADA, **fields)
    assert len(seeded_sim.sim.requests) == before and puts(seeded_sim) == 0
    assert await actions(bound, action="profile.update") == []


@pytest.mark.parametrize(
    "actor",
    [
        MAYA,  # a moderator without Manage Server
        Actor(user_id=9, name="dm", guild_id=None, role_ids=frozenset(), manage_guild=True),
    ],
)
async def test_only_admins_may_see_or_change_the_profile(
    services: Services, seeded_sim: SeededSim, bound: Store, actor: Actor
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(PermissionDenied):
        await services.profile.set(actor, pronouns="x")
    with pytest.raises(PermissionDenied):
        await services.profile.show(actor)
    assert len(seeded_sim.sim.requests) == before
    assert seeded_sim.bot.pronouns == ""


async def test_a_refused_change_is_logged_as_an_error(
    services: Services, seeded_sim: SeededSim, bound: Store
) -> None:
    seeded_sim.sim.faults.add(Fault(method="PUT", path=r"^/users/", status=400))
    with pytest.raises(ServiceError, match="VRChat refused the profile change"):
        await services.profile.set(ADA, pronouns="it/its")
    (record,) = await actions(bound, action="profile.update")
    assert record.outcome == "error" and "BadRequest" in (record.error or "")


def test_split_links() -> None:
    assert split_links(None) is None
    assert split_links(" , ") == []
    assert split_links("https://a.example,https://b.example") == ["https://a.example", "https://b.example"]
