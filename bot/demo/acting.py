"""The demo's Discord members beyond ``SandboxWorld.click`` and ``command``: wait for the bot's answer,
read what the member saw, pick an option of a select, and go through an "are you sure?".

Everything goes through the stand-in's interaction API, as a Discord client would send it; what is
read back is what the bot sent for that interaction (its callback, follow-ups and edits).
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

from bot.sandbox.discord import InteractionExchange, StandInMessage, button_click
from bot.sandbox.world import GUILD_ID, MOD_ID, SandboxWorld

ALL_REPLIES = ("callback", "followup", "edit")
MARKDOWN_ESCAPE = re.compile(r"\\([\\_*~`|>\[\]()#-])")
WORKING = "Working on it…"  # what a confirmation says until the action's outcome replaces it


def reply_text(exchange: InteractionExchange, kinds: tuple[str, ...] = ALL_REPLIES) -> str:
    """The text the member saw last (content, else the first embed's title)."""
    for event in reversed([e for e in exchange.events if e.kind in kinds and e.ok]):
        data = event.body.get("data", event.body) if event.kind == "callback" else event.body
        if data.get("content"):
            return str(data["content"])
        if data.get("embeds"):
            return str(data["embeds"][0].get("title", ""))
    return "(no reply)"


def shown(text: str) -> str:
    """Bot-sent text for a demo line: as Discord renders its markdown escapes (``usr\\_1`` reads
    ``usr_1``), and never taken for the console's own markup (a link's ``[text]`` stays)."""
    return escape(MARKDOWN_ESCAPE.sub(r"\1", text))


def has_answered(exchange: InteractionExchange) -> bool:
    """A message or a form is shown, or a follow-up came after "thinking…"."""
    callback = exchange.callback
    return callback is not None and (callback.body["type"] in (4, 7, 9) or bool(exchange.followups))


async def answered(exchange: InteractionExchange, timeout: float) -> None:  # noqa: ASYNC109
    await exchange.wait_for(has_answered, timeout=timeout, what="the bot's answer")


async def run_command(
    world: SandboxWorld,
    name: str,
    sub: str,
    options: dict[str, Any],
    who: int,
    timeout: float,  # noqa: ASYNC109 - how long to wait for the answer
) -> InteractionExchange:
    """``/name sub`` typed by ``who``, once the bot has answered it."""
    exchange = await world.command(name, sub, options, who=who)
    await answered(exchange, timeout)
    return exchange


def first_message(exchange: InteractionExchange) -> dict[str, Any]:
    """The message the member saw first: the callback's own, or the first follow-up."""
    callback = exchange.callback
    if callback is not None and callback.body["type"] in (4, 7):
        return dict(callback.body.get("data") or {})
    return exchange.followups[0].body if exchange.followups else {}


async def pick(
    world: SandboxWorld, message: StandInMessage, custom_id: str, value: str, who: int = MOD_ID
) -> InteractionExchange:
    """Member ``who`` picks the option ``value`` of the select ``custom_id`` under ``message``."""
    member = world.discord.member(GUILD_ID, who)
    return await world.discord.dispatch_interaction(
        button_click(custom_id, message, member=member, values=[value])
    )


async def confirm(
    world: SandboxWorld,
    asked: InteractionExchange,
    label: str,
    timeout: float,  # noqa: ASYNC109 - for each wait
) -> str:
    """``asked`` showed an "are you sure?" with a ``label`` button: click it (as the member who asked)
    and return the outcome that replaces "Working on it…"."""
    prompt = (await asked.wait(timeout=timeout)).message
    if prompt is None or not prompt.components:
        raise RuntimeError(f"no confirmation was asked: {reply_text(asked)}")
    who = int(asked.payload["member"]["user"]["id"])
    confirmed = await world.click(prompt, label, who=who)
    await confirmed.wait_for(
        lambda x: bool(x.edits) and reply_text(x) != WORKING, timeout=timeout, what="the outcome"
    )
    return reply_text(confirmed)
