"""Issue #17: an age-gate round whose group passed to another process meanwhile closes nothing and
claims nothing: the database is asked for the group's lease before each step that goes out."""

from __future__ import annotations

import asyncio

from bot.instances.age_gate import AgeGateWatch, GuardFor
from bot.lease_names import group_lease
from bot.sandbox.vrchat.faults import Fault
from bot.store import Store
from bot.store.leases import LeaseFence, LeaseGuard
from bot.vrchat import VRChatClient
from tests.fixtures.lease_moves import take_over, until_asked
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import writes
from tests.services.test_instances import with_policy


def as_holder(store: Store, owner: str) -> GuardFor:
    """The guards of a process `owner` (as bot.store.leases.lease_guard makes them), whatever it holds."""
    return lambda group_id: LeaseGuard(store, LeaseFence(group_lease(group_id), owner))


async def watch_held_by_old(vrc: VRChatClient, store: Store, seeded: SeededSim, policy: str) -> AgeGateWatch:
    await take_over(store, group_lease(seeded.group.id), "old")
    return AgeGateWatch(vrc, store, with_policy(seeded, policy))


async def test_a_slow_round_whose_group_moved_meanwhile_closes_nothing(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    watch = await watch_held_by_old(vrc, bound, seeded_sim, "close")
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"/instances$", delay=600, times=1))
    round_ = asyncio.create_task(watch.poll(as_holder(bound, "old")))
    await until_asked(seeded_sim.sim, r"/instances$")
    await take_over(bound, group_lease(seeded_sim.group.id), "new")  # meanwhile
    seeded_sim.sim.faults.release_delays()  # the listing answers: one instance is not age-gated
    assert await round_ == []
    assert writes(seeded_sim) == []  # not closed
    bindings = [b.id for b in await bound.list_bindings()]
    assert await bound.instance_reports(bindings) == []  # not even claimed

    seeded_sim.sim.faults.arm_delays()
    (finding,) = await watch.poll(as_holder(bound, "new"))
    assert finding.kind == "closed"  # by the new holder, once
    assert writes(seeded_sim) == [f"DELETE /instances/{seeded_sim.instance.location}"]


async def test_a_report_whose_group_moved_before_it_was_posted_is_left_to_the_new_holder(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    watch = await watch_held_by_old(vrc, bound, seeded_sim, "report")
    as_old, as_new = as_holder(bound, "old"), as_holder(bound, "new")
    (finding,) = await watch.poll(as_old)
    assert await watch.may_post(finding, as_old)
    await take_over(bound, group_lease(seeded_sim.group.id), "new")
    assert not await watch.may_post(finding, as_old)
    (again,) = await watch.poll(as_new)  # the new holder's round hands it out again
    assert again.report.id == finding.report.id and await watch.may_post(again, as_new)
