"""The store's shared helpers: `from_row` (ORM row to frozen dataclass), `equal_where_given`, the
chunked UPDATE by ids (`update_in`)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from bot.store import Store
from bot.store._base import IN_CHUNK, equal_where_given, fields_of, from_row
from bot.store.models import BindingRow, GapRow
from tests.store.helpers import GROUP, T0


@dataclass(frozen=True, slots=True)
class Pair:
    left: int
    right: tuple[int, ...]


def test_copies_the_same_named_columns_and_takes_converted_fields_as_given() -> None:
    row = SimpleNamespace(left=1, right=[2, 3], extra="ignored")
    assert from_row(Pair, row, right=tuple(row.right)) == Pair(1, (2, 3))
    assert from_row(Pair, SimpleNamespace(left=4, right=(5,))) == Pair(4, (5,))


def test_a_field_the_row_lacks_fails_at_once() -> None:
    with pytest.raises(AttributeError, match="right"):
        from_row(Pair, SimpleNamespace(left=1))


def test_equal_where_given_leaves_out_the_filters_not_given() -> None:
    conditions = equal_where_given([(BindingRow.group_id, "grp_1"), (BindingRow.guild_id, None)])
    assert [str(c) for c in conditions] == ["bindings.group_id = :group_id_1"]


def test_fields_of_gives_the_values_as_they_are() -> None:
    inner = (2, 3)
    values = fields_of(Pair(1, inner))
    assert values == {"left": 1, "right": (2, 3)} and values["right"] is inner


async def test_an_update_by_more_ids_than_one_in_list_changes_each_listed_row_once(store: Store) -> None:
    """mark_gap_notified goes through update_in: ids past the first chunks, and repeated ones, count
    once each; a row not listed stays as it was."""
    listed_count = IN_CHUNK * 2 + 1
    async with store._sessions.begin() as session:
        session.add_all(
            GapRow(group_id=GROUP, start=T0, end=T0, reason="test", created_at=T0, notified=False)
            for _ in range(listed_count + 1)
        )
    gaps = await store.unnotified_gaps(GROUP)
    listed = [gap.id for gap in gaps[:listed_count]]
    assert await store.mark_gap_notified(listed + listed[:10]) == listed_count
    assert [gap.id for gap in await store.unnotified_gaps(GROUP)] == [gaps[-1].id]
