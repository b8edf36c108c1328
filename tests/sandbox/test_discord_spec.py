"""The Discord stand-in checks every request against Discord's official OpenAPI description: the
vendored copy is the workplace's contract byte for byte, unknown routes and parameters are refused,
and what real Discord accepts from discord.py (booleans as 1/0, integer attachment ids) passes."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.discord.openapi import DEFAULT_SPEC_PATH, DiscordSpec, load_spec
from tests.fixtures.discord_standin import FEED_CHANNEL_ID, TOKEN

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "discord-openapi" / "openapi.json"
NONE = discord.AllowedMentions.none()


def test_vendored_spec_matches_shared_copy() -> None:
    if not SHARED.exists():
        pytest.skip(f"no shared spec at {SHARED} to compare with")
    vendored = hashlib.sha256(DEFAULT_SPEC_PATH.read_bytes()).hexdigest()
    shared = hashlib.sha256(SHARED.read_bytes()).hexdigest()
    assert vendored == shared, "bot/sandbox/discord/spec/openapi.json drifted from ../shared; copy it again"


def test_the_vendored_spec_is_discords_v10_description() -> None:
    raw = json.loads(DEFAULT_SPEC_PATH.read_text(encoding="utf-8"))
    assert raw["openapi"].startswith("3.1") and raw["info"]["version"] == "10"
    assert raw["servers"] == [{"url": "https://discord.com/api/v10"}]
    assert (DEFAULT_SPEC_PATH.parent / "LICENSE").read_text().startswith("MIT License")


async def raw(standin: DiscordStandIn, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, standin.base_url + path, headers=headers, **kwargs) as resp,
    ):
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("before=abc", "before"),
        ("limit=5&page=2", "page"),
    ],
)
async def test_bad_or_unknown_query_parameters_are_refused(
    discord_standin: DiscordStandIn, query: str, field: str
) -> None:
    status, answer = await raw(discord_standin, "GET", f"/channels/{FEED_CHANNEL_ID}/messages?{query}")
    assert status == 400 and answer["code"] == 50035 and field in answer["errors"], answer
    assert discord_standin.violations and all(field in v for v in discord_standin.violations)
    discord_standin.violations.clear()


async def test_a_body_on_an_operation_that_takes_none_is_refused(discord_standin: DiscordStandIn) -> None:
    status, answer = await raw(discord_standin, "GET", f"/channels/{FEED_CHANNEL_ID}", json={"x": 1})
    assert status == 400 and "_body" in answer["errors"], answer
    discord_standin.violations.clear()


async def test_a_wrongly_typed_field_is_refused_at_its_path(discord_standin: DiscordStandIn) -> None:
    body = {"content": "x", "tts": "yes", "allowed_mentions": {"parse": []}}
    status, answer = await raw(discord_standin, "POST", f"/channels/{FEED_CHANNEL_ID}/messages", json=body)
    assert status == 400 and answer["errors"]["tts"]["_errors"], answer
    assert discord_standin.messages(FEED_CHANNEL_ID) == []
    discord_standin.violations.clear()


async def test_discord_py_habits_real_discord_accepts_pass(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    channel = discord_client.get_partial_messageable(FEED_CHANNEL_ID)
    # An upload: payload_json lists the attachment with an integer id.
    sent = await channel.send("csv", file=discord.File(io.BytesIO(b"a,b\n"), "a.csv"), allowed_mentions=NONE)
    (post,) = discord_standin.requests_to("POST", f"/channels/{FEED_CHANNEL_ID}/messages")
    assert post.json["attachments"] == [{"id": 0, "filename": "a.csv"}] and post.status == 200
    assert [m.id async for m in channel.history(limit=5)] == [sent.id]
    assert discord_standin.spec_checked == len(discord_standin.requests)


def test_the_spec_is_parsed_once_per_process() -> None:
    assert load_spec() is load_spec()
    assert load_spec(DEFAULT_SPEC_PATH) is load_spec()


def test_the_faster_unions_give_the_spec_s_own_verdicts() -> None:
    # unions.py rewrites tagged oneOf/anyOf into if/then (and constant unions into enums) for speed;
    # on every body of the rule catalogue, valid and invalid, the verdict must be the spec's own.
    from tests.sandbox.test_discord_limits import COMMAND_CASES, MESSAGE_CASES

    raw = json.loads(DEFAULT_SPEC_PATH.read_text(encoding="utf-8"))
    literal, fast = DiscordSpec(raw, fast_unions=False), load_spec()
    bodies = [("POST", "/channels/1/messages", c.invalid) for c in MESSAGE_CASES]
    bodies += [("POST", "/channels/1/messages", c.valid) for c in MESSAGE_CASES]
    bodies += [("POST", "/interactions/1/t/callback", {"type": 4, "data": c.invalid}) for c in MESSAGE_CASES]
    bodies += [("POST", "/interactions/1/t/callback", {"type": 7, "data": c.valid}) for c in MESSAGE_CASES]
    bodies += [("PUT", "/applications/1/commands", c.invalid) for c in COMMAND_CASES]
    bodies += [("PUT", "/applications/1/commands", c.valid) for c in COMMAND_CASES]
    bodies += [
        ("POST", "/interactions/1/t/callback", body)
        for body in (
            {"type": 8, "data": {"choices": [{"name": "n", "value": 1}]}},
            {"type": 8, "data": {"choices": [{"name": "", "value": "v"}]}},
            {"type": 9, "data": {"custom_id": "m", "title": "t", "components": []}},
            {"type": 3},
            {"type": 5, "data": {"flags": 64}},
            "not an object",
        )
    ]
    for method, path, body in bodies:
        _, expected = literal.check(method, path, [], body, has_body=True)
        _, got = fast.check(method, path, [], body, has_body=True)
        assert bool(got) == bool(expected), (body, expected.problems, got.problems)
