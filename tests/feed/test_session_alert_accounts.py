"""With several VRChat accounts the session alert names the account whose session ended, and goes to
the channels of the groups that account serves; an account that loses its session later gets its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path

import discord
import pytest

from bot.feed.actions import FeedAction
from bot.feed.alerts import TITLE, SessionAlerts
from bot.store import BindingIn, Store
from bot.vrchat import VRChatError
from bot.vrchat.pool import AccountPool
from bot.vrchat.router import GroupRouter
from tests.fixtures.vrchat_accounts import (
    ALPHA,
    BRAVO,
    PASSWORDS,
    TwoAccounts,
    expire_sessions_of,
    make_account,
)

FEED_A, FEED_B = 11, 12


class Channels:
    """The feed channels' side of the alerts (the FeedSender port): what each channel was sent."""

    def __init__(self) -> None:
        self.sent: dict[int, list[discord.Embed]] = {}

    async def send(
        self, channel_id: int, embeds: Sequence[discord.Embed], nonce: str, actions: Sequence[FeedAction] = ()
    ) -> int:
        self.sent.setdefault(channel_id, []).extend(embeds)
        return len(self.sent[channel_id])

    async def find_delivered(self, channel_id: int, entry_ids: Collection[str]) -> dict[str, int]:
        return {}


async def opened(two: TwoAccounts, tmp_path: Path, *, totp: bool) -> AccountPool:
    pool = AccountPool(
        [
            make_account(two, tmp_path, ALPHA, primary=True, totp=totp),
            make_account(two, tmp_path, BRAVO, primary=False, totp=totp),
        ]
    )
    await pool.open()
    await pool.login()
    return pool


@pytest.fixture
async def router(two: TwoAccounts, tmp_path: Path) -> AsyncIterator[GroupRouter]:
    """Both accounts on sessions saved by a login with TOTP, as `groupbridge login` leaves them."""
    await (await opened(two, tmp_path, totp=True)).close()
    pool = await opened(two, tmp_path, totp=False)
    try:
        await pool.assign([two.only_a.id, two.only_b.id])
        yield GroupRouter(pool)
    finally:
        await pool.close()


async def lose_session(router: GroupRouter, group_id: str) -> None:
    """A call for the group meets the ended session; its account cannot log in again by itself."""
    with pytest.raises(VRChatError):
        await router.get_audit_logs(group_id)


async def test_the_alert_names_the_account_and_reaches_its_groups(
    two: TwoAccounts, router: GroupRouter, sqlite_store: Store
) -> None:
    for group, channel in ((two.only_a, FEED_A), (two.only_b, FEED_B)):
        await sqlite_store.add_binding(BindingIn(group_id=group.id, guild_id=1, feed_channel_id=channel))
    channels = Channels()
    alerts = SessionAlerts(router, sqlite_store, channels)
    # Bravo's alone first: with several accounts, a group's failed call has the pool ask the other
    # accounts whether one can take the group, which would meet Alpha's ended session too.
    expire_sessions_of(two.sim, two.bravo)

    await lose_session(router, two.only_b.id)
    assert alerts.needs_check() and await alerts.check() == [FEED_B]  # Alpha's group is not on hold
    (alert,) = channels.sent[FEED_B]
    assert alert.title == TITLE and BRAVO in str(alert.description) and ALPHA not in str(alert.description)
    assert f"groupbridge login --account {BRAVO}" in str(alert.description)
    assert PASSWORDS[BRAVO] not in str(alert.description)

    expire_sessions_of(two.sim, two.alpha)
    await lose_session(router, two.only_a.id)  # later, the other account too
    assert alerts.needs_check() and await alerts.check() == [FEED_A]
    (alert,) = channels.sent[FEED_A]
    assert ALPHA in str(alert.description) and BRAVO not in str(alert.description)
    assert not alerts.needs_check() and await alerts.check() == []  # each account alerted once
    assert alerts.episodes == 1


async def test_a_channel_shared_by_both_accounts_hears_each_ones_alert(
    two: TwoAccounts, router: GroupRouter, sqlite_store: Store
) -> None:
    for group in (two.only_a, two.only_b):
        await sqlite_store.add_binding(BindingIn(group_id=group.id, guild_id=1, feed_channel_id=FEED_A))
    channels = Channels()
    alerts = SessionAlerts(router, sqlite_store, channels)
    expire_sessions_of(two.sim, two.bravo)
    await lose_session(router, two.only_b.id)
    assert await alerts.check() == [FEED_A]
    expire_sessions_of(two.sim, two.alpha)
    await lose_session(router, two.only_a.id)
    assert await alerts.check() == [FEED_A]  # the same channel, the other account's alarm
    first, second = channels.sent[FEED_A]
    assert BRAVO in str(first.description) and ALPHA not in str(first.description)
    assert ALPHA in str(second.description) and BRAVO not in str(second.description)
    assert await sqlite_store.session_alerted_channels(ALPHA) == {FEED_A}
    assert await sqlite_store.session_alerted_channels(BRAVO) == {FEED_A}
