"""The stand-in's gateway and interactions, driven by a real discord.py bot.

The bot below is a throwaway defined here (not GroupBridge's): slash commands with options and
autocomplete, deferrals and follow-ups, a restart-safe ``DynamicItem`` button, a modal, and answers
Discord refuses (twice, too late, too big) - so every path goes through discord.py's own gateway
parsing, command tree, view store and interaction responses.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.sandbox.discord import (
    CommandUnavailable,
    DiscordStandIn,
    autocomplete,
    button_click,
    modal_submit,
    slash_command,
)
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
    MEMBER_ID,
    MOD_ID,
    MOD_ROLE_ID,
    REQUESTS_CHANNEL_ID,
    TOKEN,
    connected_bot,
    populate_guild,
)
from tests.fixtures.discord_standin import running_standin

GUILD = discord.Object(GUILD_ID)


class FakeClock:
    now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


NONE = discord.AllowedMentions.none()
WORLDS = ["Avatar Testing", "Black Cat", "Great Pug", "Midnight Rooftop"]


class ApproveButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"gb:approve:(?P<request>[0-9]+)"
):
    """State lives in the custom_id, so any bot process can rebuild the button from a click."""

    def __init__(self, request: int) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label="Approve", style=discord.ButtonStyle.success, custom_id=f"gb:approve:{request}"
        )
        super().__init__(button)
        self.request = request

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ApproveButton:
        return cls(int(match["request"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast(ThrowawayBot, interaction.client)
        bot.clicks.append((self.request, interaction.user.id))
        await interaction.response.edit_message(
            content=f"Request {self.request} approved by {interaction.user.name}", view=None
        )


class NoteModal(discord.ui.Modal, title="Add a note"):
    note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
        label="Note", custom_id="note", max_length=200
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        cast(ThrowawayBot, interaction.client).notes.append(self.note.value)
        await interaction.response.send_message(f"Noted: {self.note.value}", ephemeral=True)


class ThrowawayBot(commands.Bot):
    def __init__(self, *, members_intent: bool = False) -> None:
        intents = discord.Intents.default()
        intents.members = members_intent
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NONE)
        self.clicks: list[tuple[int, int]] = []
        self.notes: list[str] = []
        self.refused: list[int] = []  # Discord error codes the bot got back
        self.batch: list[discord.Message] = []
        self.gate = asyncio.Event()  # /slow answers once the test opens it

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ApproveButton)
        install_commands(self)


def install_commands(bot: ThrowawayBot) -> None:
    tree = bot.tree

    @tree.command(name="request", description="File a join request", guild=GUILD)
    @app_commands.describe(user="VRChat display name", reason="Why", reviewer="Who looks at it")
    async def request(
        interaction: discord.Interaction, user: str, reason: str = "-", reviewer: discord.Member | None = None
    ) -> None:
        can_manage = interaction.permissions.manage_guild
        by = reviewer.name if reviewer else None
        await interaction.response.send_message(
            f"Request for {user} ({reason}, {by}); manage_guild={can_manage}", ephemeral=True
        )

    @tree.command(name="lookup", description="Look up a world", guild=GUILD)
    async def lookup(interaction: discord.Interaction, world: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content=f"Found {world}")

    @lookup.autocomplete("world")
    async def lookup_world(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if current == "everything":  # more than Discord's 25
            return [app_commands.Choice(name=f"World {i}", value=str(i)) for i in range(30)]
        return [app_commands.Choice(name=w, value=w) for w in WORLDS if current.lower() in w.lower()]

    @tree.command(name="batch", description="Deferred, then follow-ups", guild=GUILD)
    async def batch(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        first = await interaction.followup.send("part 1", wait=True)
        second = await interaction.followup.send("part 2", ephemeral=True, wait=True)
        await second.edit(content="part 2 edited")
        bot.batch = [first, second, await interaction.original_response()]
        await interaction.delete_original_response()

    @tree.command(name="toolong", description="A button Discord refuses", guild=GUILD)
    async def toolong(interaction: discord.Interaction) -> None:
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="x", custom_id="x" * 101))
        try:
            await interaction.response.send_message("with a bad button", view=view)
        except discord.HTTPException as exc:
            bot.refused.append(exc.code)
            await interaction.response.send_message("fallback", ephemeral=True)  # still unanswered

    @tree.command(name="post", description="Post a request with an approve button", guild=GUILD)
    async def post(interaction: discord.Interaction, request_id: int) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(ApproveButton(request_id))
        await interaction.response.send_message(f"Request {request_id}", view=view)

    @tree.command(name="note", description="Add a note", guild=GUILD)
    async def note(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(NoteModal())

    @tree.command(name="twice", description="Answers twice", guild=GUILD)
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first", ephemeral=True)
        try:  # a fresh InteractionResponse skips discord.py's own "already responded" guard
            await discord.InteractionResponse(interaction).send_message("second", ephemeral=True)
        except discord.HTTPException as exc:
            bot.refused.append(exc.code)

    @tree.command(name="slow", description="Answers when the test says so", guild=GUILD)
    async def slow(interaction: discord.Interaction) -> None:
        await bot.gate.wait()
        try:
            await interaction.response.send_message("late", ephemeral=True)
        except discord.NotFound as exc:
            bot.refused.append(exc.code)

    @tree.command(name="config", description="Moderators only", guild=GUILD)
    @app_commands.default_permissions(manage_guild=True)
    async def config(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("config", ephemeral=True)


@asynccontextmanager
async def synced_bot(standin: DiscordStandIn, bot: ThrowawayBot | None = None) -> AsyncIterator[ThrowawayBot]:
    """A connected bot whose guild commands are synced (Discord only delivers synced commands)."""
    async with connected_bot(standin, bot or ThrowawayBot()) as running:
        await running.tree.sync(guild=GUILD)
        yield running


# ------------------------------------------------------------------ gateway
async def test_bot_connects_and_sees_guild_channels_roles(gateway_standin: DiscordStandIn) -> None:
    async with connected_bot(gateway_standin, ThrowawayBot()) as bot:
        guild = bot.get_guild(GUILD_ID)
        assert guild is not None and not guild.unavailable
        assert {c.id: c.name for c in guild.text_channels} == {
            FEED_CHANNEL_ID: "feed",
            REQUESTS_CHANNEL_ID: "requests",
        }
        assert guild.default_role.id == GUILD_ID
        moderator = guild.get_role(MOD_ROLE_ID)
        assert moderator is not None and moderator.permissions.manage_guild
        assert guild.owner_id == ADMIN_ID
        assert guild.me is not None and guild.me.guild_permissions.send_messages
        assert bot.user is not None and bot.user.id == gateway_standin.bot_user.id
    (connection,) = gateway_standin.gateway.connections
    identify = next(p["d"] for p in connection.received if p["op"] == 2)
    assert identify["intents"] == bot.intents.value
    # discord.py (without zstandard) asks for zlib-stream, so its decompression path was used.
    assert connection.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert connection.compressed
    assert connection.close_code == 1000


async def test_members_intent_gets_members_by_chunking(gateway_standin: DiscordStandIn) -> None:
    async with connected_bot(gateway_standin, ThrowawayBot(members_intent=True)) as bot:
        guild = bot.get_guild(GUILD_ID)
        assert guild is not None
        assert {m.id for m in guild.members} >= {ADMIN_ID, MOD_ID, MEMBER_ID}
        moderator = guild.get_member(MOD_ID)
        assert moderator is not None and moderator.guild_permissions.manage_guild
    assert any(p["op"] == 8 for p in gateway_standin.gateway.connections[0].received)


async def test_reconnect_resumes_the_session(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    async with synced_bot(gateway_standin) as bot:
        resumed = bot.wait_for("resumed", timeout=5)
        await gateway_standin.gateway.request_reconnect()
        await resumed
        exchange = await gateway_standin.dispatch_interaction(
            slash_command("request", {"user": "alice"}, member=mod, channel_id=REQUESTS_CHANNEL_ID)
        )
        assert (await exchange.wait()).type == 4
    assert (gateway_standin.gateway.identify_count, gateway_standin.gateway.resume_count) == (1, 1)


async def test_a_dropped_socket_is_resumed_not_identified_again(gateway_standin: DiscordStandIn) -> None:
    async with synced_bot(gateway_standin) as bot:
        resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=5))
        await asyncio.sleep(0)
        await gateway_standin.gateway.drop()  # a network blip: Discord keeps the session for a RESUME
        await resumed
    assert (gateway_standin.gateway.identify_count, gateway_standin.gateway.resume_count) == (1, 1)


# ------------------------------------------------------------------ interactions
async def test_slash_command_ephemeral_reply(gateway_standin: DiscordStandIn) -> None:
    mod, admin = gateway_standin.member(GUILD_ID, MOD_ID), gateway_standin.member(GUILD_ID, ADMIN_ID)
    async with synced_bot(gateway_standin):
        exchange = await gateway_standin.dispatch_interaction(
            slash_command(
                "request",
                {"user": "alice", "reason": "friend", "reviewer": admin},  # a member: id + resolved
                member=mod,
                channel_id=REQUESTS_CHANNEL_ID,
            )
        )
        callback = await exchange.wait()
    assert [o["type"] for o in exchange.payload["data"]["options"]] == [3, 3, 6]  # from the synced command
    assert callback.type == 4
    assert callback.data["content"] == "Request for alice (friend, admin); manage_guild=True"
    assert callback.data["flags"] == 64
    assert callback.data["allowed_mentions"] == {"parse": []}
    # Stored in the channel for the test, hidden from channel routes like any ephemeral message.
    (stored,) = gateway_standin.messages(REQUESTS_CHANNEL_ID)
    assert stored is exchange.original and stored.ephemeral
    assert gateway_standin.state.list_messages(REQUESTS_CHANNEL_ID, limit=50) == []


async def test_plain_member_lacks_manage_guild(gateway_standin: DiscordStandIn) -> None:
    member = gateway_standin.member(GUILD_ID, MEMBER_ID)
    async with synced_bot(gateway_standin):
        exchange = await gateway_standin.dispatch_interaction(
            slash_command("request", {"user": "bob"}, member=member, channel_id=REQUESTS_CHANNEL_ID)
        )
        assert (await exchange.wait()).data["content"].endswith("manage_guild=False")
        with pytest.raises(CommandUnavailable, match="default_member_permissions"):
            await gateway_standin.dispatch_interaction(
                slash_command("config", member=member, channel_id=REQUESTS_CHANNEL_ID)
            )


async def test_unsynced_command_is_not_delivered(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    async with connected_bot(gateway_standin, ThrowawayBot()):
        with pytest.raises(CommandUnavailable, match="not synced"):
            await gateway_standin.dispatch_interaction(
                slash_command("request", {"user": "x"}, member=mod, channel_id=REQUESTS_CHANNEL_ID)
            )


async def test_deferred_command_then_edit_of_the_original(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    async with synced_bot(gateway_standin):
        exchange = await gateway_standin.dispatch_interaction(
            slash_command("lookup", {"world": "Black Cat"}, member=mod, channel_id=FEED_CHANNEL_ID)
        )
        callback = await exchange.wait()
        edit = await exchange.wait_for_edit()
    assert (callback.type, callback.data.get("flags")) == (5, 64)
    assert edit.body["content"] == "Found Black Cat"
    assert exchange.original is not None and exchange.original.content == "Found Black Cat"
    assert exchange.original.flags == 64  # no longer loading (128), still ephemeral


async def test_autocomplete_returns_choices(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    async with synced_bot(gateway_standin):
        exchange = await gateway_standin.dispatch_interaction(
            autocomplete("lookup", "world", "ca", member=mod, channel_id=FEED_CHANNEL_ID)
        )
        callback = await exchange.wait()
    assert callback.type == 8
    assert callback.data["choices"] == [{"name": "Black Cat", "value": "Black Cat"}]
    assert gateway_standin.messages(FEED_CHANNEL_ID) == []


async def test_dynamic_button_works_after_a_restart(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    admin = gateway_standin.member(GUILD_ID, ADMIN_ID)
    async with synced_bot(gateway_standin) as first:
        posted = await gateway_standin.dispatch_interaction(
            slash_command("post", {"request_id": 7}, member=mod, channel_id=REQUESTS_CHANNEL_ID)
        )
        await posted.wait()
    (message,) = gateway_standin.messages(REQUESTS_CHANNEL_ID)
    assert message.components[0]["components"][0]["custom_id"] == "gb:approve:7"
    assert first.is_closed()

    second = ThrowawayBot()  # a new process: nothing in memory but the registered DynamicItem class
    async with connected_bot(gateway_standin, second):
        click = await gateway_standin.dispatch_interaction(
            button_click("gb:approve:7", message, member=admin)
        )
        callback = await click.wait()
    assert second.clicks == [(7, ADMIN_ID)] and first.clicks == []
    assert callback.type == 7
    assert message.content == "Request 7 approved by admin" and message.components == []
    with pytest.raises(ValueError, match="no component"):  # the button is gone now
        await gateway_standin.dispatch_interaction(button_click("gb:approve:7", message, member=admin))


async def test_modal_opens_and_its_submit_reaches_on_submit(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    async with synced_bot(gateway_standin) as bot:
        opened = await gateway_standin.dispatch_interaction(
            slash_command("note", member=mod, channel_id=REQUESTS_CHANNEL_ID)
        )
        modal = await opened.wait()
        assert modal.type == 9 and modal.data["title"] == "Add a note"
        custom_id = modal.data["custom_id"]
        submitted = await gateway_standin.dispatch_interaction(
            modal_submit(custom_id, {"note": "seen at the door"}, member=mod, channel_id=REQUESTS_CHANNEL_ID)
        )
        reply = await submitted.wait()
        with pytest.raises(ValueError, match="no field"):
            await gateway_standin.dispatch_interaction(
                modal_submit(custom_id, {"other": "x"}, member=mod, channel_id=REQUESTS_CHANNEL_ID)
            )
    assert bot.notes == ["seen at the door"]
    assert reply.type == 4 and reply.data["content"] == "Noted: seen at the door"


async def test_answering_twice_is_refused_with_40060(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    async with synced_bot(gateway_standin) as bot:
        exchange = await gateway_standin.dispatch_interaction(
            slash_command("twice", member=mod, channel_id=FEED_CHANNEL_ID)
        )
        await exchange.wait_for(lambda ex: len(ex.events) == 2, what="the second callback")
    assert [(e.kind, e.status) for e in exchange.events] == [("callback", 200), ("callback", 400)]
    assert exchange.callback is not None and exchange.callback.data["content"] == "first"
    assert bot.refused == [40060]
    assert gateway_standin.violations == [
        f"POST /interactions/{exchange.id}/callback: interaction already acknowledged"
    ]
    gateway_standin.violations.clear()


async def test_callback_with_bad_token_is_unknown_interaction(gateway_standin: DiscordStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{gateway_standin.base_url}/interactions/123/not-a-token/callback"
        async with session.post(url, json={"type": 4, "data": {"content": "x"}}) as resp:
            assert (resp.status, (await resp.json())["code"]) == (404, 10062)
    assert len(gateway_standin.violations) == 1
    gateway_standin.violations.clear()


async def test_command_sync_records_the_commands(gateway_standin: DiscordStandIn) -> None:
    async with connected_bot(gateway_standin, ThrowawayBot()) as bot:
        synced = await bot.tree.sync(guild=GUILD)
        fetched = await bot.tree.fetch_commands(guild=GUILD)
    expected = {"request", "lookup", "batch", "toolong", "post", "note", "twice", "slow", "config"}
    (sync,) = gateway_standin.commands.syncs
    assert sync.guild_id == GUILD_ID and {c["name"] for c in sync.commands} == expected
    assert {c.name: c.id for c in synced} == {c.name: c.id for c in fetched}
    stored = {c["name"]: c for c in gateway_standin.synced_commands(GUILD_ID)}
    assert stored["config"]["default_member_permissions"] == str(discord.Permissions(manage_guild=True).value)
    assert [o["name"] for o in stored["request"]["options"]] == ["user", "reason", "reviewer"]
    assert gateway_standin.synced_commands() == []  # nothing global


async def test_followups_after_a_deferral(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    async with synced_bot(gateway_standin) as bot:
        exchange = await gateway_standin.dispatch_interaction(
            slash_command("batch", member=mod, channel_id=FEED_CHANNEL_ID)
        )
        await exchange.wait_for(lambda ex: any(e.kind == "delete" for e in ex.events), what="the delete")
    first, second, original = bot.batch
    # Discord: the first follow-up after a deferral fills the "thinking" message.
    assert first.id == original.id and second.id != original.id
    assert [(e.kind, e.type, e.message_id) for e in exchange.events] == [
        ("callback", 5, None),
        ("followup", None, None),
        ("followup", None, None),
        ("edit", None, str(second.id)),
        ("fetch", None, "@original"),
        ("delete", None, "@original"),
    ]
    assert exchange.edits == []  # only edits of @original count there
    (left,) = gateway_standin.messages(FEED_CHANNEL_ID)
    assert (left.id, left.content, left.ephemeral) == (second.id, "part 2 edited", True)


async def test_answers_beyond_discord_limits_are_refused(gateway_standin: DiscordStandIn) -> None:
    mod = gateway_standin.member(GUILD_ID, MOD_ID)
    bot = ThrowawayBot()
    # The autocomplete handler's HTTPException is logged by discord.py; that is the point here.
    async with connected_bot(gateway_standin, bot, fail_on_errors=False):
        await bot.tree.sync(guild=GUILD)
        button = await gateway_standin.dispatch_interaction(
            slash_command("toolong", member=mod, channel_id=FEED_CHANNEL_ID)
        )
        accepted = await button.wait()
        choices = await gateway_standin.dispatch_interaction(
            autocomplete("lookup", "world", "everything", member=mod, channel_id=FEED_CHANNEL_ID)
        )
        await choices.wait_for(lambda ex: bool(ex.refused), what="a refused callback")
    assert bot.refused == [50035] and accepted.data["content"] == "fallback"
    assert [e.status for e in button.events] == [400, 200]
    assert choices.callback is None
    assert any("custom_id: Must be 100 or fewer" in v for v in gateway_standin.violations)
    assert any("choices: Must be 25 or fewer" in v for v in gateway_standin.violations)
    gateway_standin.violations.clear()


async def test_an_answer_after_three_seconds_is_unknown_interaction() -> None:
    clock = FakeClock()
    async with running_standin(clock=clock) as standin:
        populate_guild(standin)
        mod = standin.member(GUILD_ID, MOD_ID)
        async with synced_bot(standin) as bot:
            exchange = await standin.dispatch_interaction(
                slash_command("slow", member=mod, channel_id=FEED_CHANNEL_ID)
            )
            clock.now += 3.5  # the handler is still waiting: too slow, it should have deferred
            bot.gate.set()
            await exchange.wait_for(lambda ex: bool(ex.refused), what="the late callback")
    assert bot.refused == [10062] and exchange.callback is None
    assert standin.violations == [
        f"POST /interactions/{exchange.id}/callback: answered after 3.0 s (Discord has expired it)"
    ]


async def test_gateway_protocol_errors_close_like_discord(gateway_standin: DiscordStandIn) -> None:
    url = gateway_standin.gateway_url
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url + "?v=10&encoding=json") as ws:  # no compress: text frames
            assert (await ws.receive_json())["op"] == 10
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11  # heartbeats work before IDENTIFY
            await ws.send_json({"op": 8, "d": {"guild_id": str(GUILD_ID)}})
            assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4003
        async with session.ws_connect(url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": TOKEN + "x", "intents": 0, "properties": {}}})
            assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4004
        async with session.ws_connect(url + "?v=9&encoding=json") as ws:
            assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4012
    assert [c.close_code for c in gateway_standin.gateway.connections] == [4003, 4004, 4012]
