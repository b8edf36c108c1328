"""Group instances: opened and closed in VRChat, logged and credited; the worlds offered come from
the mirror; the age-gate policy reports or closes once each, within one list per group per poll."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.config import Config
from bot.feed.attribution import credit
from bot.instances.age_gate import AgeGateWatch
from bot.instances.service import InstanceService
from bot.services.common import ActionLog
from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied, ServiceError, Services
from bot.store import AuditEntryIn, Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, EVE, FEED, GUILD, MAYA, OTHER_GUILD, actions, make_config, writes

WORLD = "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd"


def with_policy(seeded: SeededSim, policy: str) -> Config:
    base = make_config(seeded.group.id).model_dump(mode="json", exclude_none=True)
    base["bindings"] = [
        {"group_id": seeded.group.id, "guild_id": GUILD, "feed_channel_id": FEED, "instance_age_gate": policy}
    ]
    return Config.model_validate(base)


@pytest.fixture
def desk(vrc: VRChatClient, bound: Store, services: Services) -> InstanceService:
    return InstanceService(vrc, bound, services.access, ActionLog(bound))


def entries_of(seeded: SeededSim, n: int) -> list[AuditEntryIn]:
    return [
        AuditEntryIn(
            id=e.id,
            created_at=e.created_at,
            event_type=e.event_type,
            actor_id=e.actor_id,
            target_id=e.target_id,
            data=e.data,
        )
        for e in seeded.sim.state.audit(seeded.group.id)[:n]
    ]


async def test_open_then_close_is_logged_and_credited(
    desk: InstanceService, bound: Store, seeded_sim: SeededSim
) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    state.add_world("Club World", world_id=WORLD)
    plan = await desk.plan_open(
        MAYA, gid, f"https://vrchat.com/home/world/{WORLD}", "members", "eu", "Moderator", age_gate=True
    )
    assert plan.role_ids == (seeded_sim.moderator_role.id,)
    assert "Europe" in plan.summary and "age-gated" in plan.summary
    assert writes(seeded_sim) == []  # planning asks VRChat nothing it could change
    opened = await desk.open(MAYA, plan)
    assert opened.launch_url and opened.world_name == "Club World"
    instance = state.open_instance_at(opened.location)
    assert instance is not None and instance.age_gate and instance.role_ids == [seeded_sim.moderator_role.id]

    closed = await desk.close(MAYA, gid, opened.location)
    assert closed.message.startswith("Closed the group instance")
    assert state.open_instance_at(opened.location) is None
    log = [(a.action, a.target_id) for a in reversed(await actions(bound))]
    assert log == [("instance.open", opened.location), ("instance.close", opened.location)]
    credited = credit(entries_of(seeded_sim, 2), await actions(bound), seeded_sim.bot.id)
    assert [(c.event_type, c.discord_actor_name) for c in credited] == [
        ("group.instance.close", "maya"),
        ("group.instance.create", "maya"),
    ]


async def test_refusals_name_the_problem_and_change_nothing(
    desk: InstanceService, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    with pytest.raises(PermissionDenied):
        await desk.plan_open(EVE, gid, WORLD)
    with pytest.raises(InvalidInput, match="world ID like wrld_"):
        await desk.plan_open(MAYA, gid, "https://evil.example/home/world/" + WORLD)
    with pytest.raises(InvalidInput, match="access must be one of"):
        await desk.plan_open(MAYA, gid, WORLD, access="friends")
    with pytest.raises(InvalidInput, match="members-only"):
        await desk.plan_open(MAYA, gid, WORLD, access="public", roles_text="Moderator")
    plan = await desk.plan_open(MAYA, gid, WORLD)
    with pytest.raises(NotFoundError, match="no world"):
        await desk.open(MAYA, plan)  # the simulator knows no such world
    with pytest.raises(InvalidInput, match="not a VRChat instance"):
        await desk.check_close(MAYA, gid, "wrld_x:../../auth")
    other = seeded_sim.instance.location.replace(gid, "grp_00000000-0000-4000-8000-00000000beef")
    with pytest.raises(InvalidInput, match="does not belong"):
        await desk.check_close(MAYA, gid, other)
    with pytest.raises(PermissionDenied):
        await desk.close(EVE, gid, seeded_sim.instance.location)
    assert writes(seeded_sim) == ["POST /instances"]  # the refused open reached VRChat, nothing else


async def test_recent_worlds_come_from_the_mirror(
    desk: InstanceService, bound: Store, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    other = "wrld_00000000-0000-4000-8000-000000000002"
    await bound.ingest(
        gid,
        [
            AuditEntryIn(
                id="gaud_00000000-0000-4000-8000-000000000001",
                created_at=datetime(2026, 12, 1, tzinfo=UTC),
                event_type="group.instance.create",
                target_id=seeded_sim.instance.location,
                data={"worldId": seeded_sim.instance.world.id, "worldName": "Test World"},
            ),
            AuditEntryIn(
                id="gaud_00000000-0000-4000-8000-000000000002",
                created_at=datetime(2026, 12, 2, tzinfo=UTC),
                event_type="group.instance.kick",
                target_id=f"{other}:1~group({gid})",
            ),
        ],
    )
    worlds = await desk.recent_worlds(MAYA, gid)
    assert [(w.world_id, w.name) for w in worlds] == [
        (other, other),
        (seeded_sim.instance.world.id, "Test World"),
    ]
    assert [w.world_id for w in await desk.recent_worlds(MAYA, gid, "test")] == [seeded_sim.instance.world.id]
    with pytest.raises(PermissionDenied):
        await desk.recent_worlds(EVE, gid)


async def test_the_age_gate_report_is_made_once_and_survives_a_restart(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    config = with_policy(seeded_sim, "report")
    gid = seeded_sim.group.id
    seeded_sim.sim.state.add_instance(gid, "Adults Only", age_gate=True)
    watch = AgeGateWatch(vrc, bound, config)
    (finding,) = await watch.poll()
    assert finding.kind == "report" and finding.report.location == seeded_sim.instance.location
    assert finding.channel_id == finding.binding.requests_channel_id
    # Not posted yet (the process stopped, say): the next round, by a new watch, hands it out again.
    (again,) = await AgeGateWatch(vrc, bound, config).poll()
    assert again.report.id == finding.report.id
    await watch.posted(again, 5, 6)
    assert await AgeGateWatch(vrc, bound, config).poll() == []
    assert writes(seeded_sim) == []  # reporting closes nothing
    assert len(seeded_sim.sim.requests_to("GET", r"/instances$")) == 3  # one list per group per poll


async def test_the_close_policy_closes_once_and_the_off_policy_asks_nothing(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    off = AgeGateWatch(vrc, bound, make_config(gid))
    assert await off.poll() == [] and off.polls == 0
    assert seeded_sim.sim.requests_to("GET", r"/instances$") == []

    watch = AgeGateWatch(vrc, bound, with_policy(seeded_sim, "close"))
    (finding,) = await watch.poll()
    assert finding.kind == "closed"
    assert seeded_sim.sim.state.group(gid).instances == []  # type: ignore[union-attr]
    stored = await bound.instance_report(finding.report.id)
    assert stored is not None and stored.state == "closed"
    assert await watch.poll() == []
    assert writes(seeded_sim) == [f"DELETE /instances/{seeded_sim.instance.location}"]


async def test_the_close_button_path_rechecks_and_closes_once(
    desk: InstanceService, vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    watch = AgeGateWatch(vrc, bound, with_policy(seeded_sim, "report"))
    (finding,) = await watch.poll()
    await watch.posted(finding, 5, 6)
    with pytest.raises(PermissionDenied):
        await desk.close_reported(EVE, finding.report.id)
    with pytest.raises(ServiceError):  # an admin of another server: not their report
        await desk.close_reported(dataclasses.replace(ADA, guild_id=OTHER_GUILD), finding.report.id)
    outcome = await desk.close_reported(MAYA, finding.report.id)
    assert outcome.world_name == "Test World"
    stored = await bound.instance_report(finding.report.id)
    assert stored is not None and (stored.state, stored.handled_by_discord_id) == ("closed", MAYA.user_id)
    with pytest.raises(ServiceError, match="closed already"):
        await desk.close_reported(MAYA, finding.report.id)
    assert len(writes(seeded_sim)) == 1


async def test_an_automatic_close_cut_short_is_tried_again(
    vrc: VRChatClient, bound: Store, seeded_sim: SeededSim
) -> None:
    (binding,) = await bound.list_bindings()
    location = seeded_sim.instance.location
    # The process stopped after claiming the close, before VRChat heard of it.
    claimed = await bound.claim_instance_report(
        binding.id, binding.group_id, location, "Test World", "closing"
    )
    assert claimed is not None
    (finding,) = await AgeGateWatch(vrc, bound, with_policy(seeded_sim, "close")).poll()
    assert (finding.kind, finding.report.id) == ("closed", claimed.id)
    assert seeded_sim.sim.state.open_instance_at(location) is None
