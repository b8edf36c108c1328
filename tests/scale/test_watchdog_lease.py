"""Issue #17: a process that wakes up past its group's lease neither applies the automatic kill switch
nor posts the alert; the group's new holder does both, once.

The old holder's lease keeper has a clock that stands still (tests.fixtures.lease_moves), as a process
frozen past its lease has: it still believes it holds the group. Only the database knows better.
"""

from __future__ import annotations

from bot.lease_names import group_lease
from bot.sandbox.discord import DiscordStandIn
from bot.store import Store
from tests.fixtures.discord_gateway import REQUESTS_CHANNEL_ID
from tests.fixtures.lease_moves import holder, take_over
from tests.fixtures.vrchat_sim import SeededSim
from tests.watchdog.helpers import ban_spree, mirror, turn_on, watchdog


def role_removals(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("DELETE", r"/roles/"))


def alerts_posted(standin: DiscordStandIn) -> int:
    return sum(
        1 for m in standin.messages(REQUESTS_CHANNEL_ID) if m.embeds and "alert" in m.embeds[0]["title"]
    )


async def test_an_alert_of_a_group_that_moved_is_left_to_its_new_holder(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, mod = seeded_sim.group.id, seeded_sim.moderator.id
    await turn_on(bot_store, group, max_bans=3, auto_kill_switch=True)
    lease = group_lease(group)
    async with make_bot() as bot:
        old = await holder(bot_store, "old")
        bot.leases = old
        await mirror(bot, group)  # the cursor: from now on
        ban_spree(seeded_sim, mod, 6)
        await mirror(bot, group)
        assert await bot.watchdog.check_group(group)  # the alert is recorded, nothing done yet

        await take_over(bot_store, lease, "new")  # the old holder slept past its lease meanwhile
        assert old.holds(lease)  # it still believes so
        assert await watchdog(bot).loop.deliver_all() == 0
        assert role_removals(seeded_sim) == 0 and alerts_posted(gateway_standin) == 0
        assert seeded_sim.sim.state.groups[group].memberships[mod].role_ids  # roles untouched

        bot.leases = await holder(bot_store, "new", exclusive=True)
        assert await watchdog(bot).loop.deliver_all() == 1
    assert role_removals(seeded_sim) >= 1 and alerts_posted(gateway_standin) == 1
    assert list(seeded_sim.sim.state.groups[group].memberships[mod].role_ids) == []
