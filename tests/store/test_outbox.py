"""Outbox: ordering, pause/resume, packing, crash recovery with the same nonce, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.store import Store
from tests.store.helpers import GROUP, OTHER_GROUP, T0, binding, count_rows, entries, entry


async def test_pending_for_channel_is_oldest_first(store: Store) -> None:
    await store.add_binding(binding(1))
    # In two polls, the first out of time order; a timestamp tie in the second, handed over (as the
    # poller does) in VRChat's own order, which must win over the ids' order.
    await store.ingest(GROUP, [entry(9), entry(7), entry(8)])
    tie = T0 + timedelta(seconds=3)
    await store.ingest(
        GROUP, [entry(4, at=tie, entry_id="gaud_b"), entry(3, at=tie, entry_id="gaud_a"), entry(5)]
    )
    items = await store.pending_for_channel(1, limit=10)
    assert [i.entry.id for i in items] == [
        "gaud_b",
        "gaud_a",
        "gaud_00000005",
        "gaud_00000007",
        "gaud_00000008",
        "gaud_00000009",
    ]
    assert all(i.state == "pending" and i.attempts == 0 and i.nonce is None for i in items)
    assert items[1].entry.group_id == GROUP and items[1].entry.description == "entry 3"

    first_two = await store.pending_for_channel(1, limit=2)
    assert [i.entry.id for i in first_two] == ["gaud_b", "gaud_a"]


async def test_pending_channels_skip_paused_bindings(store: Store) -> None:
    await store.add_binding(binding(10))
    await store.add_binding(binding(20))
    await store.add_binding(binding(30, group_id=OTHER_GROUP))
    await store.ingest(GROUP, entries(range(3)))
    await store.ingest(OTHER_GROUP, [entry(100)])
    assert await store.pending_channels() == [10, 20, 30]

    assert await store.pause_binding(channel_id=20, reason="channel deleted") == 1
    assert await store.pending_channels() == [10, 30]
    assert await store.pending_for_channel(20) == []
    paused = (await store.list_bindings(channel_id=20))[0]
    assert paused.paused and paused.paused_reason == "channel deleted"
    # While paused, new entries are queued for it too and wait with the older ones.
    await store.ingest(GROUP, [entry(3)])
    assert await count_rows(store, "outbox", "channel_id = 20") == 4
    assert await store.pending_channels() == [10, 30]

    assert await store.resume_binding(channel_id=20) == 1
    assert await store.pending_channels() == [10, 20, 30]
    assert [i.entry.id for i in await store.pending_for_channel(20)] == [f"gaud_{n:08d}" for n in range(4)]
    resumed = await store.get_binding(paused.id)
    assert resumed is not None and not resumed.paused and resumed.paused_reason is None

    with pytest.raises(ValueError, match="exactly one"):
        await store.pause_binding(reason="x")
    assert await store.pause_binding(binding_id=999_999, reason="nothing") == 0


async def test_pack_send_and_crash_recovery_keeps_nonce(store: Store) -> None:
    await store.add_binding(binding(1))
    await store.ingest(GROUP, entries(range(5)))
    batch = await store.pending_for_channel(1, limit=3)
    ids = [i.id for i in batch]

    assert await store.mark_packed(ids, "nonce-abc") == 3
    assert [i.entry.id for i in await store.pending_for_channel(1)] == ["gaud_00000003", "gaud_00000004"]
    # "Crash" here: the message may or may not have reached Discord.
    assert await store.in_flight_channels() == [1]
    in_flight = await store.rows_in_flight(1)
    assert [i.id for i in in_flight] == ids
    assert {i.nonce for i in in_flight} == {"nonce-abc"}
    assert all(i.state == "sending" and i.attempts == 1 for i in in_flight)

    # Recovery re-packs with the same nonce (attempt 2), and this time Discord confirms.
    assert await store.mark_packed([i.id for i in in_flight], in_flight[0].nonce or "") == 3
    assert {i.attempts for i in await store.rows_in_flight(1)} == {2}
    assert await store.mark_sent(ids, discord_message_id=123456789012345678) == 3
    assert await store.rows_in_flight(1) == []
    assert await store.in_flight_channels() == []
    sent = await store.outbox_items("gaud_00000000")
    assert sent[0].state == "sent" and sent[0].discord_message_id == 123456789012345678
    assert sent[0].nonce == "nonce-abc" and sent[0].sent_at is not None

    # A sent row cannot be packed again.
    assert await store.mark_packed(ids, "nonce-other") == 0
    assert (await store.outbox_items("gaud_00000000"))[0].nonce == "nonce-abc"


async def test_failed_and_skipped_rows(store: Store) -> None:
    await store.add_binding(binding(1))
    await store.ingest(GROUP, entries(range(3)))
    rows = await store.pending_for_channel(1)
    await store.mark_packed([rows[0].id], "n1")
    assert await store.mark_failed([rows[0].id], "HTTP 500") == 1
    retry = (await store.outbox_items(rows[0].entry.id))[0]
    assert retry.state == "pending" and retry.last_error == "HTTP 500" and retry.attempts == 1

    assert await store.mark_failed([rows[1].id], "HTTP 403", give_up=True) == 1
    assert await store.mark_skipped([rows[2].id], "too old") == 1
    assert [i.entry.id for i in await store.pending_for_channel(1)] == [rows[0].entry.id]
    states = {(await store.outbox_items(r.entry.id))[0].state for r in rows[1:]}
    assert states == {"failed", "skipped"}


async def test_outbox_stats(store: Store) -> None:
    clock = [datetime(2026, 2, 1, 10, 0, tzinfo=UTC)]
    store._clock = lambda: clock[0]
    await store.add_binding(binding(1))
    await store.add_binding(binding(2))
    empty = await store.outbox_stats()
    assert empty.channels == [] and empty.total_pending == 0 and empty.oldest_pending_age is None

    await store.ingest(GROUP, entries(range(3)))
    clock[0] += timedelta(minutes=5)
    await store.ingest(GROUP, [entry(3)])
    sent = await store.pending_for_channel(2, limit=3)
    await store.mark_sent([i.id for i in sent], 42)

    stats = await store.outbox_stats(now=clock[0] + timedelta(minutes=1))
    assert [(c.channel_id, c.pending) for c in stats.channels] == [(1, 4), (2, 1)]
    assert stats.channels[0].oldest_pending_at == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    assert stats.channels[1].oldest_pending_at == datetime(2026, 2, 1, 10, 5, tzinfo=UTC)
    assert stats.total_pending == 5
    assert stats.oldest_pending_age == timedelta(minutes=6)


async def test_removing_binding_drops_its_queue(store: Store) -> None:
    keep = await store.add_binding(binding(1))
    drop = await store.add_binding(binding(2))
    await store.ingest(GROUP, entries(range(4)))
    assert await store.remove_binding(drop.id) is True
    assert await store.remove_binding(drop.id) is False
    assert await count_rows(store, "outbox") == 4
    assert await store.pending_channels() == [keep.feed_channel_id]
    assert await count_rows(store, "audit_entries") == 4
