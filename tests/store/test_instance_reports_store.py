"""Instance reports on SQLite and PostgreSQL: claimed once per binding and instance, moved between
states by one caller only, ids never reused, gone with their binding; revision 0011 down and up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.store import Store
from tests.store.helpers import binding, count_rows

WORLD = "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd"
GID = "grp_00000000-0000-4000-8000-000000000001"
LOC = f"{WORLD}:12345~group({GID})~groupAccessType(members)~region(eu)"


async def test_a_report_is_claimed_once_per_binding_and_instance(store: Store) -> None:
    one, two = await store.add_binding(binding(1)), await store.add_binding(binding(2))
    first = await store.claim_instance_report(one.id, GID, LOC, "Club", "pending")
    assert first is not None and first.state == "pending" and first.message_id is None
    assert await store.claim_instance_report(one.id, GID, LOC, "Club", "reported") is None
    assert await store.claim_instance_report(two.id, GID, LOC, "Club", "closing") is not None
    await store.set_report_message(first.id, 77, 88)
    stored = await store.instance_report(first.id)
    assert stored is not None and (stored.state, stored.channel_id, stored.message_id) == ("reported", 77, 88)
    assert [r.location for r in await store.instance_reports([one.id], ["reported"])] == [LOC]
    assert await store.instance_reports([one.id], ["pending"]) == []


async def test_only_one_caller_moves_a_report(store: Store) -> None:
    one = await store.add_binding(binding(1))
    report = await store.claim_instance_report(one.id, GID, LOC, "Club", "reported")
    assert report is not None
    assert await store.move_instance_report(report.id, ["reported"], "closed", by_discord_id=5)
    assert not await store.move_instance_report(report.id, ["reported"], "gone")
    stored = await store.instance_report(report.id)
    assert stored is not None and (stored.state, stored.handled_by_discord_id) == ("closed", 5)
    assert stored.handled_at is not None


async def test_ids_are_not_reused_and_reports_go_with_their_binding(store: Store) -> None:
    one = await store.add_binding(binding(1))
    first = await store.claim_instance_report(one.id, GID, LOC, "Club", "reported")
    assert first is not None
    assert await store.prune_instance_reports(first.created_at + timedelta(seconds=1)) == 1
    again = await store.claim_instance_report(one.id, GID, LOC, "Club", "reported")
    assert again is not None and again.id > first.id
    await store.remove_binding(one.id)
    assert await count_rows(store, "instance_reports") == 0


async def test_a_state_outside_the_list_is_refused_by_the_database(store: Store) -> None:
    one = await store.add_binding(binding(1))
    await store.claim_instance_report(one.id, GID, LOC, "Club", "reported")
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(text("UPDATE instance_reports SET state = 'nonsense'"))


@pytest.mark.slow  # migrations down and up, in child processes
async def test_revision_0011_goes_down_and_up(store: Store) -> None:
    one = await store.add_binding(binding(1))
    await store.claim_instance_report(one.id, GID, LOC, "Club", "reported")
    await store.downgrade("0006")
    async with store.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert "instance_reports" not in tables
    await store.upgrade()
    assert await count_rows(store, "instance_reports") == 0
    assert await store.claim_instance_report(one.id, GID, LOC, "Club", "reported") is not None
