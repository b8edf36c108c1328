"""Alerts on runaway moderators through the real bot and the Discord stand-in: one alert per burst
that pings only its role, the kill switch behind a confirmation, refusals that change nothing, Dismiss,
and `/bridge alerts`."""

from __future__ import annotations

from typing import Any

from bot.sandbox.discord import DiscordStandIn, StandInMessage, button_click
from bot.sandbox.vrchat.faults import Fault
from bot.store import Store
from tests.discord.conftest import click, command, component_id, components, first_reply
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, MEMBER_ID, MOD_ROLE_ID, REQUESTS_CHANNEL_ID
from tests.fixtures.vrchat_sim import SeededSim
from tests.watchdog.helpers import ban_spree, mirror, turn_on, watchdog

KILL = "Remove this moderator's group roles"


def alerts_in(standin: DiscordStandIn) -> list[Any]:
    return [m for m in standin.messages(REQUESTS_CHANNEL_ID) if m.embeds and "alert" in m.embeds[0]["title"]]


def member_roles(seeded: SeededSim, user_id: str) -> list[str]:
    return list(seeded.sim.state.groups[seeded.group.id].memberships[user_id].role_ids)


async def one_alert(bot: Any, seeded: SeededSim, standin: DiscordStandIn, bans: int = 6) -> Any:
    await mirror(bot, seeded.group.id)  # the cursor: from now on
    ban_spree(seeded, seeded.moderator.id, bans)
    await mirror(bot, seeded.group.id)
    await watchdog(bot).loop.run_once()
    (alert,) = alerts_in(standin)
    return alert


async def grow_burst(bot: Any, seeded: SeededSim) -> None:
    """Three more bans by the same moderator, mirrored: the episode of `one_alert` grows."""
    ban_spree(seeded, seeded.moderator.id, 3, prefix="Later")
    await mirror(bot, seeded.group.id)


async def kill_switch_prompt(standin: DiscordStandIn, alert: Any) -> StandInMessage:
    """An admin presses the kill switch on the alert: the confirmation it answers with."""
    exchange = await click(standin, component_id(alert, KILL), alert, who=ADMIN_ID)
    await exchange.wait_for(lambda ex: ex.callback is not None, timeout=10, what="the prompt")
    assert exchange.callback is not None and exchange.callback.message is not None
    return exchange.callback.message


async def confirm_removal(standin: DiscordStandIn, prompt: Any) -> str:
    """The admin confirms the prompt: what the bot edits it to say."""
    done = await standin.dispatch_interaction(
        button_click(component_id(prompt, "Remove roles"), prompt, member=standin.member(GUILD_ID, ADMIN_ID))
    )
    await done.wait_for(lambda ex: bool(ex.edits), timeout=10, what="the outcome")
    return str(done.edits[-1].data["content"])


def fields_of(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed["fields"]}


async def test_a_burst_posts_one_alert_that_pings_only_its_role_and_grows_with_it(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    gateway_standin.state.allowed_ping_roles = frozenset({MOD_ROLE_ID})
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3, ping_role_id=MOD_ROLE_ID)
    async with make_bot() as bot:
        alert = await one_alert(bot, seeded_sim, gateway_standin)
        posted_content = alert.content
        # More of the same burst, and the checks again: still the one alert, edited to show it all.
        await grow_burst(bot, seeded_sim)
        await watchdog(bot).loop.run_once()
        await watchdog(bot).loop.run_once()  # shown already: no second edit
    assert alerts_in(gateway_standin) == [alert]
    assert alert.content == posted_content
    assert alert.content.startswith(f"<@&{MOD_ROLE_ID}> Possible runaway moderator")
    (posted,) = gateway_standin.message_creations(REQUESTS_CHANNEL_ID)
    mentions = posted.json["allowed_mentions"]
    assert mentions["parse"] == [] and [int(r) for r in mentions["roles"]] == [MOD_ROLE_ID]
    assert not mentions.get("users") and not mentions.get("replied_user")
    fields = fields_of(posted.json["embeds"][0])  # as first posted
    assert seeded_sim.moderator.id.replace("_", "\\_") in fields["Who"]
    assert fields["Counted"].startswith("6 bans")
    assert fields["Audit entries"].count("gaud") == 6
    (edit,) = gateway_standin.requests_to("PATCH", f"/channels/{REQUESTS_CHANNEL_ID}/messages/{alert.id}")
    assert edit.json["allowed_mentions"] == {"parse": []}  # the edit pings nobody again
    assert fields_of(alert.embeds[0])["Counted"].startswith("9 bans")
    assert fields_of(alert.embeds[0])["Audit entries"].count("gaud") == 9
    assert [c["label"] for c in components(alert)] == [KILL, "Dismiss"]
    stored = await bot_store.get_alert(1)
    assert stored is not None and (stored.revision, stored.shown_revision) == (1, 1)
    assert gateway_standin.violations == []
    assert await bot_store.undelivered_alerts() == []


async def test_a_decision_made_while_the_alert_grows_is_what_it_shows(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3)
    async with make_bot() as bot:
        alert = await one_alert(bot, seeded_sim, gateway_standin)
        await grow_burst(bot, seeded_sim)
        await bot.watchdog.check_group(seeded_sim.group.id)  # the episode grew: its alert is behind
        (behind,) = await bot_store.alerts_behind()
        # Dismissed between the loop's read and its edit: the edit it sends shows the old buttons.
        assert await bot_store.resolve_alert(behind.id, "dismissed", ADMIN_ID)
        assert await watchdog(bot).loop.refresh(behind) == 1
    assert components(alert) == []  # read again after the edit: the decision is what it shows
    assert fields_of(alert.embeds[0])["Counted"].startswith("9 bans")


async def test_an_alert_whose_message_is_gone_is_not_edited_again(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3)
    async with make_bot() as bot:
        alert = await one_alert(bot, seeded_sim, gateway_standin)
        gateway_standin.state.delete_message(REQUESTS_CHANNEL_ID, alert.id)
        await grow_burst(bot, seeded_sim)
        await watchdog(bot).loop.run_once()
        await watchdog(bot).loop.run_once()
    edits = gateway_standin.requests_to("PATCH", f"/channels/{REQUESTS_CHANNEL_ID}/messages/{alert.id}")
    assert len(edits) == 1  # tried once, found gone, given up
    assert alerts_in(gateway_standin) == []  # and never posted again
    assert await bot_store.alerts_behind() == []


async def test_below_the_threshold_or_switched_off_no_alert(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    async with make_bot() as bot:
        await mirror(bot, seeded_sim.group.id)
        ban_spree(seeded_sim, seeded_sim.moderator.id, 8)  # alerts are off: no table, no command
        await mirror(bot, seeded_sim.group.id)
        await watchdog(bot).loop.run_once()
        await turn_on(bot_store, seeded_sim.group.id, max_bans=10)  # on, but 8 is not more than 10
        await watchdog(bot).loop.run_once()
    assert alerts_in(gateway_standin) == []


async def test_the_kill_switch_confirms_then_removes_the_roles(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    mod = seeded_sim.moderator.id
    assert member_roles(seeded_sim, mod)  # the moderator role
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3)
    async with make_bot() as bot:
        alert = await one_alert(bot, seeded_sim, gateway_standin)
        prompt = await kill_switch_prompt(gateway_standin, alert)
        assert member_roles(seeded_sim, mod)  # nothing yet: asked first
        assert "Removed 1 group role(s)" in await confirm_removal(gateway_standin, prompt)
        actions = await bot_store.list_actions(action="alert.kill_switch")
    assert member_roles(seeded_sim, mod) == []
    assert [(a.discord_user_id, a.target_id, a.outcome) for a in actions] == [(ADMIN_ID, mod, "ok")]
    stored = await bot_store.get_alert(1)
    assert stored is not None and stored.resolution == "roles_removed" and stored.resolved_by == ADMIN_ID
    (edited,) = alerts_in(gateway_standin)
    assert components(edited) == [] and "handled" in edited.embeds[0]["title"]


async def test_the_kill_switch_is_refused_without_manage_server_and_changes_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store, helper: int
) -> None:
    mod = seeded_sim.moderator.id
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3)
    async with make_bot() as bot:
        alert = await one_alert(bot, seeded_sim, gateway_standin)
        for label in (KILL, "Dismiss"):
            exchange = await click(gateway_standin, component_id(alert, label), alert, who=helper)
            await exchange.wait_for(lambda ex: ex.callback is not None, timeout=10, what="an answer")
            await exchange.wait_for(
                lambda ex: bool(ex.followups) or ex.callback.type == 4, timeout=10, what=""
            )
            text = (exchange.followups[0].body if exchange.followups else first_reply(exchange))["content"]
            assert "Only members with the Manage Server permission" in text
    assert member_roles(seeded_sim, mod) != []
    assert seeded_sim.sim.requests_to("DELETE", r"/roles/") == []
    stored = await bot_store.get_alert(1)
    assert stored is not None and stored.resolution is None
    assert [c["label"] for c in components(alerts_in(gateway_standin)[0])] == [KILL, "Dismiss"]


async def test_dismiss_closes_the_alert(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3)
    async with make_bot() as bot:
        alert = await one_alert(bot, seeded_sim, gateway_standin)
        exchange = await click(gateway_standin, component_id(alert, "Dismiss"), alert, who=ADMIN_ID)
        await exchange.wait_for(lambda ex: bool(ex.followups), timeout=10, what="the answer")
        assert exchange.followups[-1].body["content"] == "Alert dismissed."
    stored = await bot_store.get_alert(1)
    assert stored is not None and stored.resolution == "dismissed"
    (edited,) = alerts_in(gateway_standin)
    assert components(edited) == []
    assert member_roles(seeded_sim, seeded_sim.moderator.id) != []


async def test_bridge_alerts_set_show_off(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    async with make_bot():
        shown = first_reply(await command(gateway_standin, "bridge", "alerts show", {}, who=ADMIN_ID))
        assert "are off" in shown["content"]
        role = gateway_standin.state.guilds[GUILD_ID].roles[MOD_ROLE_ID]
        options = {"max_bans": 2, "window_minutes": 5, "ping_role": role}
        reply = first_reply(await command(gateway_standin, "bridge", "alerts set", options, who=ADMIN_ID))
        assert "more than 10 kicks, 2 bans" in reply["content"] and "5 minutes" in reply["content"]
        assert f"<@&{MOD_ROLE_ID}>" in reply["content"] and reply["allowed_mentions"] == {"parse": []}
        refused = first_reply(
            await command(gateway_standin, "bridge", "alerts off", {}, who=MEMBER_ID, force=True)
        )
        assert "Manage Server" in refused["content"]
        (binding,) = await bot_store.list_bindings()
        assert (await bot_store.alert_settings([binding.id]))[binding.id].enabled
        off = first_reply(await command(gateway_standin, "bridge", "alerts off", {}, who=ADMIN_ID))
        assert "are off" in off["content"]
        assert not (await bot_store.alert_settings([binding.id]))[binding.id].enabled


async def test_without_group_roles_assign_the_kill_switch_says_so_and_the_alert_stays_open(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    mod = seeded_sim.moderator.id
    await turn_on(bot_store, seeded_sim.group.id, max_bans=3)
    async with make_bot() as bot:
        alert = await one_alert(bot, seeded_sim, gateway_standin)
        seeded_sim.sim.faults.add(Fault(method="DELETE", path=r"/roles/grol_", status=403))
        prompt = await kill_switch_prompt(gateway_standin, alert)
        assert "group-roles-assign" in await confirm_removal(gateway_standin, prompt)
    assert member_roles(seeded_sim, mod) != []
    stored = await bot_store.get_alert(1)
    assert stored is not None and stored.resolution is None  # still open: someone can try again
    assert [c["label"] for c in components(alerts_in(gateway_standin)[0])] == [KILL, "Dismiss"]
