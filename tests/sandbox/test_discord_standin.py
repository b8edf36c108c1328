"""The Discord REST stand-in, driven by the real discord.py client (and raw aiohttp where discord.py
would hide what is being checked, such as the exact headers on the wire)."""

from __future__ import annotations

import io
import json
from typing import Any

import aiohttp
import discord
import pytest
from discord.http import MultipartParameters, Route

from bot.sandbox.discord import DiscordStandIn, bucket_hash, current_base, pointed_at
from tests.fixtures.discord_standin import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    TOKEN,
    fail_on_violations,
    logged_in_client,
    running_standin,
)

NONE = discord.AllowedMentions.none()
CREATE_PATH = f"/channels/{FEED_CHANNEL_ID}/messages"


class FakeClock:
    """Epoch seconds that only move when told to."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def raw(
    standin: DiscordStandIn, method: str, path: str, *, token: str = TOKEN, **kwargs: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """One request with plain aiohttp: status, parsed body (JSON or text) and the response."""
    headers = {"Authorization": f"Bot {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, standin.base_url + path, headers=headers, **kwargs) as resp,
    ):
        text = await resp.text()
        return resp.status, json.loads(text) if text else None, resp


async def send_payload(
    client: discord.Client, payload: dict[str, Any], channel_id: int = FEED_CHANNEL_ID
) -> Any:
    """POST a hand-built body through discord.py's HTTP client (for bodies its helpers refuse)."""
    return await client.http.send_message(channel_id, params=MultipartParameters(payload, None, None))


def max_in_window(times: list[float], per: float) -> int:
    """The most events in one of Discord's fixed windows: a window opens at the first event after the
    previous one closed and lasts ``per`` (a sliding window would be stricter than Discord, and
    would count on how quickly the stand-in answered the requests of one window)."""
    best = count = 0
    start: float | None = None
    for t in sorted(times):
        if start is None or t >= start + per:
            start, count = t, 0
        count += 1
        best = max(best, count)
    return best


# ------------------------------------------------------------------ login and wire format
async def test_login_uses_the_bot_token_and_returns_the_bot_user(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    assert discord_client.user is not None and discord_client.user.id == discord_standin.bot_user.id
    assert discord_client.application_id == discord_standin.bot_user.id
    me = discord_standin.requests_to("GET", "/users/@me")
    assert [r.status for r in me] == [200]
    assert me[0].headers["Authorization"] == f"Bot {TOKEN}"
    assert me[0].headers["User-Agent"].startswith("DiscordBot (https://github.com/Rapptz/discord.py")


async def test_wrong_token_is_a_login_failure(discord_standin: DiscordStandIn) -> None:
    with pytest.raises(discord.LoginFailure):
        async with logged_in_client(discord_standin, token="not-the-token"):
            pass
    assert [r.status for r in discord_standin.requests_to("GET", "/users/@me")] == [401]


async def test_responses_are_bare_json_with_rate_limit_and_via_headers(
    discord_standin: DiscordStandIn,
) -> None:
    status, body, resp = await raw(discord_standin, "GET", "/gateway/bot")
    assert status == 200 and body["url"].startswith("ws://") and body["shards"] == 1
    # discord.py compares the header string exactly; "; charset=utf-8" would turn bodies into text.
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Via"]  # discord.py treats a 429 without Via as a Cloudflare ban
    for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
        assert f"X-RateLimit-{name}" in resp.headers
    status, body, _ = await raw(discord_standin, "GET", "/gateway")
    assert status == 200 and body == {"url": discord_standin.gateway_url}


async def test_unknown_route_is_404_json_and_a_violation(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    with pytest.raises(discord.NotFound) as caught:
        await discord_client.http.request(Route("GET", "/guilds/{guild_id}/emojis", guild_id=GUILD_ID))
    assert caught.value.text == "404: Not Found" and caught.value.code == 0
    assert discord_standin.violations == [f"GET /guilds/{GUILD_ID}/emojis: not a route the stand-in knows"]
    discord_standin.violations.clear()


async def test_fixture_check_fails_the_test_on_violations(discord_standin: DiscordStandIn) -> None:
    discord_standin.violations.append("something Discord would refuse")
    with pytest.raises(pytest.fail.Exception, match="something Discord would refuse"):
        fail_on_violations(discord_standin)
    discord_standin.violations.clear()


# ------------------------------------------------------------------ creating messages
async def test_send_with_nonce_creates_once_and_a_resend_returns_the_same_message(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    channel = discord_client.get_partial_messageable(FEED_CHANNEL_ID, guild_id=GUILD_ID)
    embeds = [discord.Embed(title="Join request", description="Carol wants in")]
    first = await channel.send(embeds=embeds, nonce="abc", allowed_mentions=NONE)
    again = await channel.send(embeds=embeds, nonce="abc", allowed_mentions=NONE)
    assert again.id == first.id and first.nonce == "abc"
    (stored,) = discord_standin.messages(FEED_CHANNEL_ID)
    assert stored.id == first.id and stored.embeds[0]["title"] == "Join request"
    assert stored.allowed_mentions == {"parse": []} and stored.nonce == "abc"
    posts = discord_standin.requests_to("POST", CREATE_PATH)
    assert len(posts) == 2  # both reached "Discord"; only one message exists
    # discord.py turns nonce= into enforce_nonce on its own.
    assert all(p.json["nonce"] == "abc" and p.json["enforce_nonce"] is True for p in posts)


async def test_nonce_without_enforce_nonce_is_only_echoed(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    payload = {"content": "x", "nonce": 42, "allowed_mentions": {"parse": []}}
    first = await send_payload(discord_client, payload)
    second = await send_payload(discord_client, payload)
    assert first["nonce"] == 42 and second["id"] != first["id"]
    assert len(discord_standin.messages(FEED_CHANNEL_ID)) == 2


async def test_nonce_window_is_per_channel_and_expires() -> None:
    clock = FakeClock()
    async with (
        running_standin(clock=clock, nonce_window=300.0) as standin,
        logged_in_client(standin) as client,
    ):
        other = standin.add_channel(FEED_CHANNEL_ID + 1, guild_id=GUILD_ID, name="other").id
        feed = client.get_partial_messageable(FEED_CHANNEL_ID)
        first = await feed.send("a", nonce="n1", allowed_mentions=NONE)
        clock.now += 299
        assert (await feed.send("a", nonce="n1", allowed_mentions=NONE)).id == first.id
        in_other = await client.get_partial_messageable(other).send("a", nonce="n1", allowed_mentions=NONE)
        clock.now += 2  # 301 s after the first message
        late = await feed.send("a", nonce="n1", allowed_mentions=NONE)
        assert late.id != first.id and in_other.id not in (first.id, late.id)
        ids = [m.id for m in standin.messages(FEED_CHANNEL_ID)]
        assert ids == [first.id, late.id] and ids == sorted(ids)
        assert not standin.violations


@pytest.mark.parametrize(
    ("payload", "error_path"),
    [
        ({"embeds": [{"title": str(i)} for i in range(11)]}, ["embeds"]),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, ["embeds"]),
        ({"embeds": [{"title": "t" * 257}]}, ["embeds", "0", "title"]),
        ({"embeds": [{"description": "d" * 4097}]}, ["embeds", "0", "description"]),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, ["embeds", "0", "fields"]),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
            ["embeds", "0", "fields", "0", "value"],
        ),
        (
            {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
            ["embeds", "0", "fields", "0", "name"],
        ),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, ["embeds", "0", "footer", "text"]),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, ["embeds", "0", "author", "name"]),
        ({"content": "c" * 2001}, ["content"]),
        ({"content": "c", "nonce": "n" * 26}, ["nonce"]),
        ({"content": "c", "nonce": 1.5}, ["nonce"]),
        (
            {
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": "i" * 101}]}
                ]
            },
            ["components", "0", "components", "0", "custom_id"],
        ),
    ],
)
async def test_over_limit_bodies_are_rejected_with_50035_and_not_stored(
    discord_standin: DiscordStandIn,
    discord_client: discord.Client,
    payload: dict[str, Any],
    error_path: list[str],
) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await send_payload(discord_client, {**payload, "allowed_mentions": {"parse": []}})
    assert caught.value.status == 400 and caught.value.code == 50035
    # discord.py flattens Discord's nested "errors" tree into "In embeds.0.title: ..." lines.
    assert caught.value.text.startswith("Invalid Form Body\nIn " + ".".join(error_path) + ": ")
    assert discord_standin.messages(FEED_CHANNEL_ID) == []
    assert len(discord_standin.violations) == 1 and ".".join(error_path) in discord_standin.violations[0]
    discord_standin.violations.clear()


@pytest.mark.parametrize(
    "embeds",
    [
        [discord.Embed(title="t" * 257)],
        [discord.Embed(description="d" * 4000), discord.Embed(description="d" * 1745, title="t" * 256)],
    ],
    ids=["title-257", "total-6001"],
)
async def test_over_limit_embeds_through_send_raise_http_exception(
    discord_standin: DiscordStandIn, discord_client: discord.Client, embeds: list[discord.Embed]
) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await discord_client.get_partial_messageable(FEED_CHANNEL_ID).send(
            embeds=embeds, allowed_mentions=NONE
        )
    assert caught.value.status == 400 and caught.value.code == 50035
    assert discord_standin.messages(FEED_CHANNEL_ID) == [] and len(discord_standin.violations) == 1
    discord_standin.violations.clear()


async def test_discord_py_itself_refuses_eleven_embeds(discord_client: discord.Client) -> None:
    # Why the 11-embed case above goes through http.send_message: the public API never sends it.
    with pytest.raises(ValueError, match="maximum of 10"):
        await discord_client.get_partial_messageable(FEED_CHANNEL_ID).send(
            embeds=[discord.Embed(title=str(i)) for i in range(11)], allowed_mentions=NONE
        )


async def test_empty_message_is_50006(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await send_payload(discord_client, {"content": "", "embeds": [], "allowed_mentions": {"parse": []}})
    assert caught.value.status == 400 and caught.value.code == 50006
    assert discord_standin.messages(FEED_CHANNEL_ID) == []
    discord_standin.violations.clear()


async def test_default_allowed_mentions_are_a_violation(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    await discord_client.get_partial_messageable(FEED_CHANNEL_ID).send("hello @everyone")
    assert len(discord_standin.messages(FEED_CHANNEL_ID)) == 1  # Discord would have sent (and pinged)
    assert len(discord_standin.violations) == 1 and "mention problem" in discord_standin.violations[0]
    discord_standin.violations.clear()
    discord_standin.strict_mentions = False
    await discord_client.get_partial_messageable(FEED_CHANNEL_ID).send("again")
    assert discord_standin.violations == []


# ------------------------------------------------------------------ channel errors
@pytest.mark.parametrize(
    ("status", "exc_type", "code"), [(403, discord.Forbidden, 50013), (404, discord.NotFound, 10003)]
)
async def test_channel_errors_reach_discord_py(
    discord_standin: DiscordStandIn,
    discord_client: discord.Client,
    status: int,
    exc_type: type[discord.HTTPException],
    code: int,
) -> None:
    discord_standin.set_channel_error(FEED_CHANNEL_ID, status)
    channel = discord_client.get_partial_messageable(FEED_CHANNEL_ID)
    with pytest.raises(exc_type) as caught:
        await channel.send("x", allowed_mentions=NONE)
    assert caught.value.code == code
    discord_standin.set_channel_error(FEED_CHANNEL_ID, None)
    await channel.send("x", allowed_mentions=NONE)
    assert len(discord_standin.messages(FEED_CHANNEL_ID)) == 1


async def test_posting_to_an_unknown_channel_is_unknown_channel(discord_client: discord.Client) -> None:
    with pytest.raises(discord.NotFound) as caught:
        await discord_client.get_partial_messageable(999).send("x", allowed_mentions=NONE)
    assert caught.value.code == 10003


# ------------------------------------------------------------------ rate limits
async def test_discord_py_paces_itself_on_the_bucket_headers() -> None:
    # A 1 s window keeps the test short; the shape is Discord's 5-per-window per-channel bucket.
    async with running_standin(rate_limit=(5, 1.0)) as standin, logged_in_client(standin) as client:
        channel = client.get_partial_messageable(FEED_CHANNEL_ID)
        sent = [await channel.send(f"m{i}", allowed_mentions=NONE) for i in range(8)]
        assert [m.content for m in standin.messages(FEED_CHANNEL_ID)] == [f"m{i}" for i in range(8)]
        assert [m.id for m in sent] == [m.id for m in standin.messages(FEED_CHANNEL_ID)]
        assert standin.rate_limited_count == 0  # discord.py waited on Remaining/Reset-After instead
        assert max_in_window([r.at for r in standin.message_creations(FEED_CHANNEL_ID)], 1.0) <= 5
        assert not standin.violations


async def test_a_client_ignoring_the_headers_gets_429_per_channel() -> None:
    clock = FakeClock()
    async with running_standin(clock=clock) as standin:
        other = standin.add_channel(FEED_CHANNEL_ID + 1, guild_id=GUILD_ID, name="other").id
        body = {"content": "x", "allowed_mentions": {"parse": []}}
        answers = [await raw(standin, "POST", CREATE_PATH, json=body) for _ in range(6)]
        assert [status for status, _, _ in answers] == [200] * 5 + [429]
        assert [a[2].headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
        _, limited, resp = answers[-1]
        assert limited == {"message": "You are being rate limited.", "retry_after": 5.0, "global": False}
        assert resp.headers["Retry-After"] == "5" and resp.headers["X-RateLimit-Scope"] == "user"
        assert resp.headers["X-RateLimit-Reset"] == f"{clock.now + 5:.3f}"
        assert standin.rate_limited_count == 1 and len(standin.messages(FEED_CHANNEL_ID)) == 5
        # Same bucket hash for every channel (as Discord), but each channel has its own window.
        status, _, resp_other = await raw(standin, "POST", f"/channels/{other}/messages", json=body)
        assert status == 200 and resp_other.headers["X-RateLimit-Remaining"] == "4"
        route_hash = bucket_hash("POST /channels/{channel_id}/messages")
        assert resp_other.headers["X-RateLimit-Bucket"] == resp.headers["X-RateLimit-Bucket"] == route_hash
        clock.now += 5.0  # the window is over
        assert (await raw(standin, "POST", CREATE_PATH, json=body))[0] == 200
        assert not standin.violations


# ------------------------------------------------------------------ files, edits, reads
async def test_multipart_upload_stores_the_file(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    csv = b"user,action\nCarol,joined\n"
    message = await discord_client.get_partial_messageable(FEED_CHANNEL_ID).send(
        "export", file=discord.File(io.BytesIO(csv), filename="audit.csv"), allowed_mentions=NONE
    )
    (stored,) = discord_standin.messages(FEED_CHANNEL_ID)
    assert stored.content == "export" and [(a.filename, a.data) for a in stored.attachments] == [
        ("audit.csv", csv)
    ]
    (post,) = discord_standin.requests_to("POST", CREATE_PATH)
    assert post.headers["Content-Type"].startswith("multipart/form-data")
    assert post.json["attachments"] == [{"id": 0, "filename": "audit.csv"}]  # parsed from payload_json
    assert [(f.field, f.filename, f.data) for f in post.files] == [("files[0]", "audit.csv", csv)]
    assert message.attachments[0].filename == "audit.csv" and message.attachments[0].size == len(csv)
    assert await message.attachments[0].read() == csv


async def test_edit_fetch_history_and_delete(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    channel = discord_client.get_partial_messageable(FEED_CHANNEL_ID)
    sent = [await channel.send(f"m{i}", allowed_mentions=NONE) for i in range(4)]
    edited = await sent[1].edit(content="m1 (edited)", embed=discord.Embed(title="t"), allowed_mentions=NONE)
    assert edited.edited_at is not None and edited.embeds[0].title == "t"
    fetched = await channel.fetch_message(sent[1].id)
    assert fetched.content == "m1 (edited)" and fetched.edited_at == edited.edited_at
    assert fetched.author.id == discord_standin.bot_user.id and fetched.author.bot
    assert [m.content async for m in channel.history(limit=10)] == ["m3", "m2", "m1 (edited)", "m0"]
    assert [m.id async for m in channel.history(limit=2, before=sent[3])] == [sent[2].id, sent[1].id]
    assert [m.id async for m in channel.history(limit=2, after=sent[0], oldest_first=True)] == [
        sent[1].id,
        sent[2].id,
    ]
    status, newest_first, _ = await raw(discord_standin, "GET", f"{CREATE_PATH}?limit=2&after={sent[0].id}")
    assert status == 200 and [m["content"] for m in newest_first] == ["m2", "m1 (edited)"]
    await sent[0].delete()
    with pytest.raises(discord.NotFound) as caught:
        await channel.fetch_message(sent[0].id)
    assert caught.value.code == 10008
    assert [m.content for m in discord_standin.messages(FEED_CHANNEL_ID)] == ["m1 (edited)", "m2", "m3"]
    text_channel = await discord_client.fetch_channel(FEED_CHANNEL_ID)
    assert isinstance(text_channel, discord.TextChannel) and text_channel.name == "feed"
    assert text_channel.guild.id == GUILD_ID and text_channel.last_message_id == sent[3].id


async def test_an_edit_without_allowed_mentions_is_a_violation(
    discord_standin: DiscordStandIn, discord_client: discord.Client
) -> None:
    message = await discord_client.get_partial_messageable(FEED_CHANNEL_ID).send("m", allowed_mentions=NONE)
    # discord.py only resends allowed_mentions on edit when told to (or content changes with a default).
    await message.edit(embed=discord.Embed(title="new"))
    assert len(discord_standin.violations) == 1 and "PATCH" in discord_standin.violations[0]
    discord_standin.violations.clear()


# ------------------------------------------------------------------ pointing discord.py
def test_pointed_at_patches_and_restores_route_base() -> None:
    original = current_base()
    assert original == "https://discord.com/api/v10"
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    with (
        pytest.raises(RuntimeError, match="boom"),
        pointed_at("http://127.0.0.1:9/api/v10/", gateway="ws://x/"),
    ):
        assert Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://x/"
        raise RuntimeError("boom")
    assert current_base() == original and discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY is gateway
