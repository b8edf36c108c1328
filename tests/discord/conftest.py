"""The real GroupBridgeBot, on the VRChat simulator and the Discord stand-in, with a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import discord
import pytest

from bot.bot import GroupBridgeBot
from bot.config import Config, load_config_text
from bot.sandbox.discord import DiscordStandIn
from bot.store import BindingIn, Store
from bot.vrchat import Politeness, VRChatClient
from tests.fixtures.discord_gateway import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ROLE_ID,
    REQUESTS_CHANNEL_ID,
    TOKEN,
    connected_bot,
)
from tests.fixtures.vrchat_sim import SeededSim

BotFactory = Callable[[], "asynccontextmanager[GroupBridgeBot]"]


def bot_config(seeded: SeededSim, tmp_path: Path) -> Config:
    text = f"""
[vrchat]
username = "{seeded.username}"
password = "{seeded.password}"
totp_secret = "{seeded.totp_secret}"
user_agent = "GroupBridge-tests/0.1 (tests@groupbridge.net)"
base_url = "{seeded.sim.base_url}"
session_file = "{tmp_path / "session.json"}"

[discord]
token = "{TOKEN}"
guild_ids = [{GUILD_ID}]

[database]
url = "sqlite+aiosqlite:///{tmp_path / "bot.db"}"

[[groups]]
id = "{seeded.group.id}"
name = "Test Group"
"""
    return load_config_text(text)


@pytest.fixture
async def bot_store(tmp_path: Path, seeded_sim: SeededSim) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await store.upgrade()
    await store.add_binding(
        BindingIn(
            group_id=seeded_sim.group.id,
            guild_id=GUILD_ID,
            feed_channel_id=FEED_CHANNEL_ID,
            requests_channel_id=REQUESTS_CHANNEL_ID,
            moderator_role_ids=(MOD_ROLE_ID,),
        )
    )
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def bot_vrchat(seeded_sim: SeededSim, tmp_path: Path) -> AsyncIterator[VRChatClient]:
    client = VRChatClient(
        base_url=seeded_sim.sim.base_url,
        user_agent="GroupBridge-tests/0.1 (tests@groupbridge.net)",
        session_path=tmp_path / "session.json",
        username=seeded_sim.username,
        password=seeded_sim.password,
        totp_secret=seeded_sim.totp_secret,
        politeness=Politeness(requests_per_second=200, burst=20, base_backoff=0.01, timeout=5),
    )
    async with client:
        await client.login()
        yield client


@pytest.fixture
def make_bot(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    bot_store: Store,
    bot_vrchat: VRChatClient,
    tmp_path: Path,
):
    """`async with make_bot() as bot:` a connected GroupBridgeBot; a second call is a restarted bot."""
    config = bot_config(seeded_sim, tmp_path)

    @asynccontextmanager
    async def factory() -> AsyncIterator[GroupBridgeBot]:
        bot = GroupBridgeBot(config, bot_vrchat, bot_store, run_feed=False)
        async with connected_bot(gateway_standin, bot) as connected:
            yield connected

    return factory


def components(message: object) -> list[dict]:
    """Every component (button, select) of a stored stand-in message, flattened."""
    rows = getattr(message, "components", []) or []
    return [c for row in rows for c in row.get("components", [])]


def card_messages(standin: DiscordStandIn) -> list:
    return [m for m in standin.messages(REQUESTS_CHANNEL_ID) if m.embeds]


__all__ = ["card_messages", "components", "discord"]
