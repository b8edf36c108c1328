"""Migration 0013 on a database with cards: what the start-up pass will still close, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, text

from bot.store import Store
from bot.store.models import UTCDateTime

INSERT = text(
    "INSERT INTO request_cards (group_id, user_id, channel_id, message_id, state, handled_at,"
    " created_at, updated_at) VALUES ('grp_1', :user, 10, 1, :state, :handled, :created, :created)"
).bindparams(bindparam("handled", type_=UTCDateTime()), bindparam("created", type_=UTCDateTime()))


@pytest.mark.slow  # migrations down and up, in child processes
async def test_cards_handled_over_a_day_ago_count_as_closed_the_recent_ones_do_not(db_url: str) -> None:
    now = datetime.now(UTC)
    cards = {
        "usr_old": ("rejected", now - timedelta(days=3)),  # the 24-hour pass would never have looked
        "usr_recent": ("accepted", now - timedelta(hours=2)),  # it might have been left open by a crash
        "usr_pending": ("pending", None),
    }
    store = await Store.open(db_url)
    try:
        await store.upgrade("0012")
        async with store.engine.begin() as conn:
            for user, (state, handled) in cards.items():
                await conn.execute(
                    INSERT,
                    {"user": user, "state": state, "handled": handled, "created": now - timedelta(days=4)},
                )
        await store.upgrade()
        closed = {user: (await store.cards_for("grp_1", user))[0].closed_at for user in cards}
    finally:
        await store.close()
    assert closed == {"usr_old": cards["usr_old"][1], "usr_recent": None, "usr_pending": None}
