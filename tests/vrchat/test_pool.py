"""Several VRChat accounts: which account serves each group, where each call goes, and that every
account keeps to its own rate. Real clients, limiters and sessions against the validating simulator."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.sandbox.vrchat import VRChatSimulator
from bot.vrchat import Forbidden, LoginFailed, Politeness
from bot.vrchat.pool import AccountPool, NoServingAccount, RequestMeter
from bot.vrchat.router import GroupRouter
from tests.fixtures.vrchat_accounts import (
    ALPHA,
    BRAVO,
    PASSWORDS,
    TwoAccounts,
    by_account,
    make_account,
    open_pool,
    seed_two_accounts,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def group_gets(two: TwoAccounts, group_id: str) -> int:
    return len(two.sim.requests_to("GET", rf"^/groups/{group_id}$"))


async def test_groups_are_split_by_membership(two: TwoAccounts, tmp_path: Path) -> None:
    pool = await open_pool(two, tmp_path)
    try:
        decided = await pool.assign(g.id for g in two.groups)
        names = {gid: (a.name if a else None) for gid, a in decided.items()}
        assert names == {
            two.only_a.id: ALPHA,
            two.only_b.id: BRAVO,
            two.both.id: ALPHA,  # one group each so far: the tie goes to the primary
            two.neither.id: None,
            two.weak.id: None,  # Bravo is a member there, but without the permissions
        }
        assert pool.unservable(two.neither.id) and pool.unservable(two.weak.id)
        assert not pool.unservable(two.both.id)
        assert {u.name: u.groups for u in pool.usage()} == {ALPHA: 2, BRAVO: 1}
    finally:
        await pool.close()


async def test_a_group_both_can_serve_goes_to_the_account_with_fewer_groups(
    two: TwoAccounts, tmp_path: Path
) -> None:
    state = two.sim.state
    second_both = state.add_group("Both Again", short_code="BOTH2", owner_id=two.stranger.id)
    role = state.add_role(second_both.id, "Bots", moderator=True)
    state.add_member(second_both.id, two.alpha.id, [role.id])
    state.add_member(second_both.id, two.bravo.id, [role.id])
    pool = await open_pool(two, tmp_path)
    try:
        decided = await pool.assign([two.both.id, second_both.id, two.only_a.id])
        # Alpha alone can serve only_a, so it is placed first; the shared groups fill in around it:
        # Bravo has fewer, then a tie, which goes to the primary.
        names = {gid: a.name for gid, a in decided.items() if a}
        assert names == {two.only_a.id: ALPHA, two.both.id: BRAVO, second_both.id: ALPHA}
    finally:
        await pool.close()


async def test_each_groups_calls_go_out_on_its_account(two: TwoAccounts, tmp_path: Path) -> None:
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        await pool.assign(g.id for g in two.groups)
        for group in (two.only_a, two.only_b, two.both):
            page = await router.get_audit_logs(group.id, n=10)
            assert [e.event_type for e in page.results] == ["group.request.create"]
            (request,) = await router.list_join_requests(group.id)
            assert request.user_id == two.requester.id
        before = len(two.sim.requests)
        for group in (two.neither, two.weak):
            with pytest.raises(NoServingAccount) as refused:
                await router.get_audit_logs(group.id)
            assert isinstance(refused.value, Forbidden)  # what every caller already handles
            assert "No VRChat account can serve" in str(refused.value) and PASSWORDS[BRAVO] not in str(
                refused.value
            )
        assert len(two.sim.requests) == before  # refused without asking VRChat again
    finally:
        await pool.close()
    expected = {two.only_a.id: two.alpha.id, two.only_b.id: two.bravo.id, two.both.id: two.alpha.id}
    for group_id, user_id in expected.items():
        senders = by_account(two.sim, rf"^/groups/{group_id}/(auditLogs|requests)")
        assert set(senders) == {user_id}, (group_id, {k: len(v) for k, v in senders.items()})
        assert len(senders[user_id]) == 2


async def test_user_calls_go_to_the_primary_and_own_account_calls_to_that_account(
    two: TwoAccounts, tmp_path: Path
) -> None:
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        assert router.user_id == two.alpha.id
        await router.get_user(two.requester.id)
        await router.list_user_group_instances(two.bravo.id)  # VRChat answers this only to Bravo itself
        await router.update_user(two.bravo.id, status_description="second bot")
    finally:
        await pool.close()
    assert set(by_account(two.sim, rf"^/users/{two.requester.id}$")) == {two.alpha.id}
    assert set(by_account(two.sim, rf"^/users/{two.bravo.id}/instances/groups$")) == {two.bravo.id}
    assert two.bravo.status_description == "second bot"


async def test_a_routed_call_finds_its_group_or_user_given_by_name(two: TwoAccounts, tmp_path: Path) -> None:
    """The router's methods are made from the client's: the group or user ID that picks the account
    may come by position or by name, and the routed method keeps the client's name and signature."""
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        await pool.assign(g.id for g in two.groups)
        page = await router.get_audit_logs(group_id=two.only_b.id, n=10)
        assert [e.event_type for e in page.results] == ["group.request.create"]
        await router.update_user(user_id=two.bravo.id, status_description="by name")
        async for _member in router.iter_group_members(group_id=two.only_b.id):
            pass  # where the listing went is what counts here
    finally:
        await pool.close()
    for path in ("auditLogs", "members"):
        assert set(by_account(two.sim, rf"^/groups/{two.only_b.id}/{path}")) == {two.bravo.id}, path
    assert two.bravo.status_description == "by name"
    assert GroupRouter.get_audit_logs.__name__ == "get_audit_logs"


async def test_a_group_first_seen_later_is_decided_once_at_its_first_call(
    two: TwoAccounts, tmp_path: Path
) -> None:
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        assert pool.serving(two.only_b.id) is None
        pages = await asyncio.gather(*(router.get_audit_logs(two.only_b.id) for _ in range(5)))
        assert all(p.results for p in pages)
        assert pool.serving(two.only_b.id) is pool.account(BRAVO)
        assert router.user_id_for(two.only_b.id) == two.bravo.id
    finally:
        await pool.close()
    assert group_gets(two, two.only_b.id) == 2  # one look per account, not one per concurrent call
    assert set(by_account(two.sim, rf"^/groups/{two.only_b.id}/auditLogs$")) == {two.bravo.id}


async def test_a_group_nobody_could_serve_is_looked_at_again_later(two: TwoAccounts, tmp_path: Path) -> None:
    clock = Clock()
    pool = await open_pool(two, tmp_path, clock=clock, recheck_after=900)
    router = GroupRouter(pool)
    try:
        await pool.assign([two.weak.id])
        role = two.sim.state.add_role(two.weak.id, "Bots", moderator=True)
        two.sim.state.add_member(two.weak.id, two.bravo.id, [role.id])  # granted in VRChat meanwhile
        clock.now += 899
        with pytest.raises(NoServingAccount):
            await router.list_join_requests(two.weak.id)
        assert group_gets(two, two.weak.id) == 2  # the assignment's look only
        clock.now += 1
        (request,) = await router.list_join_requests(two.weak.id)
        assert request.user_id == two.requester.id and not pool.unservable(two.weak.id)
    finally:
        await pool.close()
    assert set(by_account(two.sim, rf"^/groups/{two.weak.id}/requests$")) == {two.bravo.id}


async def test_an_outage_is_not_mistaken_for_nobody_can_serve(two: TwoAccounts, tmp_path: Path) -> None:
    from bot.sandbox.vrchat import Fault

    pool = await open_pool(two, tmp_path)
    try:
        two.sim.faults.add(Fault(method="GET", path=rf"^/groups/{two.only_b.id}$", status=500, times=100))
        decided = await pool.assign([two.only_b.id])
        assert decided == {} and not pool.unservable(two.only_b.id)  # left for its first call
        two.sim.faults.clear()
        assert (await pool.account_for(two.only_b.id)).name == BRAVO
    finally:
        await pool.close()


@pytest.mark.slow  # waits out two accounts' rate limits in real time
async def test_neither_account_exceeds_its_rate(two: TwoAccounts, tmp_path: Path) -> None:
    rates = {
        ALPHA: Politeness(requests_per_second=10, burst=2, timeout=5),
        BRAVO: Politeness(requests_per_second=5, burst=1, timeout=5),
    }
    alpha = make_account(two, tmp_path, ALPHA, rates[ALPHA], primary=True)
    bravo = make_account(two, tmp_path, BRAVO, rates[BRAVO], primary=False)
    pool = await open_pool(two, tmp_path, alpha, bravo)
    router = GroupRouter(pool)
    try:
        await pool.assign(g.id for g in two.groups)
        # Far more than either rate allows, all at once: polls, card rounds and a command's lookup.
        calls = [
            call
            for _ in range(6)
            for group in (two.only_a, two.only_b, two.both)
            for call in (router.get_audit_logs(group.id), router.list_join_requests(group.id))
        ] + [router.get_user(two.requester.id) for _ in range(4)]
        await asyncio.gather(*calls)
        usage = {u.name: u for u in pool.usage()}
    finally:
        await pool.close()
    for name, account in ((ALPHA, two.alpha), (BRAVO, two.bravo)):
        sent = sorted(r.at for r in by_account(two.sim)[account.id])
        assert len(sent) >= 12, name  # enough traffic to put the limiter to work
        politeness = rates[name]
        # A leaky bucket of `burst` draining at `rate`: no stretch of time holds more than
        # burst + rate × its length (+1 for the jitter between sending and the simulator's clock).
        worst = max(
            (j - i + 1) - (politeness.burst + politeness.requests_per_second * (sent[j] - sent[i]))
            for i in range(len(sent))
            for j in range(i, len(sent))
        )
        assert worst <= 1, (name, worst)
        # The budget figure counts exactly what reached VRChat (logins included).
        assert usage[name].used == len(sent) and usage[name].budget == politeness.requests_per_second * 60


async def test_one_account_serves_every_group_without_asking(
    vrchat_sim: VRChatSimulator, tmp_path: Path
) -> None:
    two = seed_two_accounts(vrchat_sim)
    pool = await open_pool(two, tmp_path, make_account(two, tmp_path, ALPHA, primary=True))
    router = GroupRouter(pool)
    try:
        assert await pool.assign(g.id for g in two.groups) == {g.id: pool.primary for g in two.groups}
        await router.get_audit_logs(two.only_a.id)
        with pytest.raises(Forbidden) as refused:  # VRChat's own answer, as before there were several
            await router.get_audit_logs(two.neither.id)
        assert not isinstance(refused.value, NoServingAccount)
    finally:
        await pool.close()
    assert all(group_gets(two, g.id) == 0 for g in two.groups)


async def test_a_failed_login_names_the_account_and_no_secret(
    two: TwoAccounts, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bravo = make_account(two, tmp_path, BRAVO, primary=False)
    two.bravo.password = "changed in VRChat"
    pool = AccountPool([make_account(two, tmp_path, ALPHA, primary=True), bravo])
    await pool.open()
    try:
        with caplog.at_level(logging.ERROR, logger="bot.vrchat.pool"), pytest.raises(LoginFailed):
            await pool.login()
    finally:
        await pool.close()
    assert f"`groupbridge login --account {BRAVO}`" in caplog.text
    assert PASSWORDS[BRAVO] not in caplog.text and two.totp[BRAVO] not in caplog.text


def test_the_meter_counts_the_last_minute_against_the_rate() -> None:
    clock = Clock()
    meter = RequestMeter(1.5, clock=clock)
    for _ in range(3):
        meter.record()
        clock.now += 19
    assert (meter.used(), meter.budget, meter.total) == (3, 90, 3)
    clock.now += 4  # the first request is now 61 s old
    assert meter.used() == 2 and meter.total == 3


@pytest.mark.slow  # migrates a new SQLite file in a child process (bot.store.migrate)
async def test_the_feed_credits_the_moderator_for_actions_of_a_non_primary_account(
    two: TwoAccounts, tmp_path: Path
) -> None:
    from bot.feed.poller import AuditPoller
    from bot.store import ActionIn, BindingIn, Store

    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'feed.db'}")
    await store.upgrade()
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        await store.add_binding(BindingIn(group_id=two.only_b.id, guild_id=1, feed_channel_id=7))
        poller = AuditPoller(router, store, two.only_b.id)
        await poller.poll_once()
        await store.record_action(
            ActionIn(
                guild_id=1,
                discord_user_id=4242,
                discord_user_name="mod_maya",
                group_id=two.only_b.id,
                action="member.ban",
                target_id=two.requester.id,
            )
        )
        await router.ban_member(two.only_b.id, two.requester.id)  # goes out as Bravo, not the primary
        await poller.poll_once()
        (ban,) = [
            i.entry for i in await store.pending_for_channel(7) if i.entry.event_type == "group.user.ban"
        ]
    finally:
        await pool.close()
        await store.close()
    assert ban.actor_id == two.bravo.id
    assert (ban.discord_actor_id, ban.discord_actor_name) == (4242, "mod_maya")


async def test_a_command_refused_on_its_account_moves_the_group_before_the_error_returns(
    two: TwoAccounts, tmp_path: Path
) -> None:
    """A moderator's command meets Alpha's 403 (Alpha left the group in VRChat): the group moves
    to Bravo before the error reaches the caller, so trying again goes out on Bravo and works."""
    state = two.sim.state
    troll = state.add_user("Troll")
    state.add_member(two.both.id, troll.id)
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        await pool.assign([two.both.id])
        assert pool.serving(two.both.id) is pool.account(ALPHA)
        del two.both.memberships[two.alpha.id]
        with pytest.raises(Forbidden):
            await router.kick_member(two.both.id, troll.id)
        assert pool.serving(two.both.id) is pool.account(BRAVO)
        assert router.user_id_for(two.both.id) == two.bravo.id
        await router.kick_member(two.both.id, troll.id)
        with pytest.raises(Forbidden):  # a refused call about a user is no reason to look at groups
            await router.update_user(two.requester.id, status_description="not ours")
    finally:
        await pool.close()
    kicks = by_account(two.sim, rf"^/groups/{two.both.id}/members/{troll.id}$")
    assert {user_id: len(sent) for user_id, sent in kicks.items()} == {two.alpha.id: 1, two.bravo.id: 1}
    assert not state.is_member(two.both.id, troll.id)
    assert group_gets(two, two.both.id) == 4  # the start's look and the refusal's: one per account each
