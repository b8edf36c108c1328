"""Retention beyond the audit log: decided join-request cards whose message shows it, and gaps
already announced, go once older than the cutoff; an open card, a card still to be closed and a gap
not yet announced stay, whatever their age."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store
from tests.store.helpers import GROUP, T0, count_rows

CHANNEL = 900_000_000_000_000_005


async def test_only_decided_and_closed_cards_go(store: Store) -> None:
    for user in ("usr_open", "usr_closed", "usr_unclosed"):
        await store.upsert_card(GROUP, user, CHANNEL, message_id=1)
    for user in ("usr_closed", "usr_unclosed"):
        assert await store.claim_card(
            GROUP, user, "accepted", by_discord_id=5, by_name="ada", where="Discord"
        )
    assert await store.set_card_closed(GROUP, "usr_closed", CHANNEL)
    closed = await store.get_card(GROUP, "usr_closed", CHANNEL)
    assert closed is not None and closed.closed_at is not None

    assert await store.purge_closed_cards(closed.closed_at) == 0  # not older than the cutoff yet
    assert await store.purge_closed_cards(closed.closed_at + timedelta(seconds=1)) == 1
    assert await store.get_card(GROUP, "usr_closed", CHANNEL) is None
    assert {c.user_id for c in await store.list_cards(GROUP)} == {"usr_open", "usr_unclosed"}
    # The same requester asks again later: a new card, as for anyone.
    again = await store.upsert_card(GROUP, "usr_closed", CHANNEL)
    assert again.state == "pending"


async def test_only_announced_gaps_go(store: Store) -> None:
    announced = await store.record_gap(GROUP, T0, T0 + timedelta(hours=1), "cut")
    await store.record_gap(GROUP, T0, T0 + timedelta(hours=1), "not yet told")
    await store.record_gap(GROUP, T0 + timedelta(days=2), T0 + timedelta(days=3), "recent")
    await store.mark_gap_notified([announced.id])
    assert await store.purge_notified_gaps(T0 + timedelta(hours=1)) == 0  # ends at the cutoff
    assert await store.purge_notified_gaps(T0 + timedelta(days=1)) == 1
    assert await count_rows(store, "gaps") == 2
    assert [g.reason for g in await store.unnotified_gaps(GROUP)] == ["not yet told", "recent"]
