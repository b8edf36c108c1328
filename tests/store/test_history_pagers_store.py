"""The pager rows behind a history reply's ◂ Prev / Next ▸: what they keep, how a page seen is
recorded (and not over another click's), and that a week unused forgets them."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.store import Store
from bot.store.history_pagers import PAGER_KEPT, HistoryPager
from tests.store.helpers import GROUP, GUILD, T0

CAROL = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
OPENER = 222_222_222_222_222_222


async def _open(store: Store, cursors: list[str | None], *, at: datetime = T0) -> HistoryPager:
    return await store.open_history_pager(
        guild_id=GUILD, group_id=GROUP, user_id=CAROL, opener_discord_id=OPENER, cursors=cursors, now=at
    )


async def test_a_pager_keeps_whose_history_it_pages_and_the_cursors_known(store: Store) -> None:
    opened = await _open(store, [None, "1767268800000000:e:gaud_a"])
    read = await store.history_pager(opened.id, now=T0)
    assert read == opened
    assert read is not None and read.cursors == (None, "1767268800000000:e:gaud_a")
    assert (read.guild_id, read.group_id, read.user_id, read.opener_discord_id) == (
        GUILD,
        GROUP,
        CAROL,
        OPENER,
    )
    assert await store.history_pager(opened.id + 1, now=T0) is None


async def test_a_page_seen_records_the_use_and_the_next_cursor_unless_another_click_came_first(
    store: Store,
) -> None:
    opened = await _open(store, [None, "c2"])
    later = T0 + timedelta(minutes=5)
    assert await store.history_page_seen(opened.id, seen=(None, "c2"), cursors=(None, "c2", "c3"), now=later)
    read = await store.history_pager(opened.id, now=later)
    assert read is not None and read.cursors == (None, "c2", "c3") and read.used_at == later
    # A click that read the pager before that one changed it does not overwrite what it learnt.
    stale = await store.history_page_seen(opened.id, seen=(None, "c2"), cursors=(None, "c2", "x"), now=later)
    assert stale is False
    again = await store.history_pager(opened.id, now=later)
    assert again is not None and again.cursors == (None, "c2", "c3")


async def test_a_pager_unused_for_a_week_is_forgotten_and_deleted_by_the_next_one(store: Store) -> None:
    old = await _open(store, [None, "c2"])
    kept = await _open(store, [None], at=T0 + timedelta(days=1))
    week_later = T0 + PAGER_KEPT + timedelta(seconds=1)
    assert await store.history_pager(old.id, now=week_later) is None  # forgotten before it is deleted
    assert await store.history_pager(kept.id, now=week_later) == kept
    newest = await _open(store, [None], at=week_later)
    # Deleted now: not even an earlier clock finds it; the pager used within the week stays.
    assert await store.history_pager(old.id, now=T0) is None
    assert await store.history_pager(kept.id, now=week_later) == kept
    assert newest.id > kept.id > old.id
