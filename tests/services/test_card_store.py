"""Request cards in the store, on SQLite and PostgreSQL: the claim is atomic, also across processes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.store import NO_CHANNEL, Store
from tests.store.helpers import GROUP, count_rows

USER = "usr_00000000-0000-4000-8000-000000000001"
OTHER_USER = "usr_00000000-0000-4000-8000-000000000002"


async def test_upsert_creates_once_and_keeps_state(store: Store) -> None:
    card = await store.upsert_card(GROUP, USER, 10, display_name="Carol")
    assert (card.state, card.display_name, card.message_id) == ("pending", "Carol", None)
    again = await store.upsert_card(GROUP, USER, 10, message_id=555)
    assert again.id == card.id
    assert (again.display_name, again.message_id) == ("Carol", 555)  # unchanged name kept
    await store.upsert_card(GROUP, USER, 11)
    await store.upsert_card(GROUP, OTHER_USER, 10)
    assert await count_rows(store, "request_cards") == 3
    assert [c.channel_id for c in await store.cards_for(GROUP, USER)] == [10, 11]

    assert await store.claim_card(GROUP, USER, "accepted", by_discord_id=1, by_name="maya", where="Discord")
    kept = await store.upsert_card(GROUP, USER, 10, display_name="Carol B")
    assert kept.state == "accepted" and kept.display_name == "Carol B"


async def test_claim_moves_every_card_of_the_request_once(store: Store) -> None:
    await store.upsert_card(GROUP, USER, 10)
    await store.upsert_card(GROUP, USER, 11)
    await store.upsert_card(GROUP, OTHER_USER, 10)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert await store.claim_card(
        GROUP, USER, "rejected", by_discord_id=7, by_name="maya", where="Discord", at=at
    )
    assert not await store.claim_card(
        GROUP, USER, "accepted", by_discord_id=8, by_name="sam", where="Discord"
    )
    cards = await store.cards_for(GROUP, USER)
    assert {(c.state, c.handled_by_name, c.handled_by_discord_id, c.handled_where) for c in cards} == {
        ("rejected", "maya", 7, "Discord")
    }
    assert all(c.handled_at == at for c in cards)
    assert (await store.get_card(GROUP, OTHER_USER, 10)).state == "pending"  # type: ignore[union-attr]
    assert [c.user_id for c in await store.list_cards(GROUP, state="pending")] == [OTHER_USER]
    assert len(await store.list_cards(GROUP)) == 3
    with pytest.raises(ValueError, match="claimed"):
        await store.claim_card(GROUP, OTHER_USER, "pending", by_discord_id=1, by_name="x", where="Discord")


async def test_concurrent_claims_one_winner_across_two_stores(store: Store, db_url: str) -> None:
    """Two Store objects = two connection pools, as two bot processes would have."""
    other = await Store.open(db_url)
    try:
        await store.upsert_card(GROUP, USER, 10)
        claims = [
            (store if n % 2 else other).claim_card(
                GROUP, USER, "accepted", by_discord_id=n, by_name=f"mod{n}", where="Discord"
            )
            for n in range(8)
        ]
        results = await asyncio.gather(*claims)
        assert sum(results) == 1
        winner = results.index(True)
        card = await other.get_card(GROUP, USER, 10)
        assert card is not None and card.handled_by_discord_id == winner
    finally:
        await other.close()


async def test_release_only_undoes_that_moderators_discord_claim(store: Store) -> None:
    await store.upsert_card(GROUP, USER, NO_CHANNEL)
    await store.claim_card(GROUP, USER, "accepted", by_discord_id=1, by_name="maya", where="Discord")
    assert await store.release_claim(GROUP, USER, "accepted", by_discord_id=2) == 0
    assert await store.release_claim(GROUP, USER, "rejected", by_discord_id=1) == 0
    assert await store.release_claim(GROUP, USER, "accepted", by_discord_id=1) == 1
    card = await store.get_card(GROUP, USER, NO_CHANNEL)
    assert card is not None and card.pending and card.handled_by_name is None and card.handled_at is None


async def test_reopen_respects_the_cut_off(store: Store) -> None:
    asked = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    first = await store.upsert_card(GROUP, USER, 10, message_id=99, requested_at=asked)
    assert first.requested_at == asked
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    await store.claim_card(GROUP, USER, "gone", by_discord_id=None, by_name=None, where="VRChat", at=at)
    assert await store.reopen_cards(GROUP, USER, handled_before=at) == 0  # not strictly before
    assert await store.reopen_cards(GROUP, USER, handled_before=at + timedelta(seconds=1)) == 1
    card = await store.get_card(GROUP, USER, 10)
    assert card is not None and card.pending and card.message_id is None and card.handled_where is None
    # It now stands for the new request: dated afresh, request time unknown until reconciled.
    assert card.requested_at is None and card.created_at > first.created_at
    later = datetime(2026, 3, 2, tzinfo=UTC)
    assert (await store.upsert_card(GROUP, USER, 10, requested_at=later)).requested_at == later


async def test_set_card_message(store: Store) -> None:
    assert not await store.set_card_message(GROUP, USER, 10, 1234)
    await store.upsert_card(GROUP, USER, 10)
    assert await store.set_card_message(GROUP, USER, 10, 1234)
    card = await store.get_card(GROUP, USER, 10)
    assert card is not None and card.message_id == 1234
    assert await store.get_card(GROUP, USER, 11) is None


async def test_database_refuses_unknown_states(store: Store) -> None:
    """The CHECK constraints hold even for writes that bypass CardOps."""
    from sqlalchemy import text

    await store.upsert_card(GROUP, USER, 10)
    for sql in (
        "UPDATE request_cards SET state = 'maybe'",
        "UPDATE request_cards SET handled_where = 'Slack'",
    ):
        with pytest.raises(IntegrityError):
            async with store.engine.begin() as conn:
                await conn.execute(text(sql))
