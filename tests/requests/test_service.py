"""Join requests: listing, decisions (first click wins), and cards kept in step with VRChat."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import Config
from bot.sandbox.vrchat import Fault
from bot.services.registry import (
    AlreadyHandled,
    Decision,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    Services,
)
from bot.services.users import is_adult
from bot.store import AuditEntryIn, BindingIn, Store
from bot.vrchat import ServerError, VRChatClient
from bot.vrchat.trust import trust_rank
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import (
    EVE,
    GUILD,
    MAYA,
    MOD_ROLE,
    REQUESTS,
    SAM,
    ClientFactory,
    actions,
    make_config,
    writes,
)
from tests.store.helpers import count_rows


def puts(seeded: SeededSim) -> list[str]:
    return [w for w in writes(seeded) if w.startswith("PUT /groups/")]


# ------------------------------------------------------------------ views


@pytest.mark.parametrize(
    ("tags", "rank"),
    [
        ([], "Visitor"),
        (["system_trust_basic"], "New User"),
        (["system_trust_basic", "system_trust_known"], "User"),
        (["system_trust_basic", "system_trust_known", "system_trust_trusted"], "Known User"),
        (["system_trust_trusted", "system_trust_veteran", "system_trust_known"], "Trusted User"),
        (["system_trust_legend", "admin_moderator"], "Visitor"),
    ],
)
def test_trust_rank(tags: list[str], rank: str) -> None:
    assert trust_rank(tags) == rank


@pytest.mark.parametrize(
    ("status", "adult"), [("18+", True), ("verified", False), ("hidden", False), (None, False)]
)
def test_adult_only_for_exact_18_plus(status: str | None, adult: bool) -> None:
    assert is_adult(status) is adult


async def test_pending_pages_and_view_contents(services: Services, seeded_sim: SeededSim) -> None:
    state = seeded_sim.sim.state
    vic = state.add_user(
        "Vic",
        bio="x" * 300,
        tags=["system_trust_basic", "system_trust_known", "system_trust_trusted", "system_trust_veteran"],
        age_verification_status="18+",
        date_joined=date(2020, 1, 1),
    )
    state.add_join_request(seeded_sim.group.id, vic.id)
    gid = seeded_sim.group.id

    first, more = await services.requests.pending(gid, limit=1)
    assert len(first) == 1 and more
    everyone, more = await services.requests.pending(gid, limit=10)
    assert not more
    views = {v.user_id: v for v in everyone}
    assert set(views) == {vic.id, seeded_sim.requester.id}
    v = views[vic.id]
    assert (v.display_name, v.trust_rank, v.adult) == ("Vic", "Trusted User", True)
    assert v.account_created == date(2020, 1, 1)
    assert v.account_age_days == (datetime.now(UTC).date() - date(2020, 1, 1)).days
    assert len(v.bio_excerpt) == 200 and v.bio_excerpt.endswith("…")
    assert v.profile_url == f"https://vrchat.com/home/user/{vic.id}"
    assert v.avatar_url and v.requested_at is not None
    carol = views[seeded_sim.requester.id]
    assert (carol.trust_rank, carol.adult, carol.bio_excerpt) == ("Visitor", False, "Let me in")

    assert await services.requests.fetch_request(gid, vic.id) == v
    with pytest.raises(NotFoundError, match="Bob has no pending join request in Test Group"):
        await services.requests.fetch_request(gid, seeded_sim.member.id)
    with pytest.raises(InvalidInput, match="A page shows between 1 and 25"):
        await services.requests.pending(gid, limit=26)


# ------------------------------------------------------------------ deciding


async def test_accept_is_applied_recorded_and_claimed(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    decision = await services.requests.decide(MAYA, gid, carol, "accept")
    assert isinstance(decision, Decision)
    assert (decision.state, decision.display_name, decision.by_name) == ("accepted", "Carol", "maya")
    assert seeded_sim.sim.state.is_member(gid, carol)
    assert puts(seeded_sim) == [f"PUT /groups/{gid}/requests/{carol}"]
    assert seeded_sim.sim.requests_to("PUT", "/requests/")[0].json == {"action": "accept"}
    (record,) = await actions(bound)
    assert (record.action, record.outcome, record.target_id, record.discord_user_name) == (
        "request.accept",
        "ok",
        carol,
        "maya",
    )
    (card,) = decision.cards
    assert (card.channel_id, card.state, card.handled_by_discord_id, card.handled_where) == (
        REQUESTS,
        "accepted",
        MAYA.user_id,
        "Discord",
    )


async def test_block_rejects_with_block(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    decision = await services.requests.decide(SAM, gid, carol, "block")
    assert decision.state == "blocked"
    assert seeded_sim.sim.requests_to("PUT", "/requests/")[0].json == {"action": "reject", "block": True}
    assert seeded_sim.sim.state.membership(gid, carol).status == "userblocked"  # type: ignore[union-attr]
    assert [a.action for a in await actions(bound)] == ["request.block"]


async def test_first_click_wins_in_one_process(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    results = await asyncio.gather(
        services.requests.decide(MAYA, gid, carol, "accept"),
        services.requests.decide(SAM, gid, carol, "reject"),
        return_exceptions=True,
    )
    assert len(puts(seeded_sim)) == 1
    winners = [r for r in results if isinstance(r, Decision)]
    losers = [r for r in results if isinstance(r, AlreadyHandled)]
    assert len(winners) == 1 and len(losers) == 1, results
    win, lose = winners[0], losers[0]
    assert (lose.by, lose.where, lose.outcome, lose.by_discord_id) == (
        win.by_name,
        "Discord",
        win.state,
        win.by_discord_id,
    )
    assert str(lose) == f"Already {win.state} by @{win.by_name} (Discord) just now."
    assert len(await actions(bound)) == 1


async def test_first_click_wins_across_processes(
    services: Services, bound: Store, seeded_sim: SeededSim, sqlite_url: str, login: ClientFactory
) -> None:
    """A second bot process: its own store connection, its own VRChat session, no shared lock."""
    other_store = await Store.open(sqlite_url)
    try:
        other = Services(await login(), other_store, make_config(seeded_sim.group.id))
        gid, carol = seeded_sim.group.id, seeded_sim.requester.id
        results = await asyncio.gather(
            services.requests.decide(MAYA, gid, carol, "accept"),
            other.requests.decide(SAM, gid, carol, "accept"),
            return_exceptions=True,
        )
    finally:
        await other_store.close()
    assert len(puts(seeded_sim)) == 1
    assert sorted(type(r).__name__ for r in results) == ["AlreadyHandled", "Decision"], results
    loser = next(r for r in results if isinstance(r, AlreadyHandled))
    winner = next(r for r in results if isinstance(r, Decision))
    assert loser.by == winner.by_name and loser.where == "Discord"


async def test_refusals_change_nothing(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    not_allowed = "grp_00000000-0000-4000-8000-0000000000aa"
    await bound.add_binding(BindingIn(not_allowed, GUILD, 1234, moderator_role_ids=(MOD_ROLE,)))
    with pytest.raises(PermissionDenied, match="moderator roles"):
        await services.requests.decide(EVE, gid, carol, "accept")
    with pytest.raises(PermissionDenied, match="not one of the groups this bot may manage"):
        await services.requests.decide(MAYA, not_allowed, carol, "accept")
    with pytest.raises(InvalidInput, match="accepted, rejected or blocked"):
        await services.requests.decide(MAYA, gid, carol, "maybe")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not a VRChat user ID or profile link"):
        await services.requests.decide(MAYA, gid, "Carol", "accept")
    with pytest.raises(InvalidInput, match="Not a valid group ID"):
        await services.requests.decide(MAYA, "TESTG.1234", carol, "accept")
    assert writes(seeded_sim) == []
    assert await actions(bound) == []
    assert await count_rows(bound, "request_cards") == 0
    assert seeded_sim.sim.state.membership(gid, carol).status == "requested"  # type: ignore[union-attr]


async def test_handled_in_vrchat_before_the_click(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    await services.requests.reconcile(gid)  # the card is up
    seeded_sim.sim.state.respond_request(gid, carol, seeded_sim.moderator.id, "accept")
    with pytest.raises(AlreadyHandled) as lost:
        await services.requests.decide(MAYA, gid, carol, "reject")
    assert (lost.value.where, lost.value.by, lost.value.outcome) == ("VRChat", "Alice", "accepted")
    assert str(lost.value) == "Already accepted by Alice (in VRChat) just now."
    (record,) = await actions(bound)
    assert (record.action, record.outcome) == ("request.reject", "error")
    card = await bound.get_card(gid, carol, REQUESTS)
    assert card is not None and (card.state, card.handled_by_name, card.handled_where) == (
        "accepted",
        "Alice",
        "VRChat",
    )


async def test_vrchat_refusal_releases_the_claim(
    services: Services, bound: Store, seeded_sim: SeededSim, login: ClientFactory, config: Config
) -> None:
    """Bob's account may not answer requests: the moderator is told, the card stays decidable."""
    bob = Services(await login("member-bob", "member pass"), bound, config)
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    with pytest.raises(PermissionDenied, match="may not answer join requests in Test Group"):
        await bob.requests.decide(MAYA, gid, carol, "accept")
    card = await bound.get_card(gid, carol, REQUESTS)
    assert card is not None and card.pending
    assert [(a.action, a.outcome) for a in await actions(bound)] == [("request.accept", "error")]
    decision = await services.requests.decide(SAM, gid, carol, "accept")
    assert decision.by_name == "sam"


async def test_requested_again_after_an_old_decision(
    bound: Store, seeded_sim: SeededSim, vrc: VRChatClient, config: Config
) -> None:
    offset = timedelta()
    later = Services(vrc, bound, config, clock=lambda: datetime.now(UTC) + offset)
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    await later.requests.decide(MAYA, gid, carol, "reject")
    seeded_sim.sim.state.add_join_request(gid, carol)  # asks again
    with pytest.raises(AlreadyHandled, match="Already rejected by @maya"):
        await later.requests.decide(SAM, gid, carol, "accept")  # too soon to tell a new request from lag
    offset = timedelta(minutes=2)
    decision = await later.requests.decide(SAM, gid, carol, "accept")
    assert decision.state == "accepted" and seeded_sim.sim.state.is_member(gid, carol)
    assert len(puts(seeded_sim)) == 2


# ------------------------------------------------------------------ reconcile


async def test_reconcile_posts_once_then_closes_what_vrchat_handled(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    (post,) = await services.requests.reconcile(gid)
    assert (post.kind, post.user_id, post.channel_id, post.state) == ("post", carol, REQUESTS, "pending")
    assert post.request is not None and post.request.display_name == "Carol"
    # Not posted yet (the poller died before set_card_message): reported again.
    assert [c.kind for c in await services.requests.reconcile(gid)] == ["post"]
    assert await bound.set_card_message(gid, carol, REQUESTS, 5555)
    assert await services.requests.reconcile(gid) == []

    seeded_sim.sim.state.respond_request(gid, carol, seeded_sim.moderator.id, "reject")
    (update,) = await services.requests.reconcile(gid)
    assert (update.kind, update.message_id, update.state) == ("update", 5555, "rejected")
    assert (update.handled_by, update.handled_where) == ("Alice", "VRChat")
    assert await services.requests.reconcile(gid) == []
    card = await bound.get_card(gid, carol, REQUESTS)
    assert card is not None and (card.state, card.handled_by_name) == ("rejected", "Alice")


async def test_reconcile_withdrawn(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    await services.requests.reconcile(gid)
    await bound.set_card_message(gid, carol, REQUESTS, 77)
    del seeded_sim.group.memberships[carol]  # gone without an audit entry: withdrawn
    (update,) = await services.requests.reconcile(gid)
    assert (update.state, update.handled_by, update.message_id) == ("gone", None, 77)
    with pytest.raises(AlreadyHandled, match="no longer pending in VRChat"):
        await services.requests.decide(MAYA, gid, carol, "accept")
    assert puts(seeded_sim) == []


async def test_reconcile_prefers_the_mirrored_audit_log(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    await services.requests.reconcile(gid)
    await bound.set_card_message(gid, carol, REQUESTS, 78)
    del seeded_sim.group.memberships[carol]
    at = datetime.now(UTC)
    entry = AuditEntryIn("gaud_mirror", at, "group.request.block", "usr_x", "Mirror Mod", carol)
    await bound.ingest(gid, [entry], enqueue=False)
    (update,) = await services.requests.reconcile(gid)
    assert (update.state, update.handled_by, update.handled_at) == ("blocked", "Mirror Mod", at)
    assert seeded_sim.sim.requests_to("GET", "/auditLogs") == []


async def test_reconcile_reopens_for_a_new_request(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    await services.requests.reconcile(gid)
    await bound.set_card_message(gid, carol, REQUESTS, 79)
    await services.requests.decide(MAYA, gid, carol, "reject")
    await asyncio.sleep(0.01)
    seeded_sim.sim.state.add_join_request(gid, carol)
    (post,) = await services.requests.reconcile(gid)
    assert (post.kind, post.channel_id) == ("post", REQUESTS)
    card = await bound.get_card(gid, carol, REQUESTS)
    assert card is not None and card.pending and card.message_id is None
    assert card.requested_at == seeded_sim.group.memberships[carol].created_at

    # Withdrawn this time: the earlier rejection in the audit log is about the earlier request.
    await bound.set_card_message(gid, carol, REQUESTS, 80)
    del seeded_sim.group.memberships[carol]
    (update,) = await services.requests.reconcile(gid)
    assert (update.state, update.handled_by, update.message_id) == ("gone", None, 80)


async def test_reconcile_skips_groups_off_the_allow_list(
    bound: Store, seeded_sim: SeededSim, vrc: VRChatClient
) -> None:
    other = Services(vrc, bound, make_config("grp_00000000-0000-4000-8000-0000000000aa"))
    assert await other.requests.reconcile(seeded_sim.group.id) == []
    assert seeded_sim.sim.requests_to("GET", "/requests") == []


async def test_failed_vrchat_calls_release_the_claim(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid, carol = seeded_sim.group.id, seeded_sim.requester.id
    seeded_sim.sim.faults.add(Fault(method="PUT", path="/requests/", status=502, times=1))
    with pytest.raises(ServiceError, match="did not answer in time and the request is still pending"):
        await services.requests.decide(MAYA, gid, carol, "accept")
    seeded_sim.sim.faults.add(Fault(method="PUT", path="/requests/", status=500, times=1))
    with pytest.raises(ServerError):
        await services.requests.decide(MAYA, gid, carol, "accept")
    card = await bound.get_card(gid, carol, REQUESTS)
    assert card is not None and card.pending
    assert [(a.outcome, a.error.split(":")[0]) for a in reversed(await actions(bound))] == [  # type: ignore[union-attr]
        ("error", "OutcomeUnknown"),
        ("error", "ServerError"),
    ]
    decision = await services.requests.decide(SAM, gid, carol, "accept")
    assert decision.by_name == "sam" and seeded_sim.sim.state.is_member(gid, carol)


async def test_a_deleted_account_does_not_break_the_list(services: Services, seeded_sim: SeededSim) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    ghost = state.add_user("Ghost")
    state.add_join_request(gid, ghost.id)
    del state.users[ghost.id]  # VRChat answers 404 for the profile now
    views, _ = await services.requests.pending(gid)
    stub = next(v for v in views if v.user_id == ghost.id)
    assert (stub.display_name, stub.trust_rank, stub.account_created) == (ghost.id, "Visitor", None)
    changes = await services.requests.reconcile(gid)
    assert sorted(c.user_id for c in changes) == sorted([ghost.id, seeded_sim.requester.id])
