"""Linking accounts through the real bot: `/link start`, the player editing their profile, Verify."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.bot import GroupBridgeBot
from bot.links.members import DiscordMembers
from bot.links.service import LinkService
from bot.sandbox.discord import DiscordStandIn, InteractionExchange, StandInMessage
from bot.services.common import ActionLog
from tests.discord.conftest import click, command, component_id, first_reply
from tests.fixtures.vrchat_profiles import edit_profile
from tests.fixtures.vrchat_sim import SeededSim

CODE = re.compile(r"`(GB-[^`]+)`")


@dataclass
class Issued:
    code: str
    message: StandInMessage  # the ephemeral reply with the Verify button
    custom_id: str
    text: str


class Clock:
    """A clock the test moves; the link service reads it for expiry and the hourly caps."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def use_clock(bot: GroupBridgeBot, clock: Clock) -> None:
    """The bot's link service, built as the bot builds it, but reading `clock`."""
    bot.links = LinkService(
        bot.vrchat,
        bot.store,
        bot.services.lookups,
        ActionLog(bot.store),
        members=DiscordMembers(bot),
        clock=clock,
    )


async def link_start(standin: DiscordStandIn, vrchat_id: str, who: int) -> Issued:
    exchange = await command(standin, "link", "start", {"user": vrchat_id}, who=who)
    reply = first_reply(exchange)
    found = CODE.search(reply.get("content") or "")
    assert found, reply
    assert exchange.callback is not None and exchange.callback.message is not None
    message = exchange.callback.message
    return Issued(found[1], message, component_id(message, "Verify"), reply["content"])


async def press_verify(standin: DiscordStandIn, issued: Issued, who: int) -> str:
    """What the person who pressed Verify reads in the end."""
    exchange: InteractionExchange = await click(standin, issued.custom_id, issued.message, who=who)
    await exchange.wait_for(lambda ex: bool(ex.followups), timeout=10, what="the outcome of Verify")
    return str(exchange.followups[-1].body.get("content") or "")


async def link_through_bot(standin: DiscordStandIn, seeded: SeededSim, vrchat_id: str, who: int) -> str:
    """The whole flow for `who`, with the code put in the VRChat user's bio; the outcome text."""
    issued = await link_start(standin, vrchat_id, who)
    edit_profile(seeded.sim, vrchat_id, bio=f"Hi! {issued.code}")
    return await press_verify(standin, issued, who)


async def reply_text(
    standin: DiscordStandIn, name: str, sub: str, options: dict[str, object], who: int
) -> str:
    return str(first_reply(await command(standin, name, sub, options, who=who)).get("content") or "")
