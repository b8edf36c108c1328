"""Watchlist and request-rule rows on SQLite and PostgreSQL: per binding, gone with the binding."""

from __future__ import annotations

import pytest

from bot.store import DuplicateWatchError, Store
from tests.store.helpers import binding, count_rows

WATCHED = "grp_00000000-0000-0000-0000-0000000000aa"


async def test_watchlist_per_binding_and_cascade(store: Store) -> None:
    one = await store.add_binding(binding(1))
    two = await store.add_binding(binding(2))
    await store.add_watch(one.id, WATCHED, "raiders", 5)
    await store.add_watch(two.id, WATCHED, "other server", 6)
    with pytest.raises(DuplicateWatchError):
        await store.add_watch(one.id, WATCHED, "again", 5)
    assert [w.note for w in await store.list_watch([one.id])] == ["raiders"]
    assert await store.remove_watch(one.id, WATCHED) is True
    assert await store.remove_watch(one.id, WATCHED) is False
    assert [w.note for w in await store.list_watch([one.id, two.id])] == ["other server"]
    await store.remove_binding(two.id)
    assert await count_rows(store, "watchlist") == 0


async def test_rules_positions_shadow_and_cascade(store: Store) -> None:
    one = await store.add_binding(binding(1))
    first = await store.add_rule(one.id, "age_verified", None, "accept", 5)
    second = await store.add_rule(one.id, "keyword", "raid", "reject", 5)
    assert (first.position, second.position) == (1, 2)
    assert await store.remove_rule(one.id, 1) is True
    third = await store.add_rule(one.id, "trust_at_least", "User", "hold", 5)
    assert third.position == 3  # numbers are not reused while later rules exist
    assert [r.position for r in await store.list_rules([one.id])] == [2, 3]
    assert await store.rules_shadow(one.id) is False
    await store.set_rules_shadow(one.id, True)
    await store.set_rules_shadow(one.id, True)  # idempotent upsert
    assert await store.rules_shadow(one.id) is True
    await store.set_rules_shadow(one.id, False)
    assert await store.rules_shadow(one.id) is False
    await store.remove_binding(one.id)
    assert await count_rows(store, "request_rules") == 0
    assert await count_rows(store, "rule_settings") == 0
