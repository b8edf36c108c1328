"""Issue #17: a card round that outlives its group's lease posts no card and decides nothing.

The process's lease keeper here has a clock that stands still, as a process frozen past its lease
(SIGSTOP, a paused VM) has: it still believes it holds the group. Only the database knows better.
"""

from __future__ import annotations

import asyncio

from bot.lease_names import group_lease
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.faults import Fault
from bot.store import Store
from tests.discord.conftest import card_messages
from tests.fixtures.lease_moves import holder, take_over, until_asked
from tests.fixtures.vrchat_sim import SeededSim


async def accept_everyone(store: Store, group_id: str) -> None:
    (binding,) = await store.list_bindings(group_id=group_id)
    await store.add_rule(binding.id, "account_age_days_at_least", "0", "accept", created_by=1)


def decisions(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("PUT", r"/requests/usr_"))


async def test_a_slow_round_whose_group_moved_meanwhile_posts_no_card_and_decides_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group, carol = seeded_sim.group.id, seeded_sim.requester.id
    await accept_everyone(bot_store, group)  # a rule would accept Carol: a decision to leave untaken
    lease = group_lease(group)
    old = await holder(bot_store, "old")
    assert old.holds(lease)
    # Carol's profile answers only when the test says so: the round stalls half way.
    seeded_sim.sim.faults.add(Fault(method="GET", path=rf"^/users/{carol}$", delay=600))
    async with make_bot() as bot:
        bot.leases = old
        round_ = asyncio.create_task(bot.get_cog("JoinRequests").sync_cards([group]))
        await until_asked(seeded_sim.sim, rf"^/users/{carol}$")
        await take_over(bot_store, lease, "new")  # meanwhile the lease ran out and another took it
        calls_before = len(seeded_sim.sim.requests)
        seeded_sim.sim.faults.release_delays()  # the profile answers; the old holder carries on
        assert await round_ == 0
        assert old.holds(lease)  # it still believes so: only the database stopped it
        assert len(seeded_sim.sim.requests) == calls_before  # no VRChat call after the takeover
        assert card_messages(gateway_standin) == []
        assert decisions(seeded_sim) == 0 and await bot_store.cards_for(group, carol) == []
        membership = seeded_sim.sim.state.membership(group, carol)
        assert membership is not None and membership.status == "requested"

        # The new holder's round does it all, once.
        seeded_sim.sim.faults.arm_delays()
        seeded_sim.sim.faults.clear()
        bot.leases = await holder(bot_store, "new", exclusive=True)
        assert await bot.get_cog("JoinRequests").sync_cards([group]) == 1
    (card,) = card_messages(gateway_standin)
    assert carol in card.embeds[0]["footer"]["text"]
    assert decisions(seeded_sim) == 1 and seeded_sim.sim.state.is_member(group, carol)


async def test_a_round_started_after_the_group_moved_calls_vrchat_for_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    group = seeded_sim.group.id
    lease = group_lease(group)
    old = await holder(bot_store, "old")
    await take_over(bot_store, lease, "new")  # while it slept
    async with make_bot() as bot:
        bot.leases = old
        calls_before = len(seeded_sim.sim.requests)
        assert await bot.get_cog("JoinRequests").sync_cards([group]) == 0
        assert len(seeded_sim.sim.requests) == calls_before
    assert card_messages(gateway_standin) == []
