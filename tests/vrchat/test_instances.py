"""Opening and closing group instances through the client, against the validating simulator (every
request and response checked against the spec: createInstance, closeInstance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.vrchat import Fault, VRChatSimulator
from bot.vrchat import Forbidden, InvalidReference, NotFound, OutcomeUnknown, Politeness, VRChatClient
from bot.vrchat.ids import parse_location
from bot.vrchat.instances import instance_group_id, is_age_gated, parse_world_ref
from bot.vrchat.models import GroupInstance
from bot.vrchat.router import GroupRouter
from tests.fixtures.vrchat_accounts import BRAVO, open_pool, seed_two_accounts
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import ClientFactory

WORLD = "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd"


def sent_body(seeded: SeededSim) -> dict:
    (request,) = seeded.sim.requests_to("POST", r"^/instances$")
    return request.json


async def test_a_members_instance_opens_with_its_roles_and_an_audit_entry(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    world = state.add_world("Club World", 20, world_id=WORLD)
    opened = await client.create_group_instance(
        gid, world.id, access="members", region="eu", role_ids=[seeded_sim.moderator_role.id], age_gate=True
    )
    assert opened.owner_id == gid and opened.world_id == WORLD and opened.age_gate is True
    assert sent_body(seeded_sim) == {
        "worldId": WORLD,
        "type": "group",
        "ownerId": gid,
        "groupAccessType": "members",
        "region": "eu",
        "ageGate": True,
        "roleIds": [seeded_sim.moderator_role.id],
    }
    listed = {i.location: i for i in await client.list_group_instances(gid)}
    assert listed[opened.location].age_gate is True
    entry = state.audit(gid)[0]
    assert (entry.event_type, entry.actor_id, entry.target_id) == (
        "group.instance.create",
        seeded_sim.bot.id,
        opened.location,
    )


async def test_closing_an_instance_removes_it_and_twice_is_forbidden(
    client: VRChatClient, seeded_sim: SeededSim
) -> None:
    gid, location = seeded_sim.group.id, seeded_sim.instance.location
    world_id, instance_id = parse_location(location)  # type: ignore[misc]
    closed = await client.close_group_instance(gid, world_id, instance_id)
    assert closed.location == location
    assert [i.location for i in await client.list_group_instances(gid)] == []
    entry = seeded_sim.sim.state.audit(gid)[0]
    assert (entry.event_type, entry.target_id) == ("group.instance.close", location)
    with pytest.raises(Forbidden):
        await client.close_group_instance(gid, world_id, instance_id)


async def test_an_unknown_instance_or_world_is_not_found(client: VRChatClient, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    with pytest.raises(NotFound):
        await client.close_group_instance(
            gid, WORLD, f"99999~group({gid})~groupAccessType(members)~region(us)"
        )
    with pytest.raises(NotFound):
        await client.create_group_instance(gid, WORLD)


async def test_a_caller_without_the_permissions_is_forbidden(
    moderator_client: VRChatClient, seeded_sim: SeededSim
) -> None:
    alice = moderator_client
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    state.add_world("Club World", world_id=WORLD)
    world_id, instance_id = parse_location(seeded_sim.instance.location)  # type: ignore[misc]
    with pytest.raises(Forbidden):
        await alice.close_group_instance(gid, world_id, instance_id)
    with pytest.raises(Forbidden):
        await alice.create_group_instance(gid, WORLD, access="public")
    assert len(state.group(gid).instances) == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda c, g: c.create_group_instance(g, "../auth"), InvalidReference),
        (lambda c, g: c.create_group_instance(g, WORLD, access="friends"), ValueError),
        (lambda c, g: c.create_group_instance(g, WORLD, region="mars"), ValueError),
        (
            lambda c, g: c.create_group_instance(g, WORLD, access="plus", role_ids=["grol_x"]),
            InvalidReference,
        ),
        (
            lambda c, g: c.create_group_instance(
                g, WORLD, access="plus", role_ids=["grol_459d3911-f672-44bc-b84d-e54ffe7960fe"]
            ),
            ValueError,
        ),
        (lambda c, g: c.close_group_instance(g, WORLD, "1~group(grp_other)/../x"), InvalidReference),
        (
            lambda c, g: c.close_group_instance(
                g, WORLD, "1~group(grp_71a7ff59-112c-4e78-a990-c7cc650776e5)~region(us)"
            ),
            InvalidReference,
        ),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_sent(
    client: VRChatClient, seeded_sim: SeededSim, call, problem
) -> None:
    before = len(seeded_sim.sim.requests)
    with pytest.raises(problem):
        await call(client, seeded_sim.group.id)
    assert len(seeded_sim.sim.requests) == before


async def test_an_open_that_times_out_is_not_repeated(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    fast = Politeness(requests_per_second=200, burst=20, base_backoff=0.01, timeout=0.3)
    vrc = await client_factory(politeness=fast)
    await vrc.login()
    seeded_sim.sim.state.add_world("Club World", world_id=WORLD)
    seeded_sim.sim.faults.add(Fault(method="POST", path="/instances", delay=1.0, times=1))
    with pytest.raises(OutcomeUnknown):
        await vrc.create_group_instance(seeded_sim.group.id, WORLD)
    assert len(seeded_sim.sim.requests_to("POST", r"^/instances$")) == 1


@pytest.mark.parametrize(
    "text",
    [
        WORLD,
        f"  {WORLD} ",
        f"https://vrchat.com/home/world/{WORLD}",
        f"https://vrchat.com/home/world/{WORLD}/info",
        f"https://vrchat.com/home/launch?worldId={WORLD}&instanceId=12345",
    ],
)
def test_world_references_that_are_accepted(text: str) -> None:
    assert parse_world_ref(text) == WORLD


@pytest.mark.parametrize(
    "text",
    [
        "",
        "wrld_nope",
        WORLD.upper(),
        f"http://vrchat.com/home/world/{WORLD}",
        f"https://vrchat.com.evil.example/home/world/{WORLD}",
        f"https://user:pw@vrchat.com/home/world/{WORLD}",
        f"https://vrchat.com:444/home/world/{WORLD}",
        f"https://vrchat.com/home/world/{WORLD}/../../user/x",
        f"https://vrchat.com/home/launch?worldId={WORLD}&worldId={WORLD}",
        f"https://vrchat.com/home/group/{WORLD}",
        WORLD + "x" * 400,
    ],
)
def test_world_references_that_are_refused_say_what_would_do(text: str) -> None:
    with pytest.raises(InvalidReference, match="world ID like wrld_"):
        parse_world_ref(text)


def test_age_gate_is_read_from_the_field_then_the_tag_and_never_guessed() -> None:
    def listed(instance_id: str, **extra: object) -> GroupInstance:
        return GroupInstance.model_validate(
            {"instanceId": instance_id, "location": f"{WORLD}:{instance_id}", **extra}
        )

    gid = "grp_71a7ff59-112c-4e78-a990-c7cc650776e5"
    assert is_age_gated(listed("1~region(us)", ageGate=False)) is False
    assert is_age_gated(listed("1~region(us)~ageGate")) is True
    assert is_age_gated(listed("1~region(us)")) is None
    assert instance_group_id(f"1~group({gid})~region(us)") == gid


async def test_the_router_opens_and_closes_as_the_account_serving_the_group(
    vrchat_sim: VRChatSimulator, tmp_path: Path
) -> None:
    two = seed_two_accounts(vrchat_sim)
    state = two.sim.state
    state.add_world("Club World", world_id=WORLD)
    pool = await open_pool(two, tmp_path)
    router = GroupRouter(pool)
    try:
        opened = await router.create_group_instance(two.only_b.id, WORLD)
        world_id, instance_id = parse_location(opened.location)  # type: ignore[misc]
        await router.close_group_instance(two.only_b.id, world_id, instance_id)
    finally:
        await pool.close()
    actors = {e.actor_id for e in state.audit(two.only_b.id) if e.event_type.startswith("group.instance.")}
    assert actors == {two.user_of(BRAVO).id}
