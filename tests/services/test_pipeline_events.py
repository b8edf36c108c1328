"""PipelineEvents: which accounts' pipelines a process runs, and which groups their notices wake.

Two real accounts in the simulator (tests/fixtures/vrchat_accounts), the real pool and router, a
real SQLite store with bindings; `HeldHere` stands for the lease keeper's answer, as the pool's
`calls` port (bot.vrchat.remote.AccountCalls) gives it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.sandbox.vrchat import VRChatSimulator
from bot.services.pipeline_events import PipelineEvents
from bot.store import BindingIn, Store
from bot.vrchat.pipeline import Backoff
from bot.vrchat.remote import JSON
from bot.vrchat.router import GroupRouter
from tests.fixtures.vrchat_accounts import ALPHA, BRAVO, TwoAccounts, seed_two_accounts

WAIT = 10.0
FAST = {"backoff": Backoff(base=0.1, cap=0.2, max_per_window=1000), "idle_check": 0.05}


@pytest.fixture
def two(vrchat_sim: VRChatSimulator) -> TwoAccounts:
    return seed_two_accounts(vrchat_sim)


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    return sqlite_store


@pytest.fixture
def router(two_router: GroupRouter) -> GroupRouter:
    return two_router


class HeldHere:
    """The accounts this process holds; a call for another one is never made in these tests."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def holds(self, account: str) -> bool:
        return account in self.names

    async def call(self, account: str, method: str, arguments: dict[str, JSON]) -> JSON:
        raise AssertionError(f"{method} was handed over for {account}")


async def bind(store: Store, *group_ids: str) -> None:
    for n, group_id in enumerate(group_ids):
        await store.add_binding(BindingIn(group_id=group_id, guild_id=1, feed_channel_id=100 + n))


async def until(predicate: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not predicate():  # noqa: ASYNC110 - the pipelines run in tasks of their own
            await asyncio.sleep(0.01)


def connected_users(sim: VRChatSimulator) -> set[str | None]:
    return {a.user_id for a in sim.pipeline.attempts if a.user_id is not None}


async def test_each_account_with_a_held_group_runs_its_pipeline_and_wakes_only_its_groups(
    two: TwoAccounts, router: GroupRouter, store: Store
) -> None:
    await bind(store, two.only_a.id, two.only_b.id)
    await router.pool.assign([two.only_a.id, two.only_b.id])
    events = PipelineEvents(router, store, two.sim.pipeline_url, pipeline_options=FAST)
    woken: list[tuple[str, str | None]] = []
    events.subscribe(lambda group_id, requester: woken.append((group_id, requester)))
    await events.start()
    try:
        assert sorted(events.running) == [ALPHA, BRAVO]
        await until(lambda: two.sim.pipeline.open_connections == 2, "both pipelines")
        assert connected_users(two.sim) == {two.alpha.id, two.bravo.id}
        newcomer = two.sim.state.add_user("Erin")
        two.sim.state.request_to_join(two.only_b.id, newcomer.id)
        two.sim.state.request_to_join(two.neither.id, newcomer.id)  # no bot's group: nobody is told
        await until(lambda: bool(woken), "the notice")
        await asyncio.sleep(0.2)
        assert woken == [(two.only_b.id, newcomer.id)]  # the card loop matches it by requester
    finally:
        await events.stop()
    assert events.running == []


async def test_a_notice_without_a_group_wakes_every_group_the_account_serves_here(
    two: TwoAccounts, router: GroupRouter, store: Store
) -> None:
    await bind(store, two.only_a.id, two.only_b.id, two.both.id)
    await router.pool.assign([two.only_a.id, two.only_b.id, two.both.id])
    served_by_alpha = {g for g in (two.only_a.id, two.both.id) if router.pool.serving(g).name == ALPHA}  # type: ignore[union-attr]
    two.sim.pipeline.payload = "bare"
    events = PipelineEvents(router, store, two.sim.pipeline_url, pipeline_options=FAST)
    woken: list[str] = []
    events.subscribe(lambda group_id, _requester: woken.append(group_id))
    await events.start()
    try:
        await until(lambda: two.sim.pipeline.open_connections == 2, "both pipelines")
        two.sim.state.request_to_join(two.only_a.id, two.sim.state.add_user("Erin").id)  # Alpha's only
        await until(lambda: bool(woken), "the notice")
        await asyncio.sleep(0.2)
    finally:
        await events.stop()
    assert set(woken) == served_by_alpha and two.only_b.id not in woken


async def test_only_the_process_holding_an_account_connects_its_pipeline(
    two: TwoAccounts, router: GroupRouter, store: Store
) -> None:
    """Several processes: the holder of the account's lease connects it, whoever holds its groups."""
    await bind(store, two.only_a.id, two.only_b.id)
    await router.pool.assign([two.only_a.id, two.only_b.id])
    held = router.pool.calls = HeldHere(BRAVO)  # this process holds Bravo; another holds Alpha
    events = PipelineEvents(
        router, store, two.sim.pipeline_url, holds_group=lambda g: False, pipeline_options=FAST
    )
    woken: list[str] = []
    events.subscribe(lambda group_id, _requester: woken.append(group_id))
    await events.start()
    try:
        assert events.running == [BRAVO]
        await until(lambda: two.sim.pipeline.open_connections == 1, "Bravo's pipeline")
        held.names.clear()  # the lease moved away
        await events.on_leases(frozenset(), frozenset({f"account:{BRAVO}"}))
        assert events.running == []
        await until(lambda: two.sim.pipeline.open_connections == 0, "no pipeline")
        held.names.add(ALPHA)
        await events.on_leases(frozenset({f"account:{ALPHA}"}), frozenset())
        assert events.running == [ALPHA]
        await until(lambda: two.sim.pipeline.open_connections == 1, "Alpha's pipeline")
    finally:
        await events.stop()
    assert connected_users(two.sim) == {two.alpha.id, two.bravo.id}
    assert woken == []


async def test_no_bound_group_no_pipeline(two: TwoAccounts, router: GroupRouter, store: Store) -> None:
    events = PipelineEvents(router, store, two.sim.pipeline_url, pipeline_options=FAST)
    await events.start()
    try:
        await asyncio.sleep(0.2)
        assert events.running == [] and two.sim.pipeline.attempts == []
        await bind(store, two.only_a.id)
        await router.pool.assign([two.only_a.id])
        await events.recheck()  # what the periodic look does once a binding is made
        assert events.running == [ALPHA]
    finally:
        await events.stop()
