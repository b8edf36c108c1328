"""Ingest: idempotency, atomicity, fan-out to bindings, cursor handling. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import Binding, CursorUpdate, Store
from tests.store.helpers import GROUP, OTHER_GROUP, T0, binding, count_rows, entries, entry


def _wants(*families: str) -> Binding:
    return Binding(
        id=1,
        group_id=GROUP,
        guild_id=1,
        feed_channel_id=1,
        requests_channel_id=None,
        moderator_role_ids=(),
        event_families=families,
        paused=False,
        paused_reason=None,
        source="config",
        created_at=T0,
    )


def test_binding_wants_friendly_families_and_exact_types() -> None:
    assert _wants().wants("group.anything.at_all")  # no families listed: everything
    moderation = _wants("moderation")
    assert moderation.wants("group.user.ban") and moderation.wants("group.instance.warn")
    assert not moderation.wants("group.update") and not moderation.wants("group.member.join")
    # The old prefix families no longer mean anything: 'group.user' is neither a family nor a type.
    assert not _wants("group.user").wants("group.user.ban")
    exact = _wants("group.instance.kick")
    assert exact.wants("group.instance.kick") and not exact.wants("group.instance.warn")
    assert _wants("other").wants("group.brand_new.thing") and not moderation.wants("group.brand_new.thing")


async def test_same_batch_twice_stores_once(store: Store) -> None:
    await store.add_binding(binding(1))
    batch = entries(range(10))
    first = await store.ingest(GROUP, batch)
    assert first.new_ids == [e.id for e in batch]
    assert (first.duplicates, first.queued) == (0, 10)

    second = await store.ingest(GROUP, batch)
    assert second.new_ids == []
    assert (second.duplicates, second.queued) == (10, 0)
    assert await count_rows(store, "audit_entries") == 10
    assert await count_rows(store, "outbox") == 10


async def test_overlapping_batches_and_in_batch_duplicates(store: Store) -> None:
    await store.add_binding(binding(1))
    await store.add_binding(binding(2))
    await store.ingest(GROUP, entries(range(0, 10)))
    # Overlaps 5..9 with the first batch and repeats 12 twice within itself.
    second = [*entries(range(5, 15)), entry(12)]
    result = await store.ingest(GROUP, second)
    assert result.new_ids == [f"gaud_{n:08d}" for n in range(10, 15)]
    assert result.duplicates == 6  # 5 already stored + 1 repeated inside the batch
    assert result.queued == 10  # 5 new entries x 2 bindings
    assert await count_rows(store, "audit_entries") == 15
    assert await count_rows(store, "outbox") == 30
    # Never the same entry twice for a channel.
    for n in (5, 12):
        items = await store.outbox_items(f"gaud_{n:08d}")
        assert sorted(i.channel_id for i in items) == [1, 2]


async def test_batch_of_only_in_batch_duplicates(store: Store) -> None:
    result = await store.ingest(GROUP, [entry(1), entry(1), entry(1)])
    assert result.new_ids == ["gaud_00000001"]
    assert result.duplicates == 2
    assert await count_rows(store, "audit_entries") == 1


async def test_empty_batch_still_moves_cursor(store: Store) -> None:
    result = await store.ingest(GROUP, [], cursor_update=CursorUpdate(backfill_done=True))
    assert (result.new_ids, result.duplicates, result.queued) == ([], 0, 0)
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None and cursor.backfill_done and cursor.last_success_at is not None


@pytest.mark.parametrize("stage", ["entries", "outbox", "cursor"])
async def test_failure_mid_ingest_leaves_nothing(store: Store, stage: str) -> None:
    await store.add_binding(binding(1))
    await store.ingest(GROUP, [entry(0)], cursor_update=CursorUpdate("gaud_00000000", T0))

    async def explode(at: str, session: AsyncSession) -> None:
        if at == stage:
            raise RuntimeError(f"injected failure after {at}")

    store.ingest_hook = explode
    batch = entries(range(1, 50))
    with pytest.raises(RuntimeError, match="injected failure"):
        await store.ingest(GROUP, batch, cursor_update=CursorUpdate(batch[-1].id, batch[-1].created_at))

    assert await count_rows(store, "audit_entries") == 1
    assert await count_rows(store, "outbox") == 1
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None and cursor.newest_entry_id == "gaud_00000000"
    assert await store.known_ids(GROUP, [e.id for e in batch]) == set()

    # The same batch goes through once the fault is gone: nothing half-stored blocks it.
    store.ingest_hook = None
    result = await store.ingest(GROUP, batch, cursor_update=CursorUpdate(batch[-1].id, batch[-1].created_at))
    assert len(result.new_ids) == 49 and result.queued == 49
    assert await count_rows(store, "outbox") == 50
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None and cursor.newest_entry_id == batch[-1].id


async def test_constraint_violation_mid_ingest_rolls_back(store: Store) -> None:
    """A real error from the database, raised after entries and outbox rows were written."""
    b = await store.add_binding(binding(1))
    seen: list[int] = []

    async def duplicate_outbox_row(at: str, session: AsyncSession) -> None:
        if at == "outbox":
            seen.append(int((await session.execute(text("SELECT COUNT(*) FROM outbox"))).scalar_one()))
            # Violates uq_outbox_entry_id_channel_id: the row for this entry and channel exists.
            await session.execute(
                text(
                    "INSERT INTO outbox (entry_id, binding_id, channel_id, state, attempts, delayed,"
                    " created_at) VALUES ('gaud_00000001', :b, 1, 'pending', 0, false, :at)"
                    # Typed, as the models store it: sqlite3's own datetime adapter is deprecated (3.12).
                ).bindparams(bindparam("at", type_=DateTime(timezone=True))),
                {"b": b.id, "at": T0},
            )

    store.ingest_hook = duplicate_outbox_row
    with pytest.raises(IntegrityError):
        await store.ingest(GROUP, entries(range(5)), cursor_update=CursorUpdate("gaud_00000004", T0))
    assert seen == [5]  # inside the transaction, the batch's rows were there when it failed
    assert await count_rows(store, "audit_entries") == 0
    assert await count_rows(store, "outbox") == 0
    assert await store.get_cursor(GROUP) is None


async def test_event_family_filter_and_paused_bindings(store: Store) -> None:
    everything = await store.add_binding(binding(1))
    moderation = await store.add_binding(binding(2, families=("moderation",)))
    single_type = await store.add_binding(binding(3, families=("group.instance.kick",)))
    paused = await store.add_binding(binding(4))
    other_group = await store.add_binding(binding(5, group_id=OTHER_GROUP))
    settings = await store.add_binding(binding(6, families=("settings",)))
    assert await store.pause_binding(binding_id=paused.id, reason="missing permissions") == 1

    batch = [
        entry(1, event_type="group.user.ban"),
        entry(2, event_type="group.user.unban"),
        entry(3, event_type="group.instance.kick"),  # moderation, although it is a group.instance type
        entry(4, event_type="group.instance.create"),  # instances: not moderation
        entry(5, event_type="group.update"),
    ]
    result = await store.ingest(GROUP, batch)
    assert result.queued == 5 + 3 + 1 + 1 + 5  # the paused binding's rows wait for /bridge resume

    def channels_of(n: int) -> set[int]:
        return {i.channel_id for i in by_entry[f"gaud_{n:08d}"]}

    by_entry = {e.id: await store.outbox_items(e.id) for e in batch}
    assert channels_of(1) == {everything.feed_channel_id, moderation.feed_channel_id, paused.feed_channel_id}
    assert channels_of(2) == {1, 2, 4}
    assert channels_of(3) == {1, 2, single_type.feed_channel_id, 4}
    assert channels_of(4) == {1, 4}
    assert channels_of(5) == {1, settings.feed_channel_id, paused.feed_channel_id}
    assert other_group.feed_channel_id not in set().union(*(channels_of(n) for n in range(1, 6)))
    assert await store.pending_for_channel(paused.feed_channel_id) == []  # held back while paused
    await store.resume_binding(binding_id=paused.id)
    waiting = await store.pending_for_channel(paused.feed_channel_id)
    assert [i.entry.id for i in waiting] == [e.id for e in batch]  # all of them, in order


async def test_enqueue_false_and_delayed_ids(store: Store) -> None:
    await store.add_binding(binding(1))
    backfill = await store.ingest(GROUP, entries(range(3)), enqueue=False)
    assert backfill.queued == 0 and len(backfill.new_ids) == 3
    assert await count_rows(store, "outbox") == 0

    late = entry(10)
    result = await store.ingest(GROUP, [late, entry(11)], delayed_ids={late.id})
    assert result.queued == 2
    items = {i.entry.id: i for i in await store.pending_for_channel(1)}
    assert items[late.id].delayed is True
    assert items["gaud_00000011"].delayed is False
    # Entries stored without posting are not posted later by a re-ingest either.
    again = await store.ingest(GROUP, entries(range(3)))
    assert again.queued == 0


async def test_cursor_only_moves_forward(store: Store) -> None:
    newest = entry(100)
    await store.ingest(GROUP, [newest], cursor_update=CursorUpdate(newest.id, newest.created_at))
    older = entry(5)
    await store.ingest(GROUP, [older], cursor_update=CursorUpdate(older.id, older.created_at))
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None
    assert (cursor.newest_entry_id, cursor.newest_created_at) == (newest.id, newest.created_at)
    assert cursor.backfill_done is False

    newer = entry(200)
    await store.ingest(
        GROUP, [newer], cursor_update=CursorUpdate(newer.id, newer.created_at, backfill_done=True)
    )
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None and cursor.newest_entry_id == newer.id and cursor.backfill_done is True


async def test_record_poll_keeps_last_success(store: Store) -> None:
    clock = [datetime(2026, 3, 1, tzinfo=UTC)]
    store._clock = lambda: clock[0]
    await store.record_poll(GROUP, ok=True)
    clock[0] += timedelta(minutes=1)
    await store.record_poll(GROUP, ok=False, error="HTTP 503")
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None
    assert cursor.last_poll_at == datetime(2026, 3, 1, 0, 1, tzinfo=UTC)
    assert cursor.last_success_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert cursor.last_error == "HTTP 503"
    await store.record_poll(GROUP, ok=True)
    cursor = await store.get_cursor(GROUP)
    assert cursor is not None and cursor.last_error is None and cursor.last_success_at == clock[0]
    assert [c.group_id for c in await store.list_cursors()] == [GROUP]


async def test_known_ids_across_chunks(store: Store) -> None:
    await store.ingest(GROUP, entries(range(0, 1200, 2)))
    await store.ingest(OTHER_GROUP, [entry(1)])
    asked = [f"gaud_{n:08d}" for n in range(1200)]
    known = await store.known_ids(GROUP, asked)
    assert known == {f"gaud_{n:08d}" for n in range(0, 1200, 2)}
    assert await store.known_ids(GROUP, ["gaud_00000001"]) == set()  # stored, but for another group
    assert await store.known_ids(GROUP, []) == set()


async def test_timestamps_round_trip_as_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 5, 5, 14, 30, 15, 123456, tzinfo=plus_two)
    await store.ingest(GROUP, [entry(1, at=local)])
    stored = await store.get_entry("gaud_00000001")
    assert stored is not None
    assert stored.created_at == local
    assert stored.created_at.tzinfo == UTC
    assert stored.created_at.hour == 12 and stored.created_at.microsecond == 123456
    assert stored.data == {"n": 1}
    with pytest.raises(Exception, match="naive datetime"):
        await store.ingest(GROUP, [entry(2), entry(3, at=datetime(2026, 1, 1))])
    assert await store.known_ids(GROUP, ["gaud_00000002", "gaud_00000003"]) == set()


@pytest.mark.slow  # 20,000 entries
async def test_ingest_20k_entries_in_one_batch(store: Store) -> None:
    # Correctness at backfill size (chunked executemany paths); speed is measured in `make bench`.
    await store.add_binding(binding(1))
    batch = entries(range(20_000))
    result = await store.ingest(GROUP, batch, cursor_update=CursorUpdate(batch[-1].id, batch[-1].created_at))
    assert len(result.new_ids) == 20_000 and result.queued == 20_000
    assert await count_rows(store, "outbox") == 20_000
    again = await store.ingest(GROUP, batch)
    assert again.new_ids == [] and again.queued == 0
    assert await count_rows(store, "outbox") == 20_000
