"""Issue #17: an age-gate round whose group passed to another process meanwhile closes nothing and
claims nothing: the database is asked for the group's lease before each step that goes out."""

from __future__ import annotations

import asyncio

from bot.instances.age_gate import AgeGateWatch
from bot.leases import group_lease
from bot.sandbox.vrchat.faults import Fault
from bot.store import Store
from bot.store.leases import LeaseFence, LeaseGuard
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import writes
from tests.services.test_instances import with_policy

TTL = 30.0


async def test_a_slow_round_whose_group_moved_meanwhile_closes_nothing(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    lease = group_lease(seeded_sim.group.id)
    assert lease in await bound.acquire_leases([lease], "old", TTL)
    watch = AgeGateWatch(vrc, bound, with_policy(seeded_sim, "close"))
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"/instances$", delay=600, times=1))
    round_ = asyncio.create_task(watch.poll(lambda g: LeaseGuard(bound, LeaseFence(group_lease(g), "old"))))
    async with asyncio.timeout(30):  # polling what the simulator received: nothing else can say so
        while not seeded_sim.sim.requests_to("GET", r"/instances$"):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert lease in await bound.acquire_leases([lease], "new", TTL, force=True)  # taken over meanwhile
    seeded_sim.sim.faults.release_delays()  # the listing answers: one instance is not age-gated
    assert await round_ == []
    assert writes(seeded_sim) == []  # not closed
    bindings = [b.id for b in await bound.list_bindings()]
    assert await bound.instance_reports(bindings) == []  # not even claimed

    seeded_sim.sim.faults.arm_delays()
    (finding,) = await watch.poll(lambda g: LeaseGuard(bound, LeaseFence(group_lease(g), "new")))
    assert finding.kind == "closed"  # by the new holder, once
    assert writes(seeded_sim) == [f"DELETE /instances/{seeded_sim.instance.location}"]


async def test_a_report_whose_group_moved_before_it_was_posted_is_left_to_the_new_holder(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    lease = group_lease(seeded_sim.group.id)
    assert lease in await bound.acquire_leases([lease], "old", TTL)
    watch = AgeGateWatch(vrc, bound, with_policy(seeded_sim, "report"))

    def as_old(group_id: str) -> LeaseGuard:
        return LeaseGuard(bound, LeaseFence(group_lease(group_id), "old"))

    def as_new(group_id: str) -> LeaseGuard:
        return LeaseGuard(bound, LeaseFence(group_lease(group_id), "new"))

    (finding,) = await watch.poll(as_old)
    assert await watch.may_post(finding, as_old)
    assert lease in await bound.acquire_leases([lease], "new", TTL, force=True)
    assert not await watch.may_post(finding, as_old)
    (again,) = await watch.poll(as_new)  # the new holder's round hands it out again
    assert again.report.id == finding.report.id and await watch.may_post(again, as_new)
