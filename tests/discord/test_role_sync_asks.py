"""A Discord member's roles change in a process that does not hold the group (the gateway, with the
group's role sync in a worker): it asks through the database and moves the group's asked counter, and
the holder, once its relay heard the counter move, reconciles that member, without waiting for the
full reconcile; a holder nobody asks reads no asks. Two role-sync loops on one database, each seeing
the leases of its own process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.activity import GroupActivity, WakeRelay
from bot.bot import GroupBridgeBot
from bot.lease_names import group_lease
from bot.roles.loop import RoleSyncLoop
from bot.sandbox.discord import DiscordStandIn
from bot.store import Store
from tests.discord.test_role_sync import VERIFIED_D, role, roles_cmd, roles_world
from tests.fixtures.discord_gateway import GUILD_ID, MEMBER_ID
from tests.fixtures.lease_moves import holder, take_over
from tests.fixtures.statements import Sent, statements
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import count_rows, link_directly

__all__ = ["roles_world"]  # the fixture, used by name


async def loop_of(bot: GroupBridgeBot, store: Store, owner: str, *, exclusive: bool = False) -> RoleSyncLoop:
    """The role-sync loop of the process `owner`, holding what the leases give that one."""
    keeper = await holder(store, owner, exclusive=exclusive)
    return RoleSyncLoop(
        bot.role_sync,
        store,
        bot.vrchat,
        holds_group=lambda group_id: keeper.holds(group_lease(group_id)),
        leases=lambda: keeper,
    )


async def sync_verified_from_discord(standin: DiscordStandIn, verified: str) -> None:
    """Role sync on, the Discord role "Verified" giving the VRChat one."""
    await roles_cmd(
        standin,
        "map",
        vrchat_role=verified,
        discord_role=role(standin, VERIFIED_D),
        direction="discord_to_vrchat",
    )
    await roles_cmd(standin, "mode", mode="on")


@asynccontextmanager
async def gateway_and_worker(
    make_bot, standin: DiscordStandIn, seeded_sim: SeededSim, store: Store, verified: str
) -> AsyncIterator[tuple[RoleSyncLoop, RoleSyncLoop]]:
    """The member linked, role sync on, and the role-sync loops of two processes: the gateway, which
    holds nothing, and the worker, which holds the group."""
    await link_directly(store, MEMBER_ID, seeded_sim.member.id)
    async with make_bot() as bot:
        await sync_verified_from_discord(standin, verified)
        await take_over(store, group_lease(seeded_sim.group.id), "worker")
        gateway = await loop_of(bot, store, "gateway")
        yield gateway, await loop_of(bot, store, "worker", exclusive=True)


async def test_the_holder_reconciles_at_once_and_asks_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    bob, group = seeded_sim.member, seeded_sim.group.id
    await link_directly(bot_store, MEMBER_ID, bob.id)
    async with make_bot() as bot:
        await sync_verified_from_discord(gateway_standin, roles_world)
        alone = await loop_of(bot, bot_store, "all", exclusive=True)
        await gateway_standin.give_role(GUILD_ID, MEMBER_ID, VERIFIED_D)
        assert await alone.discord_member_changed(GUILD_ID, MEMBER_ID) == 1
    assert roles_world in seeded_sim.sim.state.membership(group, bob.id).role_ids
    assert await count_rows(bot_store, "role_sync_asks") == 0


async def test_an_unlinked_member_asks_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    async with make_bot() as bot:
        await roles_cmd(gateway_standin, "mode", mode="on")
        await take_over(bot_store, group_lease(seeded_sim.group.id), "worker")
        gateway = await loop_of(bot, bot_store, "gateway")
        assert await gateway.discord_member_changed(GUILD_ID, MEMBER_ID) == 0
    assert await count_rows(bot_store, "role_sync_asks") == 0


def selects(sent: list[Sent]) -> list[str]:
    return [
        sql.split("FROM", 1)[-1].split()[0] for sql, _ in sent if sql.lstrip().upper().startswith("SELECT")
    ]


async def test_an_idle_holder_asks_the_database_nothing_about_asks(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    async with make_bot() as bot:
        await sync_verified_from_discord(gateway_standin, roles_world)
        holder = await loop_of(bot, bot_store, "all", exclusive=True)
        assert await holder.check_asks() == 0  # its first tick reads what came before it
        with statements(bot_store) as sent:
            await holder.check_events()
            await holder.check_links()
            await holder.check_asks()
    # A tick with nothing new: the mirrored entries and the action log, nothing else.
    assert selects(sent) == ["audit_entries", "action_log"]


async def test_a_discord_change_heard_elsewhere_is_reconciled_once_the_holder_hears_of_it(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, roles_world: str
) -> None:
    bob, group = seeded_sim.member, seeded_sim.group.id
    async with gateway_and_worker(make_bot, gateway_standin, seeded_sim, bot_store, roles_world) as (
        gateway,
        worker,
    ):
        activity = GroupActivity()  # the worker process's hub, and its relay reading the counters
        activity.subscribe_asked(worker.asked)
        relay = WakeRelay(activity, bot_store, watched=lambda: [group])
        await relay.listen()
        assert await worker.check_asks() == 0

        await gateway_standin.give_role(GUILD_ID, MEMBER_ID, VERIFIED_D)
        assert await gateway.discord_member_changed(GUILD_ID, MEMBER_ID) == 0
        assert roles_world not in seeded_sim.sim.state.membership(group, bob.id).role_ids  # not from here
        assert await count_rows(bot_store, "role_sync_asks") == 1
        assert await gateway.check_asks() == 0  # the asker does not answer its own ask
        with statements(bot_store) as sent:
            assert await worker.check_asks() == 0  # not heard yet: not read
        assert sent == []
        await relay.listen()  # within WATCH_EVERY in the bot: its relay's loop
        assert await worker.check_asks() == 1
        assert roles_world in seeded_sim.sim.state.membership(group, bob.id).role_ids
        assert await count_rows(bot_store, "role_sync_asks") == 0  # read, run, dropped

        # An ask left for a group before it came to this process: read once the lease is gained.
        await gateway_standin.take_role(GUILD_ID, MEMBER_ID, VERIFIED_D)
        await gateway.discord_member_changed(GUILD_ID, MEMBER_ID)
        assert await worker.check_asks() == 0 and await count_rows(bot_store, "role_sync_asks") == 1
        await worker.leases_changed(frozenset({group_lease(group)}), frozenset())
        assert await worker.check_asks() == 1
        assert roles_world not in seeded_sim.sim.state.membership(group, bob.id).role_ids
