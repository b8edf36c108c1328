"""What each bot process runs, and the group wake counters, on SQLite and PostgreSQL: a heartbeat
rewrites a process's row whole, rows are read back as written (most recent first), a clean stop and
a day's silence take rows away, and wake counters move once per wake, whoever wakes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.store import ProcessAccount, Store
from bot.store.models import ProcessStateRow

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ALPHA = ProcessAccount("alpha", "usr_a", 12, 300, ("grp_1", "grp_2"), False, pipeline=True)
BRAVO = ProcessAccount("bravo", None, 0, 300, (), True, session_problem="VRChat said 401", pipeline=None)


def at(store: Store, when: datetime) -> None:
    store._clock = lambda: when


async def test_a_heartbeat_rewrites_the_row_whole(store: Store) -> None:
    at(store, T0)
    await store.report_process("host:1:aa", "worker", T0, ["grp_2", "grp_1"], [ALPHA, BRAVO])
    at(store, T0 + timedelta(seconds=15))
    await store.report_process("host:1:aa", "worker", T0, ["grp_1"], [ALPHA])

    (state,) = await store.list_process_states()
    assert state.owner == "host:1:aa" and state.role == "worker"
    assert state.started_at == T0 and state.heartbeat_at == T0 + timedelta(seconds=15)
    assert state.groups == ("grp_1",)
    assert state.accounts == (ALPHA,)


async def test_accounts_come_back_as_written(store: Store) -> None:
    at(store, T0)
    await store.report_process("host:1:aa", "all", T0, ["grp_2", "grp_1"], [ALPHA, BRAVO])
    (state,) = await store.list_process_states()
    assert state.groups == ("grp_1", "grp_2")
    assert state.accounts == (ALPHA, BRAVO)
    assert state.silent_for(T0 + timedelta(seconds=40)) == timedelta(seconds=40)


async def test_a_row_another_version_wrote_is_read_leniently(store: Store) -> None:
    at(store, T0)
    await store.report_process("host:1:aa", "worker", T0, [], [])
    odd = [{"name": "alpha", "used": "many", "budget": True, "groups": "grp_1", "pipeline": "yes"}, "junk"]
    async with store._sessions.begin() as session:
        await session.execute(update(ProcessStateRow).values(accounts=odd))
    (state,) = await store.list_process_states()
    assert state.accounts == (ProcessAccount("alpha", None, None, None, (), False),)


async def test_most_recently_heard_first_and_stopped_ones_go(store: Store) -> None:
    for seconds, owner in ((0, "host:1:old"), (30, "host:2:new"), (10, "host:3:mid")):
        at(store, T0 + timedelta(seconds=seconds))
        await store.report_process(owner, "worker", T0, [], [])
    assert [s.owner for s in await store.list_process_states()] == ["host:2:new", "host:3:mid", "host:1:old"]

    assert await store.forget_process("host:3:mid") == 1
    assert await store.forget_process("host:3:mid") == 0
    assert [s.owner for s in await store.list_process_states()] == ["host:2:new", "host:1:old"]

    assert await store.forget_other_processes("host:2:new") == 1
    assert [s.owner for s in await store.list_process_states()] == ["host:2:new"]


async def test_processes_silent_for_a_day_are_purged(store: Store) -> None:
    at(store, T0)
    await store.report_process("host:1:dead", "worker", T0, [], [])
    at(store, T0 + timedelta(hours=20))
    await store.report_process("host:2:live", "gateway", T0, [], [])
    at(store, T0 + timedelta(days=1, minutes=1))
    assert await store.purge_process_states(timedelta(days=1)) == 1
    assert [s.owner for s in await store.list_process_states()] == ["host:2:live"]


async def test_each_wake_moves_the_counter_once(store: Store) -> None:
    assert await store.group_wakes(["grp_1"]) == {}
    assert await store.wake_groups(["grp_1", "grp_2", "grp_1"]) == {"grp_1": 1, "grp_2": 1}
    assert await store.wake_groups(["grp_1"]) == {"grp_1": 2}
    assert await store.wake_groups([]) == {}
    assert await store.group_wakes(["grp_1", "grp_2", "grp_3"]) == {"grp_1": 2, "grp_2": 1}


async def test_wakes_at_once_from_several_processes_are_all_counted(store: Store) -> None:
    groups = [f"grp_{i}" for i in range(10)]
    await asyncio.gather(*(store.wake_groups(groups if i % 2 else reversed(groups)) for i in range(6)))
    assert await store.group_wakes(groups) == dict.fromkeys(groups, 6)


async def test_wake_counters_untouched_for_a_day_are_purged(store: Store) -> None:
    at(store, T0)
    await store.wake_groups(["grp_old"])
    at(store, T0 + timedelta(hours=23))
    await store.wake_groups(["grp_new"])
    at(store, T0 + timedelta(days=1, minutes=1))
    assert await store.purge_group_wakes(timedelta(days=1)) == 1
    assert await store.group_wakes(["grp_old", "grp_new"]) == {"grp_new": 1}
