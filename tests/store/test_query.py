"""Search with keyset pagination, CSV export, retention."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import InvalidCursorError, Store
from bot.store.query import csv_safe, decode_cursor, encode_cursor
from tests.fixtures.statements import statements
from tests.store.helpers import GROUP, OTHER_GROUP, T0, binding, count_rows, entries, entry


async def _seed_mixed(store: Store) -> None:
    await store.ingest(
        GROUP,
        [
            entry(1, event_type="group.user.ban", actor_id="usr_a", target_id="usr_x"),
            entry(2, event_type="group.user.unban", actor_id="usr_a", target_id="usr_y"),
            entry(3, event_type="group.instance.kick", actor_id="usr_b", target_id="usr_x"),
            entry(4, event_type="group.user_note.set", actor_id="usr_b", target_id="usr_x"),
            entry(5, event_type="group.update", actor_id="usr_a", target_id=None),
        ],
    )
    await store.ingest(
        OTHER_GROUP, [entry(6, event_type="group.user.ban", actor_id="usr_a", target_id="usr_x")]
    )


def _ns(page_entries: list) -> list[int]:
    return [int(e.id.removeprefix("gaud_")) for e in page_entries]


async def test_search_filters(store: Store) -> None:
    await _seed_mixed(store)
    everything = await store.search_entries()
    assert _ns(everything.entries) == [6, 5, 4, 3, 2, 1]
    assert everything.next_cursor is None

    assert _ns((await store.search_entries(group_id=GROUP)).entries) == [5, 4, 3, 2, 1]
    assert _ns((await store.search_entries(group_id=GROUP, actor_id="usr_a")).entries) == [5, 2, 1]
    assert _ns((await store.search_entries(group_id=GROUP, target_id="usr_x")).entries) == [4, 3, 1]
    # A family prefix matches the family only: 'group.user' must not match 'group.user_note.set'.
    assert _ns((await store.search_entries(group_id=GROUP, event_types=["group.user"])).entries) == [2, 1]
    assert _ns((await store.search_entries(group_id=GROUP, event_types=["group.user.*"])).entries) == [2, 1]
    assert _ns((await store.search_entries(event_types=["group.user.ban"])).entries) == [6, 1]
    both = await store.search_entries(group_id=GROUP, event_types=["group.instance", "group.update"])
    assert _ns(both.entries) == [5, 3]
    window = await store.search_entries(since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=4))
    assert _ns(window.entries) == [3, 2]  # since inclusive, until exclusive
    assert (await store.search_entries(actor_id="usr_nobody")).entries == []
    # LIKE wildcards in a user-supplied prefix are literal.
    assert (await store.search_entries(event_types=["group%"])).entries == []


async def test_keyset_pagination_with_equal_timestamps(store: Store) -> None:
    same = T0 + timedelta(minutes=1)
    batch = [entry(n, at=same) for n in range(7)] + [entry(n) for n in range(10, 13)]
    await store.ingest(GROUP, batch)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await store.search_entries(group_id=GROUP, limit=3, before_cursor=cursor)
        seen.extend(e.id for e in page.entries)
        pages += 1
        assert len(page.entries) <= 3
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(cursor) < 100  # fits a Discord button custom_id
    assert pages == 4
    # Newest first, every entry exactly once; the 7-way tie is ordered by id, descending.
    expected = [f"gaud_{n:08d}" for n in range(6, -1, -1)] + [f"gaud_{n:08d}" for n in (12, 11, 10)]
    assert seen == expected

    # New entries arriving between pages do not shift the next page (no OFFSET).
    first = await store.search_entries(group_id=GROUP, limit=4)
    await store.ingest(GROUP, [entry(99, at=same + timedelta(hours=1))])
    second = await store.search_entries(group_id=GROUP, limit=4, before_cursor=first.next_cursor)
    assert [e.id for e in second.entries] == expected[4:8]


async def test_exact_last_page_has_no_cursor(store: Store) -> None:
    await store.ingest(GROUP, entries(range(4)))
    page = await store.search_entries(limit=2)
    last = await store.search_entries(limit=2, before_cursor=page.next_cursor)
    assert len(last.entries) == 2 and last.next_cursor is None
    with pytest.raises(ValueError, match="limit"):
        await store.search_entries(limit=0)


async def test_cursor_codec() -> None:
    at = datetime(2026, 7, 8, 9, 10, 11, 121314, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, "gaud_x:y")) == (at, "gaud_x:y")
    for bad in ("", "nonsense", "12:", "x:gaud_1", "99999999999999999999999:gaud"):
        with pytest.raises(InvalidCursorError):
            decode_cursor(bad)


async def test_invalid_cursor_from_user(store: Store) -> None:
    with pytest.raises(InvalidCursorError):
        await store.search_entries(before_cursor="garbage")


async def test_export_csv_escapes_and_round_trips(store: Store) -> None:
    tricky = 'He said "hi", then left,\nand came back\r\nlater'
    await store.ingest(
        GROUP,
        [
            entry(1, description=tricky, data={"reason": "=cmd|' /C calc'!A0", "ü": [1, 2]}),
            entry(2, description='=HYPERLINK("http://evil")', actor_id="+usr_plus", target_id="@usr_at"),
            entry(3, description="-2+3", data={}),
            entry(4, description="normal - text with a dash inside"),
        ],
    )
    await store.ingest(OTHER_GROUP, [entry(5)])
    out = io.StringIO()
    written = await store.export_csv(out, group_id=GROUP)
    assert written == 4
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == [
        "id",
        "created_at",
        "event_type",
        "actor_id",
        "actor_display_name",
        "target_id",
        "description",
        "data",
    ]
    body = {r[0]: r for r in rows[1:]}
    assert list(body) == ["gaud_00000004", "gaud_00000003", "gaud_00000002", "gaud_00000001"]

    first = body["gaud_00000001"]
    assert first[1] == "2026-01-01T12:00:01+00:00"
    assert first[2] == "group.user.ban"
    assert first[6] == tricky  # commas, quotes and newlines survive intact
    assert json.loads(first[7]) == {"reason": "=cmd|' /C calc'!A0", "ü": [1, 2]}

    second = body["gaud_00000002"]
    assert second[6] == '\'=HYPERLINK("http://evil")'
    assert second[3] == "'+usr_plus"
    assert second[5] == "'@usr_at"
    assert body["gaud_00000003"][6] == "'-2+3"
    assert body["gaud_00000003"][7] == "{}"
    assert body["gaud_00000004"][6] == "normal - text with a dash inside"


async def test_export_csv_pages_through_everything_and_honours_limit(store: Store, monkeypatch) -> None:
    monkeypatch.setattr("bot.store.query.EXPORT_PAGE", 7)  # force several pages
    await store.ingest(GROUP, entries(range(30), event_type="group.user.ban"))
    await store.ingest(GROUP, entries(range(100, 105), event_type="group.update"))
    out = io.StringIO()
    assert await store.export_csv(out, event_types=["group.user"]) == 30
    ids = [r[0] for r in list(csv.reader(io.StringIO(out.getvalue())))[1:]]
    assert ids == [f"gaud_{n:08d}" for n in range(29, -1, -1)]

    limited = io.StringIO()
    assert await store.export_csv(limited, limit=10) == 10
    assert len(list(csv.reader(io.StringIO(limited.getvalue())))) == 11

    empty = io.StringIO()
    assert await store.export_csv(empty, actor_id="nobody") == 0
    assert next(csv.reader(io.StringIO(empty.getvalue())))[0] == "id"


def test_csv_safe() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(dangerous) == "'" + dangerous
    for fine in ("", "abc", "1-1", "a=b", " =x"):
        assert csv_safe(fine) == fine


async def test_purge_keeps_undelivered_entries(store: Store) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=100)
    await store.add_binding(binding(1))
    await store.ingest(GROUP, [entry(n, at=old + timedelta(minutes=n)) for n in range(6)])
    await store.ingest(GROUP, [entry(50, at=now - timedelta(days=1))])
    items = {i.entry.id: i for i in await store.pending_for_channel(1, limit=100)}
    await store.mark_sent([items["gaud_00000000"].id, items["gaud_00000001"].id], 1)
    await store.mark_skipped([items["gaud_00000002"].id], "too old")
    await store.mark_failed([items["gaud_00000003"].id], "403", give_up=True)
    await store.mark_packed([items["gaud_00000004"].id], "n")  # in flight: still owed to Discord
    # gaud_00000005 stays pending.

    purged = await store.purge_older_than(30, now=now)
    assert purged == 4
    remaining = {e.id for e in (await store.search_entries(limit=100)).entries}
    assert remaining == {"gaud_00000004", "gaud_00000005", "gaud_00000050"}
    assert await count_rows(store, "outbox") == 3
    assert await store.purge_older_than(30, now=now) == 0

    # Once delivered, they go on the next run.
    await store.mark_sent([items["gaud_00000004"].id, items["gaud_00000005"].id], 2)
    assert await store.purge_older_than(30, now=now) == 2
    assert await count_rows(store, "audit_entries") == 1
    with pytest.raises(ValueError, match="negative"):
        await store.purge_older_than(-1)


async def test_set_discord_actor(store: Store) -> None:
    await store.ingest(GROUP, [entry(1)])
    assert await store.set_discord_actor("gaud_00000001", 987654321098765432, "mod#0001") is True
    assert await store.set_discord_actor("gaud_missing", 1, "x") is False
    stored = await store.get_entry("gaud_00000001")
    assert stored is not None
    assert (stored.discord_actor_id, stored.discord_actor_name) == (987654321098765432, "mod#0001")


async def test_purge_deletes_entries_a_batch_at_a_time(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first purge over years of mirror must not hold the write lock in one transaction."""
    monkeypatch.setattr("bot.store._base.IN_CHUNK", 3)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=100)
    await store.ingest(GROUP, [entry(n, at=old + timedelta(minutes=n)) for n in range(7)])
    await store.ingest(GROUP, [entry(50, at=now)])

    with statements(store) as sent:
        assert await store.purge_older_than(30, now=now) == 7
    deletes = [sql for sql, _ in sent if sql.lstrip().upper().startswith("DELETE FROM AUDIT_ENTRIES")]
    assert len(deletes) == 3  # 3 + 3 + 1, each batch its own statement and transaction
    assert [e.id for e in (await store.search_entries(limit=100)).entries] == ["gaud_00000050"]
