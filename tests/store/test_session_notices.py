"""Which feed channels heard the open session alarm, on SQLite and PostgreSQL: the alarm claimed once
per channel, the "back" notice claimed by exactly one caller, and neither claimed by a caller whose
account lease has passed to another process."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import Store
from bot.store.leases import LeaseFence, LeaseLost

LEASE = "account:bot"


async def test_an_alarm_is_claimed_once_per_channel(store: Store) -> None:
    assert await store.claim_session_alarm([1, 2, 2]) == [1, 2]
    assert await store.claim_session_alarm([2, 3]) == [3]  # another process, the same episode
    assert await store.session_alerted_channels() == {1, 2, 3}


async def test_only_the_channels_that_heard_it_are_claimed_and_only_once(store: Store) -> None:
    await store.claim_session_alarm([1, 2])
    assert await store.claim_session_alerts([2, 4]) == [2]
    assert await store.claim_session_alerts([2]) == []
    assert await store.session_alerted_channels() == {1}


async def test_two_claimers_at_once_share_the_channels_without_overlap(store: Store) -> None:
    channels = list(range(1, 21))
    first, second = await asyncio.gather(
        store.claim_session_alarm(channels), store.claim_session_alarm(reversed(channels))
    )
    assert sorted(first + second) == channels
    first, second = await asyncio.gather(
        store.claim_session_alerts(channels), store.claim_session_alerts(reversed(channels))
    )
    assert sorted(first + second) == channels
    assert await store.session_alerted_channels() == set()


async def test_a_claim_is_refused_once_the_account_lease_is_another_process(store: Store) -> None:
    assert await store.acquire_leases([LEASE], "old", 30.0)
    await store.release_leases("old", [LEASE])
    assert await store.acquire_leases([LEASE], "new", 30.0)
    stale, holder = LeaseFence(LEASE, "old"), LeaseFence(LEASE, "new")
    with pytest.raises(LeaseLost):
        await store.claim_session_alarm([1], fence=stale)
    assert await store.claim_session_alarm([1], fence=holder) == [1]
    with pytest.raises(LeaseLost):
        await store.claim_session_alerts([1], fence=stale)
    assert await store.session_alerted_channels() == {1}  # the stale claim left the row alone
    assert await store.claim_session_alerts([1], fence=holder) == [1]


async def test_each_account_has_its_own_alarm_and_back_notice_in_a_shared_channel(store: Store) -> None:
    assert await store.claim_session_alarm([1, 2], account="alpha") == [1, 2]
    assert await store.claim_session_alarm([2, 3], account="bravo") == [2, 3]  # 2 hears bravo's too
    assert await store.claim_session_alarm([2], account="bravo") == []
    assert await store.claim_session_alerts([1, 2], account="alpha") == [1, 2]  # alpha is back
    assert await store.session_alerted_channels() == {2, 3}  # bravo's episode goes on there
    assert await store.session_alerted_channels("alpha") == set()
    assert await store.claim_session_alerts([2, 3], account="bravo") == [2, 3]


async def test_an_alarm_from_before_accounts_were_told_apart_is_ended_by_the_first_back(
    store: Store,
) -> None:
    await store.claim_session_alarm([1])  # as migration 0019 keeps an open episode's rows: account ''
    assert await store.claim_session_alarm([1], account="alpha") == [1]
    assert await store.claim_session_alerts([1], account="alpha") == [1]  # its own and the old one
    assert await store.session_alerted_channels() == set()
