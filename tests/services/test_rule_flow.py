"""Request rules in the card flow, against the simulator: accept, reject, hold, shadow, failures."""

from __future__ import annotations

import pytest

from bot.requests.reconcile import CardChange
from bot.sandbox.vrchat import Fault
from bot.services.registry import Services
from bot.store import Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, GUILD, actions, writes

KNOWN = ["system_trust_basic", "system_trust_known"]


def puts(seeded: SeededSim) -> list[str]:
    return [w for w in writes(seeded) if w.startswith("PUT /groups/")]


def requested(seeded: SeededSim) -> bool:
    record = seeded.sim.state.membership(seeded.group.id, seeded.requester.id)
    return record is not None and record.status == "requested"


async def one_post(services: Services, seeded: SeededSim) -> CardChange:
    (post,) = await services.requests.reconcile(seeded.group.id)
    assert post.kind == "post"
    return post


async def test_a_rule_accepts_through_vrchat_and_logs_it(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    seeded_sim.requester.tags = KNOWN
    await services.rules.add(ADA, GUILD, None, "age_verified", None, "reject")  # Carol is not 18+
    await services.rules.add(ADA, GUILD, None, "trust_at_least", "New User", "accept")
    post = await one_post(services, seeded_sim)
    assert post.state == "accepted"
    assert post.rule_note == "Automatically accepted by rule #2 (trust at least New User: was User)."
    assert seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.requester.id)
    assert len(puts(seeded_sim)) == 1
    (logged,) = await actions(bound, action="request.accept")
    assert logged.discord_user_id == 0 and logged.discord_user_name == "GroupBridge rule #2"
    assert logged.details is not None and logged.details["automated"] == "yes"
    assert (
        logged.details["rule"] == "#2 trust at least New User" and logged.details["values"] == "trust: User"
    )
    (card,) = await bound.cards_for(seeded_sim.group.id, seeded_sim.requester.id)
    assert card.state == "accepted" and card.handled_by_name == "GroupBridge rule #2"
    assert await services.requests.reconcile(seeded_sim.group.id) == []  # decided once, nothing left


async def test_a_rule_rejects(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    await services.rules.add(ADA, GUILD, None, "keyword", "LET ME", "reject")  # Carol's bio: "Let me in"
    post = await one_post(services, seeded_sim)
    assert post.state == "rejected"
    assert (
        post.rule_note == "Automatically rejected by rule #1 (name or bio contains “LET ME”: found in bio)."
    )
    assert len(puts(seeded_sim)) == 1
    assert not seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.requester.id)
    assert requested(seeded_sim) is False


@pytest.mark.parametrize(
    ("kind", "parameter", "note"),
    [
        ("age_verified", None, "Held for a moderator: no rule matched."),
        # Carol's profile has no trust tags: even "at least Visitor" must not accept her.
        (
            "trust_at_least",
            "Visitor",
            "Held for a moderator: rule #1 needs the trust tags, which is unknown.",
        ),
        ("in_watchlisted_group", None, "group list"),  # she is in no group: possibly a private list
    ],
)
async def test_holds_leave_the_card_to_the_moderators(
    services: Services, seeded_sim: SeededSim, kind: str, parameter: str | None, note: str
) -> None:
    await services.rules.add(ADA, GUILD, None, kind, parameter, "accept")
    post = await one_post(services, seeded_sim)
    assert post.state == "pending" and note in (post.rule_note or "")
    assert puts(seeded_sim) == []


async def test_shadow_mode_changes_nothing_in_vrchat(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    seeded_sim.requester.tags = KNOWN
    await services.rules.add(ADA, GUILD, None, "trust_at_least", "User", "accept")
    await services.rules.shadow(ADA, GUILD, None, True)
    post = await one_post(services, seeded_sim)
    assert post.state == "pending"
    assert post.rule_note == (
        "Shadow mode: rule #1 would have accepted (trust at least User: was User); nothing was changed."
    )
    assert writes(seeded_sim) == []
    assert requested(seeded_sim) is True
    assert await actions(bound, action="request.accept") == []


async def test_a_failed_profile_lookup_holds_the_request(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    seeded_sim.requester.tags = KNOWN
    await services.rules.add(ADA, GUILD, None, "trust_at_least", "Visitor", "accept")
    seeded_sim.sim.faults.add(Fault(method="GET", path=rf"^/users/{seeded_sim.requester.id}$", status=500))
    post = await one_post(services, seeded_sim)
    assert post.state == "pending" and post.request is not None and not post.request.profile_available
    assert "lookup failed" in (post.rule_note or "")
    assert puts(seeded_sim) == []


async def test_no_rules_no_note(services: Services, seeded_sim: SeededSim) -> None:
    post = await one_post(services, seeded_sim)
    assert post.state == "pending" and post.rule_note is None
