"""Which feed channels heard the open session alarm, on SQLite and PostgreSQL: recorded once per
channel, and claimed by exactly one caller when the session is back."""

from __future__ import annotations

import asyncio

from bot.store import Store


async def test_an_alarm_is_recorded_once_per_channel(store: Store) -> None:
    await store.record_session_alert([1, 2, 2])
    await store.record_session_alert([2, 3])  # another process, the same episode
    assert await store.session_alerted_channels() == {1, 2, 3}


async def test_only_the_channels_that_heard_it_are_claimed_and_only_once(store: Store) -> None:
    await store.record_session_alert([1, 2])
    assert await store.claim_session_alerts([2, 4]) == [2]
    assert await store.claim_session_alerts([2]) == []
    assert await store.session_alerted_channels() == {1}


async def test_two_claimers_at_once_share_the_channels_without_overlap(store: Store) -> None:
    channels = list(range(1, 21))
    await store.record_session_alert(channels)
    first, second = await asyncio.gather(
        store.claim_session_alerts(channels), store.claim_session_alerts(reversed(channels))
    )
    assert sorted(first + second) == channels
    assert await store.session_alerted_channels() == set()
