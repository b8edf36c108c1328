"""Gateway frames as a network delivers them: several in one TCP write, one cut across writes.

A recording proxy in front of the stand-in once saw an interaction that arrived right behind another
wait about 40 s (a heartbeat interval) for the next frame before the bot handled it. These tests
rule that out with events rather than clocks: the gateway is paused, both interactions go out in a
single TCP write, and the bot must answer both while the stand-in writes nothing more to it. If the
second one needed another frame to be processed, it would never be answered and the wait would fail.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from bot.sandbox.discord import DiscordStandIn, slash_command
from bot.sandbox.discord.gateway import ws_frame
from tests.fixtures.discord_gateway import GUILD_ID, MOD_ID, REQUESTS_CHANNEL_ID, TOKEN, connected_bot

GUILD = discord.Object(GUILD_ID)


class EchoBot(discord.Client):
    """Answers /echo at once with what it was given."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.none(), allowed_mentions=discord.AllowedMentions.none())
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="echo", description="Say it back", guild=GUILD)
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(text, ephemeral=True)


@pytest.fixture
async def echo(gateway_standin: DiscordStandIn) -> AsyncIterator[DiscordStandIn]:
    async with connected_bot(gateway_standin, EchoBot()) as bot:
        await bot.tree.sync(guild=GUILD)
        yield gateway_standin


async def dispatch_echo(standin: DiscordStandIn, text: str) -> Any:
    member = standin.member(GUILD_ID, MOD_ID)
    return await standin.dispatch_interaction(
        slash_command("echo", {"text": text}, member=member, channel_id=REQUESTS_CHANNEL_ID)
    )


def live_connection(standin: DiscordStandIn) -> Any:
    return next(c for c in reversed(standin.gateway.connections) if c.session is not None)


async def test_two_interactions_in_one_tcp_write_are_both_answered_without_another_frame(
    echo: DiscordStandIn,
) -> None:
    gateway, connection = echo.gateway, live_connection(echo)
    assert connection.compressed  # discord.py's zlib-stream: two compressed messages, one write
    gateway.pause()
    first, second = await dispatch_echo(echo, "one"), await dispatch_echo(echo, "two")
    assert first.callback is None and second.callback is None  # nothing reached the bot yet
    assert await gateway.flush() > 0
    answers = await asyncio.gather(first.wait(timeout=10), second.wait(timeout=10))
    # Both answered while the stand-in wrote nothing after that single write.
    assert [a.data["content"] for a in answers] == ["one", "two"]
    assert connection.writes == 1
    await gateway.resume()
    third = await dispatch_echo(echo, "three")  # and frames flow one by one again
    assert (await third.wait(timeout=10)).data["content"] == "three"
    assert not echo.violations


@pytest.mark.parametrize("pieces", [2, 7])
async def test_interactions_cut_across_writes_are_answered(echo: DiscordStandIn, pieces: int) -> None:
    gateway, connection = echo.gateway, live_connection(echo)
    gateway.pause()
    first, second = await dispatch_echo(echo, "a" * 300), await dispatch_echo(echo, "b" * 300)
    await gateway.flush(pieces=pieces, gap=0.02)
    answers = await asyncio.gather(first.wait(timeout=10), second.wait(timeout=10))
    assert [a.data["content"] for a in answers] == ["a" * 300, "b" * 300]
    assert connection.writes == pieces
    await gateway.resume()


async def test_plain_text_frames_coalesced_and_split_reach_a_raw_client(
    gateway_standin: DiscordStandIn,
) -> None:
    """The same framing without compression, read by a bare aiohttp client."""
    gateway = gateway_standin.gateway
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(gateway_standin.gateway_url + "?v=10&encoding=json") as ws,
    ):
        hello = await ws.receive_json(timeout=5)
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 0, "properties": {}}})
        session_info = await gateway.wait_connected(5)
        while (await ws.receive_json(timeout=5)).get("t") != "GUILD_CREATE":
            pass
        gateway.pause()
        for n in range(3):
            await gateway.dispatch("TEST_EVENT", {"n": n, "padding": "x" * 200})
        await gateway.flush(pieces=5, gap=0.02)
        received = [await ws.receive_json(timeout=5) for _ in range(3)]
        assert [m["d"]["n"] for m in received] == [0, 1, 2]
        assert [m["s"] for m in received] == [session_info.seq - 2, session_info.seq - 1, session_info.seq]
        await gateway.resume()


def test_ws_frame_encodes_each_length_form() -> None:
    for size, header in ((5, 2), (300, 4), (70_000, 10)):
        frame = ws_frame(0x2, b"z" * size)
        assert frame[0] == 0x82 and len(frame) == header + size
    assert ws_frame(0x1, b"hi") == b"\x81\x02hi"


def test_zlib_stream_messages_stay_separable_in_one_buffer() -> None:
    # What the client relies on when two compressed messages come in one write: each ends with the
    # Z_SYNC_FLUSH suffix, so the stream decodes message by message.
    compressor, inflator = zlib.compressobj(), zlib.decompressobj()
    parts = [
        compressor.compress(json.dumps({"n": n}).encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        for n in (1, 2)
    ]
    assert all(p.endswith(b"\x00\x00\xff\xff") for p in parts)
    assert [json.loads(inflator.decompress(p)) for p in parts] == [{"n": 1}, {"n": 2}]
