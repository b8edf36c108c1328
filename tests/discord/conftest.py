"""The real GroupBridgeBot, on the VRChat simulator and the Discord stand-in, with a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.bot import GroupBridgeBot
from bot.config import Config, load_config_text
from bot.sandbox.discord import DiscordStandIn, InteractionExchange, button_click, slash_command
from bot.store import BindingIn, Store
from bot.vrchat import VRChatClient
from tests.fixtures.discord_gateway import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ID,
    MOD_ROLE_ID,
    REQUESTS_CHANNEL_ID,
    TOKEN,
    connected_bot,
)
from tests.fixtures.vrchat_sim import SeededSim, bot_client

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
    client = bot_client(seeded_sim, tmp_path / "session.json")
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


def component_id(message: object, label: str) -> str:
    """The custom_id of the component labelled `label` (buttons) on a stored stand-in message."""
    found = [c["custom_id"] for c in components(message) if c.get("label") == label]
    assert found, f"no component labelled {label!r}: {components(message)}"
    return found[0]


def answered(exchange: InteractionExchange) -> bool:
    """The user has seen something: a message or modal callback, or a follow-up after a deferral."""
    callback = exchange.callback
    if callback is None:
        return False
    return callback.body["type"] in (4, 7, 9) or bool(exchange.followups)


async def command(
    standin: DiscordStandIn,
    name: str,
    sub: str,
    options: dict[str, Any],
    who: int = MOD_ID,
    *,
    force: bool = False,
) -> InteractionExchange:
    """`/name sub options` by member `who`, once answered; `force` delivers a command the client would
    hide (default_permissions only hides commands)."""
    member = standin.member(GUILD_ID, who)
    exchange = await standin.dispatch_interaction(
        slash_command(name, options, channel_id=FEED_CHANNEL_ID, member=member, subcommand=sub),
        force=force,
    )
    await exchange.wait_for(answered, timeout=10, what="a message for the user")
    return exchange


async def click(
    standin: DiscordStandIn, custom_id: str, message: object, who: int = MOD_ID, **kwargs: Any
) -> InteractionExchange:
    """A click on a component of a stored message (a select with `values=[...]`), not yet answered."""
    member = standin.member(GUILD_ID, who)
    return await standin.dispatch_interaction(button_click(custom_id, message, member=member, **kwargs))


def first_reply(exchange: InteractionExchange) -> dict[str, Any]:
    """The message the user sees first: the callback's own, or the first follow-up after a deferral."""
    callback = exchange.callback
    assert callback is not None
    if callback.body["type"] in (4, 7):
        return callback.body["data"]
    return exchange.followups[0].body


def is_ephemeral(message: dict[str, Any]) -> bool:
    return bool(message.get("flags", 0) & 64)


__all__ = ["card_messages", "click", "command", "component_id", "components", "discord", "first_reply"]


HELPER_ROLE_ID = 1_400_000_000_000_000_002
HELPER_ID = 1_500_000_000_000_000_009
KICK_AND_BAN = 0x2 | 0x4  # moderation bits without Manage Server


@pytest.fixture
def helper(gateway_standin: DiscordStandIn) -> int:
    """A member whose role may kick and ban but lacks Manage Server (added before the bot connects)."""
    gateway_standin.add_role(GUILD_ID, HELPER_ROLE_ID, "Helper", KICK_AND_BAN)
    gateway_standin.add_member(GUILD_ID, HELPER_ID, "helper", (HELPER_ROLE_ID,))
    return HELPER_ID


def assert_messages_disable_mentions(standin: DiscordStandIn, *, ephemeral: bool = False) -> None:
    """Besides the stand-in's own check: every message the bot sent or edited disabled mentions (and,
    with `ephemeral`, every new message was ephemeral; edits keep the message's flags)."""
    checked = 0
    for exchange in standin.exchanges:
        for event in exchange.events:
            body = event.data
            if event.kind in ("callback", "followup", "edit") and ("content" in body or "embeds" in body):
                assert body.get("allowed_mentions") == {"parse": []}, (event.kind, body)
                if ephemeral and event.kind != "edit" and event.type != 7:
                    assert is_ephemeral(body), (event.kind, body)
                checked += 1
    assert checked or not standin.exchanges
