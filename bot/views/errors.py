"""The error funnel for slash commands, buttons and modals: a short, specific, ephemeral message for
the user, the traceback in the log, never in Discord.

Known errors carry a sentence meant for a moderator (service errors, bad references, VRChat refusals);
anything else is a bug: the user is told it was logged, and the log gets the traceback.
"""

from __future__ import annotations

import logging
import re

import discord
from discord import app_commands

from bot.services.common import ServiceError
from bot.text import CONTENT_LIMIT, ZWSP, clip
from bot.views.reply import send_ephemeral
from bot.vrchat import (
    AuthError,
    InvalidReference,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    SessionExpired,
    VRChatError,
)

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on our side; it has been logged for the bot's operator."


def user_message(error: BaseException) -> str | None:
    """The sentence to show for an expected error, or None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, ServiceError | InvalidReference):
        return str(error)
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You are not allowed to use this command here."
    if isinstance(error, app_commands.TransformerError):
        kind = error.type.name.lower().replace("_", " ")
        return f"That is not a valid {kind} here; pick one from the list Discord offers."
    if isinstance(error, SessionExpired):
        return "The bot's VRChat session has expired; the operator needs to run `groupbridge login`."
    if isinstance(error, AuthError):
        return None  # a running bot turns every other login failure into SessionExpired: a bug
    if isinstance(error, RateLimited):
        return "VRChat is rate limiting the bot right now; try again in a few minutes."
    if isinstance(error, OutcomeUnknown):
        return (
            "VRChat did not answer in time; the change may or may not have happened. Check before retrying."
        )
    if isinstance(error, ServerError | MalformedResponse):
        # VRChat failed rather than refused; its "message" may be a gateway's HTML page summary.
        return "VRChat is having trouble right now (it answered with an error); try again in a few minutes."
    if isinstance(error, VRChatError):
        return f"VRChat refused: {error.message}"
    return None


# The bot's own refusals name this server's roles and channels as mentions (who may moderate, which
# channel is linked): with mentions disabled those cannot ping, and they read better than numbers.
_PILL = re.compile(r"<(@&|#)(\d{1,20})>")
_LIVE_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_MENTION_START = re.compile(r"<(?=[@#/:]|a:|t:|id:)")


def _inert(text: str) -> str:
    text = _LIVE_EVERYONE.sub("@" + ZWSP, text)
    text = _MENTION_START.sub("<" + ZWSP, text)
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def inert_sentence(text: str, guild: discord.Guild | None) -> str:
    """A refusal often quotes what the user typed (or VRChat's answer to it), which is user text like
    any other: @everyone/@here and mention syntax are broken and masked links escaped, except pills
    for roles and channels that really are this server's."""
    out, last = [], 0
    for match in _PILL.finditer(text):
        kind, number = match.group(1), int(match.group(2))
        found = (guild.get_role(number) if kind == "@&" else guild.get_channel(number)) if guild else None
        out += [_inert(text[last : match.start()]), match.group(0) if found else _inert(match.group(0))]
        last = match.end()
    return "".join([*out, _inert(text[last:])])


def explain(interaction: discord.Interaction, error: BaseException) -> str:
    """The sentence for the user; a bug is logged with its traceback and gets the generic sentence."""
    message = user_message(error)
    original = getattr(error, "original", error)
    if isinstance(original, MalformedResponse):
        # Not the user's doing and not a refusal: what VRChat sent is worth a look by the operator.
        log.warning(
            "VRChat answered something unreadable in interaction %s: %s",
            interaction.id,
            original,
            exc_info=(type(original), original, original.__traceback__),
        )
    if message is not None:
        # Some refusals quote the user's input whole; a message over Discord's limit would not arrive.
        return clip(inert_sentence(message, interaction.guild), CONTENT_LIMIT)
    log.error(
        "Unhandled error in interaction %s (%s)",
        interaction.id,
        interaction.command.qualified_name if interaction.command else "component",
        exc_info=(type(original), original, original.__traceback__),
    )
    return UNEXPECTED


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    message = explain(interaction, error)
    try:
        await send_ephemeral(interaction, message)
    except discord.HTTPException:
        log.warning("Could not tell the user about an error in interaction %s", interaction.id)


class GroupBridgeTree(app_commands.CommandTree):
    """The command tree whose on_error is the funnel for every slash command."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)
