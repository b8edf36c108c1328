"""The table of VRChat calls handed to an account's holder: taken only under the account's lease,
at most once, withdrawn when nobody took them, purged after a while."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store import Store


async def test_a_call_is_taken_once_and_only_by_the_accounts_holder(store: Store) -> None:
    call = await store.request_vrchat_call("bot-alpha", "get_group", '{"group_id": "grp_x"}')
    await store.request_vrchat_call("bot-bravo", "get_group", "{}")
    assert await store.take_vrchat_calls("p1", ["bot-alpha"]) == []  # p1 does not hold the account

    await store.acquire_leases(["account:bot-alpha"], "p1", 30.0)
    await store.acquire_leases(["account:bot-bravo"], "p2", 30.0)
    taken = await store.take_vrchat_calls("p1", ["bot-alpha", "bot-bravo"])
    assert [(c.id, c.account, c.method, c.state, c.taken_by) for c in taken] == [
        (call, "bot-alpha", "get_group", "taken", "p1")
    ]  # Bravo's lease is p2's: its call stays for p2
    assert await store.take_vrchat_calls("p1", ["bot-alpha"]) == []  # at most once
    assert not await store.drop_vrchat_call(call)  # taken: no longer the caller's to withdraw

    assert not await store.finish_vrchat_call(call, "p2", '{"result": 1}')  # not p2's
    assert await store.finish_vrchat_call(call, "p1", '{"result": 1}')
    done = await store.vrchat_call(call)
    assert done is not None and (done.state, done.outcome) == ("done", '{"result": 1}')


async def test_an_expired_lease_takes_nothing_and_a_withdrawn_call_never_runs(store: Store) -> None:
    await store.acquire_leases(["account:bot-alpha"], "p1", 0.001)
    call = await store.request_vrchat_call("bot-alpha", "get_group", "{}")
    # The lease lapsed in the database: a process frozen past it takes nothing when it wakes.
    await asyncio.sleep(0.05)
    assert not [x for x in await store.list_leases("account:") if x.live]
    assert await store.take_vrchat_calls("p1", ["bot-alpha"]) == []
    assert await store.drop_vrchat_call(call)
    await store.acquire_leases(["account:bot-alpha"], "p2", 30.0)
    assert await store.take_vrchat_calls("p2", ["bot-alpha"]) == []  # dropped: never run late
    dropped = await store.vrchat_call(call)
    assert dropped is not None and dropped.state == "dropped"


async def test_old_calls_are_purged(store: Store) -> None:
    await store.request_vrchat_call("bot-alpha", "get_group", "{}")
    assert await store.purge_vrchat_calls(timedelta(hours=1)) == 0
    assert await store.purge_vrchat_calls(timedelta(seconds=-1)) == 1
