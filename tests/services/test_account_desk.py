"""The desk (bot.accounts.desk) over a real SQLite file: a call for an account this process does not
hold is run by the process holding it, and a call nobody takes is withdrawn with a clear error.

"Here" is a gateway-like process holding no account; "there" holds Bravo's lease and runs its calls
on its own logged-in client, against the simulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.accounts.desk import AccountDesk
from bot.lease_names import account_lease
from bot.leases import LeaseKeeper
from bot.services.processes import ProcessReporter
from bot.store import Store
from bot.vrchat.errors import AccountNotHeld, NotFound
from bot.vrchat.models import Group
from bot.vrchat.pool import AccountPool
from bot.vrchat.remote import decode_result, outcome_of
from bot.vrchat.router import GroupRouter
from tests.fixtures.statements import Sent, statements
from tests.fixtures.vrchat_accounts import ALPHA, BRAVO, TwoAccounts, make_account, open_pool


async def keeper(store: Store, owner: str, accounts: list[str]) -> LeaseKeeper:
    async def wanted() -> dict[str, str | None]:
        return dict.fromkeys(map(account_lease, accounts))

    leases = LeaseKeeper(store, wanted, ttl=30.0, owner=owner, member=bool(accounts))
    await leases.tick()
    return leases


def looks(sent: list[Sent]) -> list[str]:
    """The statements of a holder's looks for calls (taking them), among those sent."""
    return [
        sql for sql, _ in sent if "vrchat_calls" in sql and "taken_by" in sql and "RETURNING" in sql.upper()
    ]


async def test_a_call_is_run_by_the_accounts_holder(
    sqlite_store: Store, two: TwoAccounts, tmp_path: Path
) -> None:
    there_pool = await open_pool(two, tmp_path)
    here_pool = AccountPool([make_account(two, tmp_path, BRAVO, primary=True)])
    await here_pool.open()
    there = AccountDesk(
        sqlite_store, await keeper(sqlite_store, "there", [BRAVO]), there_pool, "there", take_every=0.01
    )
    here = AccountDesk(
        sqlite_store, await keeper(sqlite_store, "here", []), here_pool, "here", poll_every=0.01
    )
    await there.start()
    try:
        assert there.holds(BRAVO) and not here.holds(BRAVO)
        outcome = await here.call(BRAVO, "get_group", {"group_id": two.only_b.id})
        group = outcome_of("get_group", outcome)
        assert isinstance(group, Group) and group.id == two.only_b.id
        assert group == decode_result("get_group", json.loads(json.dumps(outcome["result"])))
        with pytest.raises(NotFound):  # VRChat's own error, raised here as if called from here
            outcome_of(
                "get_group", await here.call(BRAVO, "get_group", {"group_id": two.neither.id[:-4] + "0000"})
            )
        # Through the pool, as the router calls: nothing leaves from here.
        here_pool.calls = here
        assert (
            await here_pool.call(here_pool.account(BRAVO), "get_group", two.only_b.id)
        ).id == two.only_b.id
        assert here_pool.account(BRAVO).client.request_count == 0
        assert there.served == 3
    finally:
        await there.stop()
        await here_pool.close()
        await there_pool.close()


async def test_a_call_nobody_takes_is_withdrawn(
    sqlite_store: Store, two: TwoAccounts, tmp_path: Path
) -> None:
    pool = AccountPool([make_account(two, tmp_path, BRAVO, primary=True)])
    await pool.open()
    here = AccountDesk(
        sqlite_store, await keeper(sqlite_store, "here", []), pool, "here", deadline=0.3, poll_every=0.05
    )
    try:
        with pytest.raises(AccountNotHeld, match=f"no running process holds VRChat account {BRAVO}"):
            await here.call(BRAVO, "get_group", {"group_id": two.only_b.id})
        # Withdrawn: a holder that comes later never runs it.
        await sqlite_store.acquire_leases([account_lease(BRAVO)], "late", 30.0)
        assert await sqlite_store.take_vrchat_calls("late", [BRAVO]) == []
    finally:
        await pool.close()
    assert two.sim.requests == []


async def test_a_process_reports_only_the_accounts_it_holds(
    sqlite_store: Store, two: TwoAccounts, tmp_path: Path
) -> None:
    """/bridge status's row of a process lists the accounts it calls VRChat with: those it holds."""
    pool = AccountPool(
        [make_account(two, tmp_path, ALPHA, primary=True), make_account(two, tmp_path, BRAVO, primary=False)]
    )
    await pool.open()
    try:
        pool.calls = AccountDesk(sqlite_store, await keeper(sqlite_store, "here", [BRAVO]), pool, "here")
        reporter = ProcessReporter(sqlite_store, GroupRouter(pool), owner="here", role="worker", polled=tuple)
        assert [a.name for a in reporter.snapshot().accounts] == [BRAVO]
        (usage,) = [u for u in pool.usage() if u.name == BRAVO]
        GroupRouter(pool).share_rate(3)  # three processes: the holder still has the whole rate
        assert pool.usage()[1].budget == usage.budget
    finally:
        await pool.close()


async def holder_of_bravo(
    store: Store, pool: AccountPool, *, take_every: float, take_idle_cap: float
) -> AccountDesk:
    """ "There": the desk of a process holding Bravo's lease, looking for calls at the pace given."""
    leases = await keeper(store, "there", [BRAVO])
    return AccountDesk(store, leases, pool, "there", take_every=take_every, take_idle_cap=take_idle_cap)


async def test_an_idle_holder_looks_for_calls_ever_more_rarely(
    sqlite_store: Store, two: TwoAccounts, tmp_path: Path
) -> None:
    """Nobody hands it a call: each empty look doubles the wait (0.01 s up to 0.16 s here), where a
    look every 0.01 s would have made about a hundred in the second."""
    pool = AccountPool([make_account(two, tmp_path, BRAVO, primary=True)])
    there = await holder_of_bravo(sqlite_store, pool, take_every=0.01, take_idle_cap=0.16)
    with statements(sqlite_store) as sent:
        await there.start()
        try:
            await asyncio.sleep(1.0)
        finally:
            await there.stop()
            await pool.close()
    # 0.01 + 0.02 + 0.04 + 0.08 s, then one look per 0.16 s: 4 + 6 at most.
    assert 1 <= len(looks(sent)) <= 12


async def test_a_call_written_in_the_same_process_wakes_an_idle_holder(
    sqlite_store: Store, two: TwoAccounts, tmp_path: Path
) -> None:
    """The holder's next look is a minute off, past the caller's deadline: the call written in its
    own memory rings it, each time, and it is taken at once (no look before that)."""
    there_pool = await open_pool(two, tmp_path)
    here_pool = AccountPool([make_account(two, tmp_path, BRAVO, primary=True)])
    there = await holder_of_bravo(sqlite_store, there_pool, take_every=60.0, take_idle_cap=60.0)
    here = AccountDesk(
        sqlite_store, await keeper(sqlite_store, "here", []), here_pool, "here", deadline=5.0, poll_every=0.01
    )
    with statements(sqlite_store) as sent:
        await there.start()
        try:
            for _ in range(2):
                group = outcome_of(
                    "get_group", await here.call(BRAVO, "get_group", {"group_id": two.only_b.id})
                )
                assert group.id == two.only_b.id
        finally:
            await there.stop()
            await here_pool.close()
            await there_pool.close()
    assert there.served == 2 and len(looks(sent)) == 2
