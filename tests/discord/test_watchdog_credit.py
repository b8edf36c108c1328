"""The bot's own bans for a Discord moderator count against that moderator: the alert names them, and
the kill switch strips their linked VRChat account (or says to take their Discord role instead). The
automatic kill switch is an opt-in, and never touches the group's owner."""

from __future__ import annotations

from typing import Any

from bot.sandbox.discord import DiscordStandIn, button_click
from bot.store import Store
from tests.discord.conftest import click, command, component_id
from tests.discord.test_watchdog import KILL, alerts_in, confirm_removal, fields_of, member_roles
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.store.helpers import link_directly
from tests.watchdog.helpers import ban_spree, mirror, turn_on, watchdog


async def ban_through_the_bot(standin: DiscordStandIn, seeded: SeededSim, count: int) -> None:
    for n in range(count):
        victim = seeded.sim.state.add_user(f"Target {n}")
        exchange = await command(standin, "vrc", "ban", {"user": victim.id, "reason": "raid"}, who=MOD_ID)
        prompt = exchange.callback.message
        assert prompt is not None
        clicked = await standin.dispatch_interaction(
            button_click(component_id(prompt, "Ban"), prompt, member=standin.member(GUILD_ID, MOD_ID))
        )
        await clicked.wait_for_edit(1, timeout=10)


async def kill_and_confirm(standin: DiscordStandIn, alert: Any) -> str:
    exchange = await click(standin, component_id(alert, KILL), alert, who=ADMIN_ID)
    await exchange.wait_for(lambda ex: ex.callback is not None, timeout=10, what="an answer")
    prompt = exchange.callback.message
    if prompt is None or not prompt.components:
        return str(exchange.callback.body["data"]["content"])
    return await confirm_removal(standin, prompt)


async def test_bans_through_the_bot_alert_on_the_discord_moderator(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3)
    alice = seeded_sim.moderator.id
    async with make_bot() as bot:
        await mirror(bot, seeded_sim.group.id)
        await ban_through_the_bot(gateway_standin, seeded_sim, 4)
        await mirror(bot, seeded_sim.group.id)  # credits the bot's entries from the action log
        await watchdog(bot).loop.run_once()
        (alert,) = alerts_in(gateway_standin)
        who = fields_of(alert.embeds[0])["Who"]
        assert who.startswith(f"<@{MOD_ID}>") and "through GroupBridge" in who
        assert seeded_sim.bot.id.replace("_", "\\_") not in who  # not the bot's own account

        refused = await kill_and_confirm(gateway_standin, alert)
        assert "no linked VRChat account" in refused and member_roles(seeded_sim, alice) != []

        await link_directly(bot_store, MOD_ID, alice)  # the moderator's own VRChat account
        outcome = await kill_and_confirm(gateway_standin, alert)
    assert "Removed 1 group role(s)" in outcome
    assert member_roles(seeded_sim, alice) == []


async def test_the_automatic_kill_switch_is_opt_in_and_spares_the_owner(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    alice = seeded_sim.moderator.id
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3, auto_kill_switch=True)
    group = seeded_sim.sim.state.groups[seeded_sim.group.id]
    async with make_bot() as bot:
        await mirror(bot, seeded_sim.group.id)
        ban_spree(seeded_sim, alice, 4)
        await mirror(bot, seeded_sim.group.id)
        group.owner_id = alice  # for a moment, she owns the group
        await watchdog(bot).loop.run_once()
        group.owner_id = seeded_sim.bot.id
        (spared,) = alerts_in(gateway_standin)
        assert member_roles(seeded_sim, alice) != []
        outcome = fields_of(spared.embeds[0])["Outcome"]
        assert "not applied" in outcome and "owns the group" in outcome
        assert [c["label"] for c in spared.components[0]["components"]] == [KILL, "Dismiss"]

        member = seeded_sim.member.id  # Bob goes on a spree too, and is stripped automatically
        seeded_sim.sim.state.assign_role(seeded_sim.group.id, member, seeded_sim.moderator_role.id, alice)
        ban_spree(seeded_sim, member, 4, prefix="Bob's")
        await mirror(bot, seeded_sim.group.id)
        await watchdog(bot).loop.run_once()
        stripped = alerts_in(gateway_standin)[-1]
    assert member_roles(seeded_sim, member) == []
    outcome = fields_of(stripped.embeds[0])["Outcome"]
    assert outcome.startswith("Automatic kill switch: Removed 1 group role(s)")
    assert not stripped.components  # handled: no buttons
