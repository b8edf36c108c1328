"""`/vrc user`, `/vrc instances` and `/vrc profile` through the real bot on the simulator."""

from __future__ import annotations

import pytest

from bot.cogs.lookups import MAX_INSTANCES, instance_embeds
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.faults import Fault
from bot.services.registry import GroupInstances, InstanceLine
from bot.vrchat.ids import launch_url
from tests.discord.conftest import (
    click,
    command,
    component_id,
    components,
    first_reply,
    is_ephemeral,
)
from tests.fixtures.discord_gateway import ADMIN_ID, MEMBER_ID
from tests.fixtures.vrchat_sim import SeededSim, joiner_of_many

pytestmark = pytest.mark.usefixtures("every_message_ephemeral_without_mentions")


def group_lines(message: dict) -> list[str]:
    return message["embeds"][1]["description"].split("\n")


def disabled(message: object) -> dict[str, bool]:
    return {c["label"]: bool(c.get("disabled")) for c in components(message)}


# ------------------------------------------------------------------ /vrc user


async def test_user_shows_a_card_and_one_group(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    seeded_sim.member.age_verification_status = "18+"
    async with make_bot():
        reply = first_reply(await command(gateway_standin, "vrc", "user", {"user": seeded_sim.member.id}))
    card, groups = reply["embeds"]
    assert card["title"] == "Bob" and card["url"].endswith(seeded_sim.member.id)
    assert {f["name"]: f["value"] for f in card["fields"]}["Age verified"] == "18+"
    assert groups["title"] == "Groups 1–1 of 1"
    assert "Test Group" in groups["description"] and "TESTG.1234" in groups["description"]
    assert "linked to this server" in groups["description"]
    assert not reply.get("components")


async def test_user_without_groups_says_so(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    seeded_sim.outsider.display_name = "@everyone **Dave**"
    async with make_bot():
        reply = first_reply(await command(gateway_standin, "vrc", "user", {"user": seeded_sim.outsider.id}))
    card, groups = reply["embeds"]
    assert "@everyone" not in card["title"] and "**Dave**" not in card["title"]  # made inert
    assert "Age verified" not in {f["name"] for f in card["fields"]}
    assert groups["description"].endswith("shows no groups (the list may be private).")


async def test_user_with_120_groups_pages_with_next_and_previous(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    joiner = joiner_of_many(seeded_sim, 120)
    async with make_bot():
        exchange = await command(gateway_standin, "vrc", "user", {"user": joiner.id})
        page = exchange.followups[0]
        assert page.body["embeds"][1]["title"] == "Groups 1–10 of 120"
        assert group_lines(page.body)[0].startswith("[Club 000]") and len(group_lines(page.body)) == 10
        assert disabled(page.message) == {"◂ Previous": True, "Next ▸": False}

        turned = await click(gateway_standin, component_id(page.message, "Next ▸"), page.message)
        second = await turned.wait(timeout=10)
        assert second.type == 7 and second.data["embeds"][1]["title"] == "Groups 11–20 of 120"
        assert group_lines(second.data)[0].startswith("[Club 010]")
        assert second.data["embeds"][0]["title"] == "Joiner"  # the card stays
        assert disabled(second.message) == {"◂ Previous": False, "Next ▸": False}

        back = await click(gateway_standin, component_id(second.message, "◂ Previous"), second.message)
        first = (await back.wait(timeout=10)).data
        assert first["embeds"][1]["title"] == "Groups 1–10 of 120"
        assert disabled(back.callback.message) == {"◂ Previous": True, "Next ▸": False}

        message = back.callback.message
        for _ in range(11):
            turned = await click(gateway_standin, component_id(message, "Next ▸"), message)
            message = (await turned.wait(timeout=10)).message
    assert message.embeds[1]["title"] == "Groups 111–120 of 120"
    assert disabled(message) == {"◂ Previous": False, "Next ▸": True}


async def test_only_the_invoker_may_turn_pages(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    joiner = joiner_of_many(seeded_sim, 25)
    async with make_bot():
        exchange = await command(gateway_standin, "vrc", "user", {"user": joiner.id})
        page = exchange.followups[0]
        other = await click(gateway_standin, component_id(page.message, "Next ▸"), page.message, who=ADMIN_ID)
        refused = await other.wait(timeout=10)
    assert refused.type == 4 and is_ephemeral(refused.data)
    assert "Only the moderator who looked this up" in refused.data["content"]
    assert page.message.embeds[1]["title"] == "Groups 1–10 of 25"  # nothing turned


async def test_a_plain_member_cannot_look_users_up(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        before = len(seeded_sim.sim.requests_to("GET", r"^/users/"))
        reply = first_reply(
            await command(gateway_standin, "vrc", "user", {"user": seeded_sim.member.id}, who=MEMBER_ID)
        )
    assert "moderator" in reply["content"].lower() and not reply.get("embeds")
    assert len(seeded_sim.sim.requests_to("GET", r"^/users/")) == before


# ------------------------------------------------------------------ /vrc instances


async def test_instances_show_the_launch_link(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    instance = seeded_sim.instance
    async with make_bot():
        reply = first_reply(await command(gateway_standin, "vrc", "instances", {}))
    (embed,) = reply["embeds"]
    assert embed["title"] == "Test Group"
    (field,) = embed["fields"]
    assert field["name"] == "Test World"
    assert "Region EU" in field["value"] and "3/40 users" in field["value"]
    link = (
        f"https://vrchat.com/home/launch?worldId={instance.world.id}&instanceId={instance.name}"
        f"~group%28{seeded_sim.group.id}%29~groupAccessType%28members%29~region%28eu%29"
    )
    assert f"[Launch]({link})" in field["value"]


async def test_instances_403_gets_a_clear_message(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/users/.*/instances/groups", status=403))
    async with make_bot():
        reply = first_reply(await command(gateway_standin, "vrc", "instances", {}))
    assert "refused to list the bot account's group instances (403)" in reply["content"]
    assert not reply.get("embeds")


async def test_no_instances_is_said_plainly(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    seeded_sim.sim.state.group(seeded_sim.group.id).instances.clear()
    async with make_bot():
        reply = first_reply(await command(gateway_standin, "vrc", "instances", {}))
    assert reply["content"] == (
        "There are no open instances of this server's groups that the bot's account can see."
    )


async def test_instances_of_groups_linked_elsewhere_are_not_shown(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state = seeded_sim.sim.state
    # The bot also serves another community's group, linked to another server (or to none here).
    elsewhere = state.add_group("Other Community", short_code="OTHER", owner_id=seeded_sim.bot.id)
    state.add_instance(elsewhere.id, "Secret Hangout", "us", 16, n_users=2)
    async with make_bot():
        reply = first_reply(await command(gateway_standin, "vrc", "instances", {}))
    assert [e["title"] for e in reply["embeds"]] == ["Test Group"]
    assert "Secret Hangout" not in str(reply) and elsewhere.id not in str(reply)


@pytest.mark.parametrize("name_length", [10, 300])
def test_many_instances_stay_within_discords_limits(name_length: int) -> None:
    world = "wrld_4cf554b4-430c-4f8f-b53e-1f294eed230b"
    name = "x" * name_length
    instance_id = f"{'9' * 60}~group(grp_{'a' * 8}-{'b' * 4}-4ccc-8ddd-{'e' * 12})~region(use)"
    line = InstanceLine(
        world_name=name,
        region="use",
        users=1,
        capacity=80,
        queue_size=3,
        age_gate=True,
        instance_type="group (public)",
        launch_url=launch_url(world, instance_id),
    )
    groups = [GroupInstances(f"grp_{i}", name, (line,) * 3) for i in range(12)]
    embeds, left_out = instance_embeds(groups)
    shown = sum(len(e.fields) for e in embeds)
    assert 0 < shown <= MAX_INSTANCES and left_out == 36 - shown
    assert len(embeds) <= 10 and sum(len(e) for e in embeds) <= 6000
    if name_length == 10:
        assert shown == MAX_INSTANCES and len(embeds) == 5
    assert "age gate on" in embeds[0].fields[0].value and "queue 3" in embeds[0].fields[0].value


# ------------------------------------------------------------------ /vrc profile


async def test_an_admin_sets_the_bot_profile(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    options = {"status": "busy", "pronouns": "it/its", "bio_links": "https://groupbridge.net"}
    async with make_bot() as bot:
        reply = first_reply(await command(gateway_standin, "vrc", "profile set", options, who=ADMIN_ID))
        shown = first_reply(await command(gateway_standin, "vrc", "profile show", {}, who=ADMIN_ID))
        logged = await bot.store.list_actions(action="profile.update")
    bot_user = seeded_sim.bot
    assert (bot_user.status, bot_user.pronouns, bot_user.bio_links) == (
        "busy",
        "it/its",
        ["https://groupbridge.net"],
    )
    assert reply["content"] == "The bot's VRChat profile was updated."
    assert {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}["Pronouns"] == "it/its"
    assert {f["name"]: f["value"] for f in shown["embeds"][0]["fields"]}["Status"] == "busy"
    assert [(a.discord_user_id, a.outcome) for a in logged] == [(ADMIN_ID, "ok")]


@pytest.mark.parametrize("who", ["member", "helper"])
async def test_a_non_admin_cannot_set_the_bot_profile(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, helper: int, who: str
) -> None:
    member = MEMBER_ID if who == "member" else helper
    async with make_bot():
        reply = first_reply(
            await command(gateway_standin, "vrc", "profile set", {"pronouns": "x/y"}, who=member)
        )
        shown = first_reply(await command(gateway_standin, "vrc", "profile show", {}, who=member))
    assert "Manage Server" in reply["content"] and "Manage Server" in shown["content"]
    assert seeded_sim.bot.pronouns == "" and seeded_sim.sim.requests_to("PUT", r"^/users/") == []


async def test_bad_pronouns_get_their_specific_message(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        reply = first_reply(
            await command(gateway_standin, "vrc", "profile set", {"pronouns": "p" * 40}, who=ADMIN_ID)
        )
    assert reply["content"] == "Pronouns are limited to 32 characters (got 40)."
    assert seeded_sim.sim.requests_to("PUT", r"^/users/") == []
