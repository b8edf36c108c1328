"""Every body Discord refuses is refused by the stand-in too: one case per rule, from Discord's
OpenAPI description or its documented limits, each beside a body right at the limit that passes.

Message bodies are sent as plain channel messages and as interaction answers (the rules are the same
on every message route); command sets through a bulk overwrite.  A refusal is Discord's 400 50035
"Invalid Form Body" with the bad field's path in ``errors``, it is recorded as a violation, and it
changes nothing (no message, no acknowledged interaction, no command).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from bot.sandbox.discord import DiscordStandIn, autocomplete, pointed_at, slash_command
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, TOKEN, connected_bot, populate_guild
from tests.fixtures.discord_standin import FEED_CHANNEL_ID, running_standin

SILENT = {"parse": []}


@dataclass(frozen=True)
class Case:
    """One rule: a body that breaks it, the error path Discord names, and a body right at the limit."""

    rule: str
    invalid: Any
    path: str  # where Discord's ``errors`` tree points, dotted
    valid: Any = None


def row(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(children)}


def button(n: int | str = 0, **extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": f"b{n}", "custom_id": f"id{n}", **extra}


def link(url: str) -> dict[str, Any]:
    return {"type": 2, "style": 5, "label": "open", "url": url}


def select(n_options: int = 3, **extra: Any) -> dict[str, Any]:
    options = [{"label": f"o{i}", "value": f"v{i}"} for i in range(n_options)]
    return {"type": 3, "custom_id": "pick", "options": options, **extra}


def embed(**fields: Any) -> dict[str, Any]:
    return {"title": "t", **fields}


def url_of(length: int, scheme: str = "https") -> str:
    prefix = f"{scheme}://example.com/"
    return prefix + "a" * (length - len(prefix))


MESSAGE_CASES = [
    # ---- components on a message without the components-v2 flag
    Case(
        "at most 5 action rows",
        {"components": [row(button(i)) for i in range(6)]},
        "components",
        {"components": [row(button(i)) for i in range(5)]},
    ),
    Case(
        "at most 5 buttons in a row",
        {"components": [row(*(button(i) for i in range(6)))]},
        "components.0.components",
        {"components": [row(*(button(i) for i in range(5)))]},
    ),
    Case(
        "button label at most 80",
        {"components": [row(button(label="x" * 81))]},
        "components.0.components.0.label",
        {"components": [row(button(label="x" * 80))]},
    ),
    Case(
        "custom_ids unique",
        {"components": [row(button(1), button(1))]},
        "components.0.components.1.custom_id",
        {"components": [row(button(1), button(2))]},
    ),
    Case(
        "a non-link button has a custom_id",
        {"components": [row({"type": 2, "style": 1, "label": "x"})]},
        "components.0.components.0.custom_id",
        {"components": [row(button())]},
    ),
    Case(
        "a link button has no custom_id",
        {"components": [row({**link("https://example.com/"), "custom_id": "x"})]},
        "components.0.components.0.custom_id",
        {"components": [row(link("https://example.com/"))]},
    ),
    Case(
        "action rows are not empty",
        {"components": [row()]},
        "components.0.components",
        {"components": [row(button())]},
    ),
    Case(
        "top level holds action rows only",
        {"components": [button()]},
        "components.0.type",
        {"components": [row(button())]},
    ),
    Case(
        "a select fills its row alone",
        {"components": [row(select(), button())]},
        "components.0.components",
        {"components": [row(select()), row(button())]},
    ),
    Case(
        "link url at most 512",
        {"components": [row(link(url_of(513)))]},
        "components.0.components.0.url",
        {"components": [row(link(url_of(512)))]},
    ),
    Case(
        "link url is http(s) or discord",
        {"components": [row(link("javascript:alert(1)"))]},
        "components.0.components.0.url",
        {"components": [row(link("discord://-/channels/1/2"))]},
    ),
    # ---- select menus
    Case(
        "select has at least 1 option",
        {"components": [row(select(0))]},
        "components.0.components.0.options",
        {"components": [row(select(1))]},
    ),
    Case(
        "select has at most 25 options",
        {"components": [row(select(26))]},
        "components.0.components.0.options",
        {"components": [row(select(25))]},
    ),
    Case(
        "select option label at most 100",
        {"components": [row({**select(1), "options": [{"label": "l" * 101, "value": "v"}]})]},
        "components.0.components.0.options.0.label",
        {"components": [row({**select(1), "options": [{"label": "l" * 100, "value": "v"}]})]},
    ),
    Case(
        "select option value at most 100",
        {"components": [row({**select(1), "options": [{"label": "l", "value": "v" * 101}]})]},
        "components.0.components.0.options.0.value",
        {"components": [row({**select(1), "options": [{"label": "l", "value": "v" * 100}]})]},
    ),
    Case(
        "select placeholder at most 150",
        {"components": [row(select(placeholder="p" * 151))]},
        "components.0.components.0.placeholder",
        {"components": [row(select(placeholder="p" * 150))]},
    ),
    Case(
        "select max_values at most 25",
        {"components": [row(select(25, max_values=26))]},
        "components.0.components.0.max_values",
        {"components": [row(select(25, max_values=25))]},
    ),
    Case(
        "select max_values at most its options",
        {"components": [row(select(3, max_values=4))]},
        "components.0.components.0.max_values",
        {"components": [row(select(3, max_values=3))]},
    ),
    Case(
        "select min_values at most max_values",
        {"components": [row(select(3, min_values=3, max_values=2))]},
        "components.0.components.0.min_values",
        {"components": [row(select(3, min_values=2, max_values=2))]},
    ),
    # ---- embeds
    Case(
        "embed url at most 2,048",
        {"embeds": [embed(url=url_of(2049))]},
        "embeds.0.url",
        {"embeds": [embed(url=url_of(2048))]},
    ),
    Case(
        "embed url is http(s)",
        {"embeds": [embed(url="javascript:alert(1)")]},
        "embeds.0.url",
        {"embeds": [embed(url="https://vrchat.com/home/user/usr_1")]},
    ),
    Case(
        "embed image url is http(s) or attachment",
        {"embeds": [embed(image={"url": "javascript:alert(1)"})]},
        "embeds.0.image.url",
        {"embeds": [embed(image={"url": "attachment://chart.png"})]},
    ),
    Case(
        "embed thumbnail url at most 2,048",
        {"embeds": [embed(thumbnail={"url": url_of(2049)})]},
        "embeds.0.thumbnail.url",
        {"embeds": [embed(thumbnail={"url": url_of(2048)})]},
    ),
    Case(
        "embed colour at most 0xFFFFFF",
        {"embeds": [embed(color=0x1000000)]},
        "embeds.0.color",
        {"embeds": [embed(color=0xFFFFFF)]},
    ),
    Case(
        "embed timestamp is ISO 8601",
        {"embeds": [embed(timestamp="25/11/2026 18:30")]},
        "embeds.0.timestamp",
        {"embeds": [embed(timestamp="2026-11-25T18:30:00.000Z")]},
    ),
    Case(
        "embed title at most 256",
        {"embeds": [embed(title="t" * 257)]},
        "embeds.0.title",
        {"embeds": [embed(title="t" * 256)]},
    ),
    Case(
        "embed description at most 4,096",
        {"embeds": [embed(description="d" * 4097)]},
        "embeds.0.description",
        {"embeds": [embed(description="d" * 4096)]},
    ),
    Case(
        "embed field value at most 1,024",
        {"embeds": [embed(fields=[{"name": "n", "value": "v" * 1025}])]},
        "embeds.0.fields.0.value",
        {"embeds": [embed(fields=[{"name": "n", "value": "v" * 1024}])]},
    ),
    Case(
        "embed field value not blank",
        {"embeds": [embed(fields=[{"name": "n", "value": " \ufeff"}])]},
        "embeds.0.fields.0.value",
        {"embeds": [embed(fields=[{"name": "n", "value": "."}])]},
    ),
    Case(
        "embed footer at most 2,048",
        {"embeds": [embed(footer={"text": "f" * 2049})]},
        "embeds.0.footer.text",
        {"embeds": [embed(footer={"text": "f" * 2048})]},
    ),
    Case(
        "embeds at most 6,000 characters together",
        {"embeds": [embed(title="", description="d" * 4000), embed(title="", description="d" * 2001)]},
        "embeds",
        {"embeds": [embed(title="", description="d" * 4000), embed(title="", description="d" * 2000)]},
    ),
    Case(
        "at most 10 embeds",
        {"embeds": [embed() for _ in range(11)]},
        "embeds",
        {"embeds": [embed() for _ in range(10)]},
    ),
    # ---- content
    Case("content at most 2,000", {"content": "c" * 2001}, "content", {"content": "c" * 2000}),
]
ids = [c.rule for c in MESSAGE_CASES]


async def call(
    standin: DiscordStandIn, method: str, path: str, body: Any, *, token: str | None = TOKEN
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, standin.base_url + path, headers=headers, json=body) as resp,
    ):
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


def error_at(answer: Any, path: str) -> list[dict[str, str]]:
    """The ``_errors`` list at a dotted path of Discord's ``errors`` tree (empty when absent)."""
    node = answer.get("errors", {}) if isinstance(answer, dict) else {}
    for key in path.split(".") if path else []:
        node = node.get(key, {})
    return node.get("_errors", [])


def assert_refused(status: int, answer: Any, path: str, standin: DiscordStandIn) -> None:
    assert status == 400 and answer["code"] == 50035 and answer["message"] == "Invalid Form Body", answer
    assert error_at(answer, path), f"no error at {path!r}: {answer['errors']}"
    assert standin.violations, "a refusal must be recorded as a violation"
    standin.violations.clear()


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with running_standin() as running:
        populate_guild(running)
        yield running
        assert not running.violations, running.violations


# ------------------------------------------------------------------ plain channel messages
@pytest.mark.parametrize("case", MESSAGE_CASES, ids=ids)
async def test_a_channel_message_breaking_the_rule_is_refused(standin: DiscordStandIn, case: Case) -> None:
    status, answer = await call(
        standin, "POST", f"/channels/{FEED_CHANNEL_ID}/messages", {**case.invalid, "allowed_mentions": SILENT}
    )
    assert_refused(status, answer, case.path, standin)
    assert standin.messages(FEED_CHANNEL_ID) == []


@pytest.mark.parametrize("case", MESSAGE_CASES, ids=ids)
async def test_a_channel_message_at_the_limit_is_accepted(standin: DiscordStandIn, case: Case) -> None:
    status, answer = await call(
        standin, "POST", f"/channels/{FEED_CHANNEL_ID}/messages", {**case.valid, "allowed_mentions": SILENT}
    )
    assert status == 200, answer
    assert len(standin.messages(FEED_CHANNEL_ID)) == 1


async def test_an_edit_is_held_to_the_same_rules(standin: DiscordStandIn) -> None:
    status, sent = await call(
        standin, "POST", f"/channels/{FEED_CHANNEL_ID}/messages", {"content": "x", "allowed_mentions": SILENT}
    )
    assert status == 200
    path = f"/channels/{FEED_CHANNEL_ID}/messages/{sent['id']}"
    status, answer = await call(standin, "PATCH", path, {"components": [row(button(1), button(1))]})
    assert_refused(status, answer, "components.0.components.1.custom_id", standin)
    assert standin.messages(FEED_CHANNEL_ID)[0].components == []


# ------------------------------------------------------------------ interaction answers
@pytest.fixture
async def listener(standin: DiscordStandIn) -> AsyncIterator[DiscordStandIn]:
    """A connected client that never answers, so the test answers each interaction itself."""
    standin.desk.require_synced = False
    async with connected_bot(standin, discord.Client(intents=discord.Intents.none())):
        yield standin


async def interaction(standin: DiscordStandIn, *, typing: str | None = None) -> tuple[int, str]:
    """A slash command (or, with ``typing``, an autocomplete) nobody answers yet: its id and token."""
    member = standin.member(GUILD_ID, ADMIN_ID)
    if typing is None:
        payload = slash_command("anything", channel_id=FEED_CHANNEL_ID, member=member)
    else:
        payload = autocomplete("anything", "text", typing, channel_id=FEED_CHANNEL_ID, member=member)
    exchange = await standin.dispatch_interaction(payload)
    return exchange.id, exchange.token


@pytest.mark.parametrize("case", MESSAGE_CASES, ids=ids)
async def test_an_interaction_answer_breaking_the_rule_is_refused_and_not_acknowledged(
    listener: DiscordStandIn, case: Case
) -> None:
    interaction_id, token = await interaction(listener)
    callback = f"/interactions/{interaction_id}/{token}/callback"
    body = {"type": 4, "data": {**case.invalid, "flags": 64, "allowed_mentions": SILENT}}
    status, answer = await call(listener, "POST", callback, body, token=None)
    assert_refused(status, answer, f"data.{case.path}", listener)
    # Not acknowledged: the bot may still answer, and the answer at the limit is accepted.
    body = {"type": 4, "data": {**case.valid, "flags": 64, "allowed_mentions": SILENT}}
    status, answer = await call(listener, "POST", callback, body, token=None)
    assert status == 200, answer


async def test_follow_ups_and_webhook_edits_are_held_to_the_same_rules(listener: DiscordStandIn) -> None:
    interaction_id, token = await interaction(listener)
    status, _ = await call(
        listener, "POST", f"/interactions/{interaction_id}/{token}/callback", {"type": 5}, token=None
    )
    assert status == 200
    webhook = f"/webhooks/{listener.bot_user.id}/{token}"
    status, answer = await call(listener, "POST", webhook, {"embeds": [embed(color=-1)]}, token=None)
    assert_refused(status, answer, "embeds.0.color", listener)
    edit = {"content": "c" * 2001, "allowed_mentions": SILENT}
    status, answer = await call(listener, "PATCH", f"{webhook}/messages/@original", edit, token=None)
    assert_refused(status, answer, "content", listener)
    # discord.py sends ?wait= as 1/0, which Discord accepts although the spec types it boolean.
    ok = {"content": "ok", "allowed_mentions": SILENT}
    status, message = await call(listener, "POST", f"{webhook}?wait=1", ok, token=None)
    assert status == 200 and message["content"] == "ok", message
    status, _ = await call(listener, "POST", f"{webhook}?wait=0", ok, token=None)
    assert status == 204


async def test_autocomplete_choice_values_at_most_100(listener: DiscordStandIn) -> None:
    # The spec allows 6,000 (its known looseness); Discord's documented limit is 100.
    interaction_id, token = await interaction(listener, typing="v")
    callback = f"/interactions/{interaction_id}/{token}/callback"
    body = {"type": 8, "data": {"choices": [{"name": "n", "value": "v" * 101}]}}
    status, answer = await call(listener, "POST", callback, body, token=None)
    assert_refused(status, answer, "data.choices.0.value", listener)


# ------------------------------------------------------------------ commands
def option(name: str = "text", kind: int = 3, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "description": "d", **extra}


def slash(options: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": 1, "name": "cmd", "description": "d", "options": options or [], **extra}


def subcommand(name: str, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return option(name, 1, options=options or [])


def choices(*values: Any) -> list[dict[str, Any]]:
    return [{"name": f"c{i}", "value": v} for i, v in enumerate(values)]


def sized(characters: int) -> dict[str, Any]:
    """A slash command whose names, descriptions and choice values add up to ``characters``:
    "cmd" + "d" + "text" + "d" (9), then 25 choices of a 100-character value and a name of the rest."""
    rest = characters - 9
    names = [min(60, rest - 100 * 25 - 60 * i) for i in range(25)]
    names[-1] = rest - 100 * 25 - sum(names[:-1])
    assert all(1 <= n <= 100 for n in names), names
    return slash([option(choices=[{"name": "n" * n, "value": "v" * 100} for n in names])])


COMMAND_CASES = [
    Case(
        "choice names are not empty",
        [slash([option(choices=[{"name": "", "value": "v"}])])],
        "0.options.0.choices.0.name",
        [slash([option(choices=[{"name": "n", "value": "v"}])])],
    ),
    Case(
        "string choice values at most 100",
        [slash([option(choices=choices("v" * 101))])],
        "0.options.0.choices.0.value",
        [slash([option(choices=choices("v" * 100))])],
    ),
    Case(
        "choice values of the option's type",
        [slash([option(kind=4, choices=choices("1"))])],
        "0.options.0.choices.0.value",
        [slash([option(kind=4, choices=choices(1))])],
    ),
    Case(
        "at most 25 choices",
        [slash([option(choices=choices(*map(str, range(26))))])],
        "0.options.0.choices",
        [slash([option(choices=choices(*map(str, range(25))))])],
    ),
    Case(
        "min_length at most 6,000",
        [slash([option(min_length=6001)])],
        "0.options.0.min_length",
        [slash([option(min_length=6000)])],
    ),
    Case(
        "max_length at most 6,000",
        [slash([option(max_length=6001)])],
        "0.options.0.max_length",
        [slash([option(max_length=6000)])],
    ),
    Case(
        "subcommands not mixed with options",
        [slash([subcommand("a"), option()])],
        "0.options",
        [slash([subcommand("a", [option()]), subcommand("b")])],
    ),
    Case(
        "subcommands nest at most once",
        [slash([option("g", 2, options=[option("h", 2, options=[subcommand("s")])])])],
        "0.options.0.options.0.type",
        [slash([option("g", 2, options=[subcommand("s", [option()])])])],
    ),
    Case(
        "a subcommand holds no subcommand",
        [slash([subcommand("a", [subcommand("b")])])],
        "0.options.0.options.0.type",
        [slash([subcommand("a", [option()])])],
    ),
    Case("at most 4,000 characters per command", [sized(4001)], "0", [sized(4000)]),
    Case("slash command names are lower case", [slash(name="Cmd")], "0.name", [slash(name="cmd")]),
    Case("slash command names have no spaces", [slash(name="look up")], "0.name", [slash(name="look-up")]),
    Case(
        "option names unique",
        [slash([option("a"), option("a")])],
        "0.options.1",
        [slash([option("a"), option("b")])],
    ),
    Case(
        "required options first",
        [slash([option("a"), option("b", required=True)])],
        "0.options.1",
        [slash([option("b", required=True), option("a")])],
    ),
    Case(
        "autocomplete and choices exclusive",
        [slash([option(autocomplete=True, choices=choices("v"))])],
        "0.options.0",
        [slash([option(autocomplete=True)])],
    ),
    Case(
        "option descriptions present",
        [slash([option(description="")])],
        "0.options.0.description",
        [slash([option(description=".")])],
    ),
    Case(
        "at most 5 user commands",
        [{"type": 2, "name": f"User {i}"} for i in range(6)],
        "",
        [{"type": 2, "name": f"User {i}"} for i in range(5)],
    ),
    Case(
        "context-menu names at most 32",
        [{"type": 3, "name": "M" * 33}],
        "0.name",
        [{"type": 3, "name": "Report This Message To The Mods!"}],
    ),
]
command_ids = [c.rule for c in COMMAND_CASES]
COMMANDS_PATH = f"/applications/{{app}}/guilds/{GUILD_ID}/commands"


@pytest.mark.parametrize("case", COMMAND_CASES, ids=command_ids)
async def test_a_command_set_breaking_the_rule_is_refused(standin: DiscordStandIn, case: Case) -> None:
    path = COMMANDS_PATH.format(app=standin.bot_user.id)
    status, answer = await call(standin, "PUT", path, case.invalid)
    assert_refused(status, answer, case.path, standin)
    assert standin.synced_commands(GUILD_ID) == []


@pytest.mark.parametrize("case", COMMAND_CASES, ids=command_ids)
async def test_a_command_set_at_the_limit_is_accepted(standin: DiscordStandIn, case: Case) -> None:
    status, answer = await call(standin, "PUT", COMMANDS_PATH.format(app=standin.bot_user.id), case.valid)
    assert status == 200, answer
    assert [c["name"] for c in standin.synced_commands(GUILD_ID)] == [c["name"] for c in case.valid]


async def test_context_menus_named_with_spaces_and_capitals_sync_through_discord_py(
    standin: DiscordStandIn,
) -> None:
    # Discord allows them (only slash commands are lower case without spaces); the stand-in refused.
    async def look_up(interaction: discord.Interaction, member: discord.Member) -> None: ...

    async def report(interaction: discord.Interaction, message: discord.Message) -> None: ...

    with pointed_at(standin):
        client = discord.Client(intents=discord.Intents.none())
        tree = app_commands.CommandTree(client)
        guild = discord.Object(GUILD_ID)
        tree.add_command(app_commands.ContextMenu(name="Look Up In VRChat", callback=look_up), guild=guild)
        tree.add_command(app_commands.ContextMenu(name="Report to Mods", callback=report), guild=guild)
        try:
            await client.login(TOKEN)
            synced = await tree.sync(guild=guild)
        finally:
            await client.close()
    assert sorted(c.name for c in synced) == ["Look Up In VRChat", "Report to Mods"]
