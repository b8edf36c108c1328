"""Set-aside entries in the store, on SQLite and PostgreSQL: an entry the database refuses is kept as a
placeholder with the reason and queued in its place; the rest of the batch is stored as ever; trouble
of the database itself is never mistaken for a bad entry."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from bot.store import CursorUpdate, SetAsideIn, Store
from bot.store.set_aside import MAX_RAW, may_be_the_data, raw_json, storable
from tests.store.helpers import GROUP, T0, binding, count_rows, entries, entry

CHANNEL = 500


async def test_an_entry_the_database_refuses_is_set_aside_and_the_batch_goes_in(store: Store) -> None:
    """Text with a lone surrogate reaches the store only past the client's sanitising (a direct
    caller, a bug): SQLite and PostgreSQL both refuse to encode it. The batch still goes in."""
    await store.add_binding(binding(CHANNEL))
    good_before, good_after = entry(1), entry(3)
    bad = entry(2, description="bad \ud800 text")
    result = await store.ingest(
        GROUP,
        [good_before, bad, good_after],
        cursor_update=CursorUpdate(newest_entry_id=good_after.id, newest_created_at=good_after.created_at),
    )
    assert result.new_ids == [good_before.id, bad.id, good_after.id] and result.set_aside == [bad.id]
    assert result.queued == 3
    (aside,) = await store.list_set_aside(GROUP)
    assert aside.entry_id == bad.id and aside.stage == "store" and "surrogate" in aside.reason
    assert aside.raw is not None and "\\ud800" in aside.raw  # what was refused, as ASCII JSON
    items = await store.pending_for_channel(CHANNEL)
    assert [i.entry.id for i in items] == [good_before.id, bad.id, good_after.id]
    assert [i.set_aside is not None for i in items] == [False, True, False]
    placeholder = items[1].entry
    assert placeholder.description == "" and placeholder.data is None
    assert placeholder.event_type == bad.event_type and placeholder.created_at == bad.created_at
    assert items[0].entry.description == "entry 1"  # the others are untouched
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None and cursor.newest_entry_id == good_after.id
    # Storing the same batch again changes nothing and sets nothing aside again.
    again = await store.ingest(GROUP, [good_before, bad, good_after])
    assert again.new_ids == [] and again.set_aside == []


async def test_a_placeholder_from_the_poller_is_stored_queued_and_kept_with_its_reason(store: Store) -> None:
    await store.add_binding(binding(CHANNEL, families=("moderation",)))
    unreadable = dataclasses.replace(
        entry(2, event_type="unknown", actor_id=None, target_id=None, description="", data={}),
        id="unreadable:0123",
        set_aside=SetAsideIn("parse", "could not be read: created_at: invalid", '{"created_at": "x"}'),
    )
    typed = dataclasses.replace(unreadable, id="gaud_typed", event_type="group.update")
    result = await store.ingest(GROUP, [entry(1), unreadable, typed, entry(3)])
    assert result.set_aside == ["unreadable:0123", "gaud_typed"]
    # A placeholder of unknown type reaches every feed of the group; one whose type could be read
    # only the feeds that want that type (group.update is not moderation).
    items = await store.pending_for_channel(CHANNEL)
    assert [i.entry.id for i in items] == ["gaud_00000001", "unreadable:0123", "gaud_00000003"]
    aside = {a.entry_id: a for a in await store.list_set_aside(GROUP)}
    assert aside["unreadable:0123"].raw == '{"created_at": "x"}' and aside["gaud_typed"].stage == "parse"


async def test_when_not_even_the_placeholder_can_be_stored_nothing_is(store: Store) -> None:
    """An id the database cannot take leaves the placeholder (same id) nothing to stand on: then the
    fault is not one entry's, the ingest fails whole and the next poll tries again."""
    await store.add_binding(binding(CHANNEL))
    with pytest.raises(Exception) as failure:
        await store.ingest(
            GROUP,
            [entry(1), entry(2, entry_id="gaud_\ud800")],
            cursor_update=CursorUpdate(newest_entry_id="gaud_00000001", newest_created_at=T0),
        )
    assert "surrogate" in str(failure.value)
    assert await count_rows(store, "audit_entries") == 0
    assert await count_rows(store, "set_aside_entries") == 0
    assert await store.get_cursor(GROUP) is None


async def test_render_and_send_failures_are_recorded_once(store: Store) -> None:
    await store.add_binding(binding(CHANNEL))
    await store.ingest(GROUP, entries(range(1, 4)))
    assert await store.set_aside("gaud_00000002", GROUP, "render", "could not be rendered: KeyError")
    assert not await store.set_aside("gaud_00000002", GROUP, "send", "Discord refused it")  # kept the first
    (aside,) = await store.list_set_aside()
    assert (aside.stage, aside.reason) == ("render", "could not be rendered: KeyError")
    items = await store.pending_for_channel(CHANNEL)
    assert [i.set_aside is not None for i in items] == [False, True, False]
    assert items[1].entry.description == "entry 2"  # rendered and sent entries stay as they are


async def test_retention_takes_set_aside_rows_with_their_entries(store: Store) -> None:
    await store.add_binding(binding(CHANNEL))
    await store.ingest(GROUP, [entry(1), entry(2, description="\ud800")], enqueue=False)
    assert await count_rows(store, "set_aside_entries") == 1
    purged = await store.purge_older_than(1, now=T0 + timedelta(days=3))
    assert purged == 2 and await count_rows(store, "set_aside_entries") == 0


def test_only_errors_that_may_be_the_datas_fault_lead_to_setting_aside() -> None:
    assert may_be_the_data(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
    assert may_be_the_data(IntegrityError("INSERT", {}, Exception("x")))
    assert may_be_the_data(DBAPIError("INSERT", {}, Exception("index row size exceeds maximum")))
    assert not may_be_the_data(OperationalError("INSERT", {}, Exception("database is locked")))
    assert not may_be_the_data(InterfaceError("INSERT", {}, Exception("connection is closed")))
    lost = DBAPIError("INSERT", {}, Exception("gone"), connection_invalidated=True)
    assert not may_be_the_data(lost)


def test_reasons_and_raw_json_are_always_storable() -> None:
    text = storable("a\x00b\ud800c" + "x" * 1000, 50)
    assert len(text) == 50 and "\x00" not in text and text.encode("utf-8")
    assert raw_json({"d": "\ud800\x00"}) == '{"d": "\\ud800\\u0000"}'
    nested: list[object] = []
    for _ in range(5000):
        nested = [nested]
    deep = raw_json(nested)  # too deep for the encoder up to 3.12; 3.13's goes deeper
    assert deep.isascii() and len(deep) <= MAX_RAW
    assert deep == '"[not representable as JSON: list]"' or deep.startswith("[[[[")
