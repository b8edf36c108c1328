"""Issue #17: a role-sync run whose group passed to another process while it read the members writes
nothing: the database is asked for the group's lease before the writes."""

from __future__ import annotations

import asyncio

from bot.lease_names import group_lease
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.faults import Fault
from bot.store import Store
from tests.discord.test_role_sync import MEMBER_D, VERIFIED_D, cog, holds, role, roles_cmd, roles_world
from tests.fixtures.discord_gateway import MEMBER_ID, MOD_ID
from tests.fixtures.lease_moves import holder, take_over, until_asked
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import link_directly

__all__ = ["roles_world"]  # the fixture, used by name


async def test_a_run_whose_group_moved_while_it_read_the_members_writes_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    group = seeded_sim.group.id
    seeded_sim.sim.state.assign_role(group, seeded_sim.member.id, roles_world, seeded_sim.bot.id)
    await link_directly(bot_store, MEMBER_ID, seeded_sim.member.id)
    await link_directly(bot_store, MOD_ID, seeded_sim.moderator.id)
    lease = group_lease(group)
    async with make_bot() as bot:
        await roles_cmd(
            gateway_standin, "map", vrchat_role="Verified", discord_role=role(gateway_standin, VERIFIED_D),
            direction="vrchat_to_discord",
        )  # fmt: skip
        await roles_cmd(gateway_standin, "membership", role=role(gateway_standin, MEMBER_D))
        await roles_cmd(gateway_standin, "mode", mode="on")
        bot.leases = await holder(bot_store, "old")
        seeded_sim.sim.faults.add(Fault(method="GET", path=rf"^/groups/{group}/members$", delay=600))
        run = asyncio.create_task(cog(bot).loop.full_round())
        await until_asked(seeded_sim.sim, rf"^/groups/{group}/members$")
        await take_over(bot_store, lease, "new")
        seeded_sim.sim.faults.release_delays()
        assert await run == 0
        assert not holds(gateway_standin, MEMBER_ID, VERIFIED_D)
        assert not holds(gateway_standin, MOD_ID, MEMBER_D)
        assert await bot_store.list_actions(action="role") == []

        seeded_sim.sim.faults.arm_delays()
        seeded_sim.sim.faults.clear()
        bot.leases = await holder(bot_store, "new", exclusive=True)
        assert await cog(bot).loop.full_round() == 3  # the new holder makes them, once
    assert holds(gateway_standin, MEMBER_ID, VERIFIED_D) and holds(gateway_standin, MOD_ID, MEMBER_D)
