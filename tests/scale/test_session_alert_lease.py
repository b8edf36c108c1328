"""The session alert under the account lease (issue #17): two "processes" (own store, own account
pool, own lease keeper) on one database, two VRChat accounts in the simulator, each held by one
process. An account's alert goes to its groups' channels, posted by its holder only: not by the other
process even when that one's view of the account is stale, and not by a holder frozen past its lease,
whose claim the database refuses."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.accounts.holding import AccountHolding
from bot.feed.alerts import BACK_TITLE, TITLE, SessionAlerts
from bot.lease_names import account_lease
from bot.leases import LeaseKeeper, bound_lease_names
from bot.store import BindingIn, Store
from bot.vrchat import VRChatError
from bot.vrchat.pool import AccountPool
from bot.vrchat.router import GroupRouter
from tests.feed.test_session_alert_accounts import Channels, opened
from tests.fixtures.vrchat_accounts import ALPHA, BRAVO, TwoAccounts, expire_sessions_of, make_account
from tests.scale.conftest import Clock, OpenStore
from tests.scale.test_feed_leases import Mono

TTL = 30.0
FEED_A, FEED_B = 11, 12  # the channels of Alpha's group and of Bravo's


@dataclass
class Process:
    store: Store
    pool: AccountPool
    router: GroupRouter
    keeper: LeaseKeeper
    holding: AccountHolding
    channels: Channels
    alerts: SessionAlerts
    directory: Path  # its session files

    def holds(self, account: str) -> bool:
        return self.keeper.holds(account_lease(account))


async def start_process(two: TwoAccounts, store: Store, directory: Path, owner: str) -> Process:
    """Sessions saved by a login with TOTP, as `groupbridge login` leaves them; the running process
    has no TOTP secret, so a session VRChat ends stays blocked until a person logs in."""
    await asyncio.to_thread(directory.mkdir)
    await (await opened(two, directory, totp=True)).close()
    pool = await opened(two, directory, totp=False)
    await pool.assign([two.only_a.id, two.only_b.id])
    keeper = LeaseKeeper(
        store,
        lambda: bound_lease_names(store, [ALPHA, BRAVO], pool.serving_name),
        ttl=TTL,
        owner=owner,
        clock=Mono(),  # held still: a process that never notices its lease running out by itself
        rng=random.Random(owner),
    )
    holding = AccountHolding(pool, keeper, store)
    await holding.start()  # the desk: a blocked session makes the pool ask the other account about its groups
    router, channels = GroupRouter(pool), Channels()
    alerts = SessionAlerts(router, store, channels, leases=keeper)
    return Process(store, pool, router, keeper, holding, channels, alerts, directory)


@pytest.fixture
async def processes(two: TwoAccounts, open_store: OpenStore, tmp_path: Path) -> AsyncIterator[list[Process]]:
    first = await open_store()
    for group, channel in ((two.only_a, FEED_A), (two.only_b, FEED_B)):
        await first.add_binding(BindingIn(group_id=group.id, guild_id=1, feed_channel_id=channel))
    started: list[Process] = []
    try:
        for owner in ("P", "Q"):
            started.append(await start_process(two, await open_store(), tmp_path / owner, owner))
        for process in (*started, *started):
            await process.keeper.tick()  # an account each, its group and channel with it
        yield started
    finally:
        for process in started:
            await process.holding.stop()
            await process.pool.close()


def holder_and_other(processes: list[Process], account: str) -> tuple[Process, Process]:
    first, second = processes
    assert first.holds(account) != second.holds(account)
    return (first, second) if first.holds(account) else (second, first)


async def lose_session(process: Process, group_id: str) -> None:
    """A call for the group meets the ended session; the account cannot log in again by itself."""
    with pytest.raises(VRChatError):
        await process.router.get_audit_logs(group_id)


def titles(process: Process, channel: int) -> list[str | None]:
    return [embed.title for embed in process.channels.sent.get(channel, [])]


async def test_the_holder_of_the_expired_account_alone_posts_its_alert(
    two: TwoAccounts, processes: list[Process]
) -> None:
    holder, other = holder_and_other(processes, BRAVO)
    expire_sessions_of(two.sim, two.bravo)
    await lose_session(holder, two.only_b.id)
    # The other process had met Bravo's lost session too before the lease settled: its view of the
    # account is stale, but the account is not its own, so the alert is not its to post.
    other.pool.account(BRAVO).client.block_session("met before the lease moved")
    assert not other.alerts.needs_check() and await other.alerts.check() == []
    assert holder.alerts.needs_check() and await holder.alerts.check() == [FEED_B]
    (alert,) = holder.channels.sent[FEED_B]
    assert alert.title == TITLE and BRAVO in str(alert.description) and ALPHA not in str(alert.description)
    assert other.channels.sent == {}  # not Bravo's alert, and Alpha's group is not on hold
    assert await holder.alerts.check() == []  # once per episode


async def test_a_holder_frozen_past_its_lease_posts_nothing_and_the_new_holder_posts_once(
    two: TwoAccounts, processes: list[Process], clock: Clock
) -> None:
    stale, other = holder_and_other(processes, ALPHA)
    expire_sessions_of(two.sim, two.alpha)
    await lose_session(stale, two.only_a.id)
    # Alpha's holder stalls past its lease (a frozen VM) before it tells; the other process takes
    # Alpha over and meets the ended session itself.
    clock.advance(TTL + 1)
    assert account_lease(ALPHA) in (await other.keeper.tick()).gained
    await lose_session(other, two.only_a.id)
    assert stale.holds(ALPHA)  # it wakes up still believing Alpha is its own...
    assert stale.alerts.needs_check() and await stale.alerts.check() == []  # ...and the claim is refused
    assert stale.channels.sent == {}
    assert await other.alerts.check() == [FEED_A]
    assert titles(other, FEED_A) == [TITLE] and FEED_B not in other.channels.sent

    # The operator logs Alpha in again where the new holder runs; its next call picks the session up
    # and a poll goes through: the end is told once, by the holder, where the alarm was heard.
    login = make_account(two, other.directory, ALPHA, primary=True)
    try:
        await login.client.login(force=True)
    finally:
        await login.client.close()
        if login.http_session is not None:
            await login.http_session.close()
    await other.router.get_audit_logs(two.only_a.id)
    other.alerts.poll_went_through()
    assert await stale.alerts.check() == []  # fenced out of the "back" notice too
    assert await other.alerts.check() == [FEED_A]
    assert titles(other, FEED_A) == [TITLE, BACK_TITLE] and stale.channels.sent == {}
