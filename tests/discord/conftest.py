"""Helpers to drive the real GroupBridgeBot (tests/fixtures/bridge.py) as moderators do: slash commands,
clicks, the cards and replies they get."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.bot import GroupBridgeBot, install_commands
from bot.sandbox.discord import DiscordStandIn, InteractionExchange, button_click, slash_command
from tests.fixtures.configs import offline_config
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ID,
    REQUESTS_CHANNEL_ID,
)


def offline_command_tree() -> app_commands.CommandTree:
    """The command tree the bot registers, built without a network (what `tree.sync` would send)."""
    bot = GroupBridgeBot(offline_config(), run_feed=False)
    asyncio.run(install_commands(bot))
    return bot.tree


async def post_cards(bot: GroupBridgeBot) -> None:
    """One pass of the join-request loop: a card for each pending request, closed ones updated."""
    await bot.get_cog("JoinRequests").sync_cards()  # type: ignore[union-attr]


async def posted_card(bot: GroupBridgeBot, standin: DiscordStandIn) -> Any:
    """The cards posted, and the one there is (the seeded group has one pending request, Carol's)."""
    await post_cards(bot)
    (card,) = card_messages(standin)
    return card


def components(message: object) -> list[dict]:
    """Every component (button, select) of a stored stand-in message, flattened."""
    rows = getattr(message, "components", []) or []
    return [c for row in rows for c in row.get("components", [])]


# A closed join-request card keeps only its History button (bot.requests.cards.closed_view).
CLOSED_CARD = ["History"]


def labels(message: object) -> list[str]:
    """The labels of a stored stand-in message's buttons, in order."""
    return [str(c.get("label")) for c in components(message)]


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


__all__ = [
    "card_messages",
    "click",
    "command",
    "component_id",
    "components",
    "discord",
    "first_reply",
    "post_cards",
    "posted_card",
]


OTHER_FEED_ID = 1_300_000_000_000_000_009


@pytest.fixture
def other_feed(gateway_standin: DiscordStandIn) -> object:
    """A second text channel, a feed for /bridge link (added before the bot connects)."""
    return gateway_standin.add_channel(OTHER_FEED_ID, guild_id=GUILD_ID, name="feed-two")


async def link(
    standin: DiscordStandIn, group_id: str, feed: object, who: int = ADMIN_ID, **kwargs: Any
) -> InteractionExchange:
    """`/bridge link group feed` by `who` (the server's owner unless told), once answered."""
    return await command(standin, "bridge", "link", {"group": group_id, "feed": feed}, who=who, **kwargs)


HELPER_ROLE_ID = 1_400_000_000_000_000_002
HELPER_ID = 1_500_000_000_000_000_009
KICK_AND_BAN = 0x2 | 0x4  # moderation bits without Manage Server


@pytest.fixture
def helper(gateway_standin: DiscordStandIn) -> int:
    """A member whose role may kick and ban but lacks Manage Server (added before the bot connects)."""
    gateway_standin.add_role(GUILD_ID, HELPER_ROLE_ID, "Helper", KICK_AND_BAN)
    gateway_standin.add_member(GUILD_ID, HELPER_ID, "helper", (HELPER_ROLE_ID,))
    return HELPER_ID


@pytest.fixture
def every_reply_ephemeral_without_mentions(gateway_standin: DiscordStandIn) -> Iterator[None]:
    """After the test: every reply and follow-up the bot sent was ephemeral and disabled mentions
    (`pytestmark = pytest.mark.usefixtures(...)` in a module whose commands answer only their user)."""
    yield
    for exchange in gateway_standin.exchanges:
        for event in exchange.events:
            body = event.data
            if event.kind in ("callback", "followup") and ("content" in body or "embeds" in body):
                assert body.get("allowed_mentions") == {"parse": []}, (event.kind, body)
                assert is_ephemeral(body), (event.kind, body)


@pytest.fixture
def every_message_without_mentions(gateway_standin: DiscordStandIn) -> Iterator[None]:
    """After the test, `assert_messages_disable_mentions` (use with pytest.mark.usefixtures)."""
    yield
    assert_messages_disable_mentions(gateway_standin)


@pytest.fixture
def every_message_ephemeral_without_mentions(gateway_standin: DiscordStandIn) -> Iterator[None]:
    """After the test, `assert_messages_disable_mentions(ephemeral=True)`."""
    yield
    assert_messages_disable_mentions(gateway_standin, ephemeral=True)


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
