"""Member roles and group instances through the real bot, the Discord stand-in and the simulator:
/vrc role add|remove, /vrc roles, /vrc instance open|close (confirmed), and the age-gate report's
Close button after a restart. Every message the bot sends disables mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_config_text
from bot.sandbox.discord import DiscordStandIn, autocomplete
from bot.store import AuditEntryIn
from tests.discord.conftest import click, command, component_id, components, first_reply, is_ephemeral
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, GUILD_ID, MEMBER_ID, MOD_ID, REQUESTS_CHANNEL_ID
from tests.fixtures.vrchat_sim import SeededSim

pytestmark = pytest.mark.usefixtures("every_message_without_mentions")

WORLD = "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd"


def policy_config(seeded: SeededSim, tmp_path: Path, policy: str = "report"):
    binding = {
        "group_id": seeded.group.id,
        "guild_id": GUILD_ID,
        "feed_channel_id": FEED_CHANNEL_ID,
        "requests_channel_id": REQUESTS_CHANNEL_ID,
        "instance_age_gate": policy,
    }
    return load_config_text(config_toml(seeded, tmp_path, bindings=[binding]))


async def confirm_prompt(standin: DiscordStandIn, exchange, label: str):
    """Click `label` on the confirmation the command showed; the click's exchange, once it ended."""
    prompt = exchange.callback.message if exchange.callback.message else None
    if exchange.followups:
        prompt = exchange.followups[0].message
    assert prompt is not None and prompt.ephemeral
    clicked = await click(standin, component_id(prompt, label), prompt)
    await clicked.wait_for_edit(1, timeout=10)
    return clicked


async def test_role_add_remove_and_roles(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state, gid, bob = seeded_sim.sim.state, seeded_sim.group.id, seeded_sim.member.id
    verified = state.add_role(gid, "Verified")
    async with make_bot() as bot:
        member = gateway_standin.member(GUILD_ID, MOD_ID)
        offered = await gateway_standin.dispatch_interaction(
            autocomplete("vrc", "role", "", channel_id=FEED_CHANNEL_ID, member=member, subcommand="role add")
        )
        choices = (await offered.wait(timeout=10)).body["data"]["choices"]
        # The Moderator role carries management permissions: not offered by default.
        assert [(c["name"], c["value"]) for c in choices] == [("Verified", verified.id)]
        added = first_reply(
            await command(gateway_standin, "vrc", "role add", {"user": bob, "role": verified.id})
        )
        listed = first_reply(await command(gateway_standin, "vrc", "roles", {"user": bob}))
        refused = first_reply(
            await command(
                gateway_standin, "vrc", "role add", {"user": bob, "role": seeded_sim.moderator_role.id}
            )
        )
        removed = first_reply(
            await command(gateway_standin, "vrc", "role remove", {"user": bob, "role": "Verified"})
        )
        actions = await bot.store.list_actions(group_id=gid)
    assert is_ephemeral(added) and added["content"] == "Gave Bob the role Verified in Test Group."
    assert "Verified" in listed["embeds"][0]["description"]
    assert "management permissions" in refused["content"]
    assert removed["content"] == "Took the role Verified from Bob in Test Group."
    assert state.membership(gid, bob).role_ids == []  # type: ignore[union-attr]
    assert [(a.action, a.discord_user_id) for a in reversed(actions)] == [
        ("member.role.add", MOD_ID),
        ("member.role.remove", MOD_ID),
    ]


async def test_a_member_without_a_moderator_role_is_refused(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    verified = seeded_sim.sim.state.add_role(seeded_sim.group.id, "Verified")
    async with make_bot():
        for sub, options in (
            ("role add", {"user": seeded_sim.member.id, "role": verified.id}),
            ("roles", {"user": seeded_sim.member.id}),
            ("instance open", {"world": WORLD}),
            ("instance close", {"instance": seeded_sim.instance.location}),
        ):
            reply = first_reply(await command(gateway_standin, "vrc", sub, options, who=MEMBER_ID))
            assert is_ephemeral(reply) and "moderator" in reply["content"].lower(), sub
    assert [r for r in seeded_sim.sim.requests if r.method != "GET" and not r.path.startswith("/auth")] == []


async def test_open_and_close_an_instance_after_confirming(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    state.add_world("Club World", world_id=WORLD)
    async with make_bot() as bot:
        asked = await command(
            gateway_standin,
            "vrc",
            "instance open",
            {"world": f"https://vrchat.com/home/world/{WORLD}", "region": "eu"},
        )
        assert seeded_sim.sim.requests_to("POST", r"^/instances$") == []  # nothing before Confirm
        opened = await confirm_prompt(gateway_standin, asked, "Open")
        assert "Opened the group instance of Club World" in opened.edits[-1].body["content"]
        assert "[Launch](https://vrchat.com/home/launch?" in opened.edits[-1].body["content"]
        (created,) = [i for i in state.group(gid).instances if i.world.id == WORLD]  # type: ignore[union-attr]

        asked = await command(gateway_standin, "vrc", "instance close", {"instance": created.location})
        closed = await confirm_prompt(gateway_standin, asked, "Close")
        assert "Closed the group instance" in closed.edits[-1].body["content"]
        actions = await bot.store.list_actions(group_id=gid)
    assert state.open_instance_at(created.location) is None
    assert [(a.action, a.target_id, a.discord_user_id) for a in reversed(actions)] == [
        ("instance.open", created.location, MOD_ID),
        ("instance.close", created.location, MOD_ID),
    ]


async def test_a_bad_world_is_a_clear_error(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        reply = first_reply(
            await command(gateway_standin, "vrc", "instance open", {"world": "https://evil.example/world"})
        )
    assert "Not a VRChat world" in reply["content"] and "wrld_" in reply["content"]
    assert seeded_sim.sim.requests_to("POST", r"^/instances$") == []


async def test_the_age_gate_report_survives_a_restart_and_its_close_button_closes_once(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    config = policy_config(seeded_sim, tmp_path)
    async with make_bot(config) as bot:
        assert await bot.get_cog("GroupInstances").check_once() == 1  # type: ignore[union-attr]
        assert await bot.get_cog("GroupInstances").check_once() == 0  # type: ignore[union-attr]
    (report,) = [m for m in gateway_standin.messages(REQUESTS_CHANNEL_ID) if m.embeds]
    assert report.embeds[0]["title"] == "Group instance without an age gate"
    async with make_bot(config) as bot:  # restarted: the button still works, the report is not repeated
        assert await bot.get_cog("GroupInstances").check_once() == 0  # type: ignore[union-attr]
        refused = await click(gateway_standin, component_id(report, "Close"), report, who=MEMBER_ID)
        assert "moderator" in (await refused.wait(timeout=10)).body["data"]["content"].lower()
        asked = await click(gateway_standin, component_id(report, "Close"), report)
        prompt = (await asked.wait(timeout=10)).message
        assert prompt is not None and seeded_sim.sim.requests_to("DELETE", r"^/instances/") == []
        confirmed = await click(gateway_standin, component_id(prompt, "Close"), prompt)
        await confirmed.wait_for_edit(1, timeout=10)
    assert "Closed the group instance of Test World" in confirmed.edits[-1].body["content"]
    assert len(seeded_sim.sim.requests_to("DELETE", r"^/instances/")) == 1
    edited = gateway_standin.messages(REQUESTS_CHANNEL_ID)[0]
    assert components(edited) == [] and "**Closed** by" in str(edited.embeds[0])


async def test_close_offers_the_open_instances_and_takes_the_offered_value(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    instance = seeded_sim.instance
    async with make_bot():
        member = gateway_standin.member(GUILD_ID, MOD_ID)
        offered = await gateway_standin.dispatch_interaction(
            autocomplete(
                "vrc",
                "instance",
                "test",
                channel_id=FEED_CHANNEL_ID,
                member=member,
                subcommand="instance close",
            )
        )
        (choice,) = (await offered.wait(timeout=10)).body["data"]["choices"]
        # A location is longer than a choice value may be: the instance ID stands in for it.
        assert len(instance.location) > 100 and choice["value"] == instance.instance_id
        assert choice["name"].startswith("Test World · 3 in it")
        asked = await command(gateway_standin, "vrc", "instance close", {"instance": choice["value"]})
        closed = await confirm_prompt(gateway_standin, asked, "Close")
    assert "Closed the group instance" in closed.edits[-1].body["content"]
    assert seeded_sim.sim.state.open_instance_at(instance.location) is None


async def test_open_offers_the_recent_worlds_from_the_mirror_and_takes_the_offered_value(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state, gid, test_world = seeded_sim.sim.state, seeded_sim.group.id, seeded_sim.instance.world
    club = state.add_world("Club World", world_id=WORLD)
    start = datetime.now(UTC) - timedelta(hours=1)
    traces = [
        AuditEntryIn(
            "gaud_worlds-1",
            start,
            "group.instance.create",
            "usr_m",
            "M",
            seeded_sim.instance.location,
            "Opened.",
            {"worldId": test_world.id, "worldName": "Test World"},
        ),
        AuditEntryIn(
            "gaud_worlds-2",
            start + timedelta(minutes=1),
            "group.instance.create",
            "usr_m",
            "M",
            f"{club.id}:12345~group({gid})",
            "Opened.",
            {"worldId": club.id, "worldName": "Club World"},
        ),
    ]

    async def offered(typed: str, who: int = MOD_ID) -> list[tuple[str, str]]:
        member = gateway_standin.member(GUILD_ID, who)
        exchange = await gateway_standin.dispatch_interaction(
            autocomplete(
                "vrc", "world", typed, channel_id=FEED_CHANNEL_ID, member=member, subcommand="instance open"
            )
        )
        choices = (await exchange.wait(timeout=10)).body["data"]["choices"]
        return [(c["name"], c["value"]) for c in choices]

    async with make_bot() as bot:
        await bot.store.ingest(gid, traces, enqueue=False)
        requests = len(seeded_sim.sim.requests)
        # Newest first, named as VRChat's log named them.
        assert await offered("") == [
            ("Club World", club.id),
            ("Test World", test_world.id),
        ]
        assert await offered("tes") == [("Test World", test_world.id)]
        assert await offered("", who=MEMBER_ID) == []  # the group's worlds are for its moderators
        assert len(seeded_sim.sim.requests) == requests  # the database only, not VRChat per keystroke
        (_, value), _ = await offered("")
        asked = await command(gateway_standin, "vrc", "instance open", {"world": value})
        opened = await confirm_prompt(gateway_standin, asked, "Open")
    assert "Opened the group instance of Club World" in opened.edits[-1].body["content"]
    assert [i.world.id for i in state.group(gid).instances].count(club.id) == 1  # type: ignore[union-attr]
