"""A join-request notice for a group another process holds is passed on to it (PostgreSQL's wake bus),
whose card loop and feed hear it as if its own pipeline had.

"There" holds Bravo's lease, so it runs Bravo's pipeline, but not the group's; "here" holds the group
(its cards) and no account. Each has a Store of its own on one database, as two processes do."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.pipeline_events import PipelineEvents
from bot.vrchat.router import GroupRouter
from tests.fixtures.postgres import opened_store
from tests.fixtures.vrchat_accounts import BRAVO, TwoAccounts, open_pool
from tests.services.test_pipeline_events import FAST, HeldHere, bind, until

pytestmark = [pytest.mark.postgres]


async def test_a_notice_for_a_group_held_elsewhere_reaches_its_holder(
    postgres_db_url: str, two: TwoAccounts, two_router: GroupRouter, tmp_path: Path
) -> None:
    group = two.only_b.id
    here_router = GroupRouter(await open_pool(two, tmp_path / "here"))
    async with opened_store(postgres_db_url) as here_store, opened_store(postgres_db_url) as there_store:
        await bind(there_store, group)
        for router, held in ((two_router, HeldHere(BRAVO)), (here_router, HeldHere())):
            await router.pool.assign([group])  # decided before the leases are split
            router.pool.calls = held
        there = PipelineEvents(
            two_router, there_store, two.sim.pipeline_url, holds_group=lambda g: False, pipeline_options=FAST
        )
        here = PipelineEvents(
            here_router,
            here_store,
            two.sim.pipeline_url,
            holds_group=lambda g: g == group,
            pipeline_options=FAST,
        )
        heard_there: list[tuple[str, str | None]] = []
        heard_here: list[tuple[str, str | None]] = []
        there.subscribe(lambda g, requester: heard_there.append((g, requester)))
        here.subscribe(lambda g, requester: heard_here.append((g, requester)))
        await here_store.wake_bus.start()
        await there_store.wake_bus.start()
        await there.start()
        await here.start()
        try:
            assert there.running == [BRAVO] and here.running == []
            await until(lambda: two.sim.pipeline.open_connections == 1, "Bravo's pipeline, there")
            await until(lambda: here_store.wake_bus.listening, "here listening")
            newcomer = two.sim.state.add_user("Erin")
            two.sim.state.request_to_join(group, newcomer.id)
            await until(lambda: bool(heard_here), "the notice passed on")
        finally:
            await there.stop()
            await here.stop()
            await here_router.pool.close()
    assert heard_here == [(group, newcomer.id)]
    assert heard_there == []  # not held there: its cards are not that process's
