"""Slash commands through the real bot: bad input gets its own message, refusals change nothing."""

from __future__ import annotations

import pytest

from bot.sandbox.discord import DiscordStandIn, button_click, modal_submit
from tests.discord.conftest import command, first_reply, is_ephemeral
from tests.fixtures.discord_gateway import ADMIN_ID, FEED_CHANNEL_ID, GUILD_ID, MEMBER_ID, MOD_ID
from tests.fixtures.vrchat_sim import SeededSim


def vrchat_writes(seeded: SeededSim) -> int:
    return sum(
        1
        for r in seeded.sim.requests
        if r.method in ("POST", "PUT", "DELETE") and not r.path.startswith("/auth")
    )


@pytest.mark.parametrize(
    ("sub", "options", "needle"),
    [
        ("invite", {"user": "not a user!!"}, "profile link or user ID"),
        ("invite", {"user": "https://evil.example/home/user/usr_x"}, "usr_"),
        ("kick", {"user": "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469", "reason": "x" * 600}, "limit is 512"),
        (
            "post",
            {"visibility": "public", "role": "grol_459d3911-f672-44bc-b84d-e54ffe7960fe"},
            "Roles can only",
        ),
        ("requests", {"group": "grp_00000000-0000-0000-0000-000000000000"}, "not one of the groups"),
    ],
)
async def test_bad_input_gets_a_specific_message_and_changes_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, sub: str, options: dict, needle: str
) -> None:
    async with make_bot():
        before = vrchat_writes(seeded_sim)
        message = first_reply(await command(gateway_standin, "vrc", sub, options))
    assert is_ephemeral(message) and needle in message["content"], message
    assert message["allowed_mentions"] == {"parse": []}
    assert vrchat_writes(seeded_sim) == before


@pytest.mark.parametrize(
    ("name", "sub", "options", "needle"),
    [
        ("audit", "search", {"since": "yesterday"}, "2026-11-25"),
        ("bridge", "link", {"group": "ABCDE.1234", "feed": "FEED"}, "finds no group ABCDE.1234"),
        ("bridge", "events", {"group": "", "families": "memes"}, "memes"),
        ("bridge", "unlink", {"group": "grp_00000000-0000-0000-0000-000000000000"}, "not linked"),
        ("bridge", "resume", {"channel": "FEED"}, "not paused"),
        (
            "vrc",
            "ban",
            {"user": "https://vrchat.com/home/world/wrld_x"},
            "not a VRChat user ID or profile link",
        ),
        (
            "vrc",
            "unban",
            {"user": "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469", "reason": "r" * 513},
            "limit is 512",
        ),
    ],
)
async def test_bad_input_on_other_commands(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, name: str, sub: str, options, needle
) -> None:
    if options.get("group") == "":
        options = {**options, "group": seeded_sim.group.id}
    for key in ("feed", "channel"):
        if options.get(key) == "FEED":
            options = {**options, key: gateway_standin.state.channel(FEED_CHANNEL_ID)}
    async with make_bot():
        message = first_reply(await command(gateway_standin, name, sub, options, who=ADMIN_ID))
    assert is_ephemeral(message) and needle in message["content"], message


async def test_invite_outcomes_are_explained_not_errors(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        sent = first_reply(await command(gateway_standin, "vrc", "invite", {"user": seeded_sim.outsider.id}))
        member = first_reply(await command(gateway_standin, "vrc", "invite", {"user": seeded_sim.member.id}))
    assert "Invited Dave" in sent["content"]
    assert "already a member" in member["content"] and "Something went wrong" not in member["content"]
    assert seeded_sim.sim.state.membership(seeded_sim.group.id, seeded_sim.outsider.id).status == "invited"


async def test_invite_autocomplete_searches_names(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    from bot.sandbox.discord import autocomplete

    async with make_bot():
        member = gateway_standin.member(GUILD_ID, MOD_ID)
        exchange = await gateway_standin.dispatch_interaction(
            autocomplete("vrc", "user", "Dav", channel_id=FEED_CHANNEL_ID, member=member, subcommand="invite")
        )
        callback = await exchange.wait(timeout=10)
    assert callback.body["type"] == 8
    choices = callback.body["data"]["choices"]
    assert [c["value"] for c in choices] == [seeded_sim.outsider.id]
    assert choices[0]["name"].startswith("Dave")


async def test_a_plain_member_cannot_moderate(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        before = vrchat_writes(seeded_sim)
        message = first_reply(
            await command(gateway_standin, "vrc", "invite", {"user": seeded_sim.outsider.id}, who=MEMBER_ID)
        )
    assert is_ephemeral(message) and "moderator" in message["content"].lower()
    assert vrchat_writes(seeded_sim) == before


async def test_ban_asks_for_confirmation_then_bans(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot() as bot:
        exchange = await command(
            gateway_standin, "vrc", "ban", {"user": seeded_sim.outsider.id, "reason": "spam"}
        )
        prompt = exchange.callback.message
        assert prompt is not None and seeded_sim.sim.requests_to("POST", r"/bans$") == []
        confirm = next(
            c["custom_id"] for row in prompt.components for c in row["components"] if c["label"] == "Ban"
        )
        click = await gateway_standin.dispatch_interaction(
            button_click(confirm, prompt, member=gateway_standin.member(GUILD_ID, MOD_ID))
        )
        await click.wait_for_edit(1, timeout=10)
        actions = await bot.store.list_actions(group_id=seeded_sim.group.id)
    assert len(seeded_sim.sim.requests_to("POST", r"/bans$")) == 1
    assert "Banned Dave" in click.edits[-1].body["content"]
    assert [(a.action, a.discord_user_id, a.details.get("reason")) for a in actions] == [
        ("member.ban", MOD_ID, "spam")
    ]


async def test_post_modal_preview_then_publish(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        opened = await command(gateway_standin, "vrc", "post", {"visibility": "group", "notify": True})
        assert opened.callback.body["type"] == 9
        modal = opened.callback.body["data"]
        inputs = [c for row in modal["components"] for c in row.get("components", [row.get("component", {})])]
        ids = {c.get("label", ""): c["custom_id"] for c in inputs if "custom_id" in c}
        member = gateway_standin.member(GUILD_ID, MOD_ID)
        submit = await gateway_standin.dispatch_interaction(
            modal_submit(
                modal["custom_id"],
                {ids["Title"]: "Movie night", ids["Text"]: "Friday 8pm @everyone"},
                channel_id=FEED_CHANNEL_ID,
                member=member,
            )
        )
        preview = (await submit.wait(timeout=10)).message
        assert preview is not None and "Movie night" in str(preview.embeds)
        assert "@everyone" not in str(preview.embeds)  # neutralised in the preview
        assert seeded_sim.sim.requests_to("POST", r"/posts$") == []  # nothing before Publish
        publish = next(
            c["custom_id"] for row in preview.components for c in row["components"] if c["label"] == "Publish"
        )
        click = await gateway_standin.dispatch_interaction(button_click(publish, preview, member=member))
        await click.wait_for_edit(1, timeout=10)
    (request,) = seeded_sim.sim.requests_to("POST", r"/posts$")
    assert request.json["title"] == "Movie night" and request.json["sendNotification"] is True
    assert "Published" in click.edits[-1].body["content"]


async def test_bridge_status_for_admins_only(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        status = first_reply(await command(gateway_standin, "bridge", "status", {}, who=ADMIN_ID))
        refused = first_reply(
            await command(gateway_standin, "bridge", "status", {}, who=MEMBER_ID, force=True)
        )
    assert (
        is_ephemeral(status)
        and "VRChat session" in str(status["embeds"])
        and "Test Group" in str(status["embeds"])
    )
    assert is_ephemeral(refused) and "Manage Server" in refused["content"]


async def test_a_refusal_after_confirming_ends_the_prompt_with_the_reason(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    async with make_bot():
        from bot.sandbox.vrchat import Fault

        # VRChat refuses only after the moderator confirmed.
        seeded_sim.sim.faults.add(Fault(method="POST", path=r"/bans$", status=403, times=1))
        exchange = await command(
            gateway_standin, "vrc", "ban", {"user": seeded_sim.outsider.id, "reason": "test"}
        )
        prompt = exchange.callback.message
        confirm = next(
            c["custom_id"] for row in prompt.components for c in row["components"] if c["label"] == "Ban"
        )
        click = await gateway_standin.dispatch_interaction(
            button_click(confirm, prompt, member=gateway_standin.member(GUILD_ID, MOD_ID))
        )
        await click.wait_for_edit(1, timeout=10)
    final = click.edits[-1].body["content"]
    assert "did not let the bot ban" in final and "Working on it" not in final
    assert click.followups == []  # one place for the outcome: the prompt itself


async def test_post_roles_come_from_the_group_and_several_can_be_chosen(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    from bot.sandbox.discord import autocomplete

    extra = seeded_sim.sim.state.add_role(seeded_sim.group.id, "Event Staff")
    async with make_bot():
        member = gateway_standin.member(GUILD_ID, MOD_ID)
        exchange = await gateway_standin.dispatch_interaction(
            autocomplete(
                "vrc", "role2", "staff", channel_id=FEED_CHANNEL_ID, member=member, subcommand="post"
            )
        )
        choices = (await exchange.wait(timeout=10)).body["data"]["choices"]
        assert [(c["name"], c["value"]) for c in choices] == [("Event Staff", extra.id)]
        opened = await command(
            gateway_standin, "vrc", "post", {"role": seeded_sim.moderator_role.id, "role2": extra.id}
        )
    assert opened.callback.body["type"] == 9  # both roles accepted: the modal opens
