"""Posting a stored row's message exactly once, across crashes: the watchdog's alerts and the ban cards.

The caller stores the row before anything is posted. Its message is sent with a nonce derived from
the row (`row_nonce`), so Discord collapses a repeat sent within a few minutes into the first message
(discord.py sets enforce_nonce). A crash between the send and storing the message's id leaves the
row unposted in the store, so before posting again the caller asks the channel's recent history for
the bot's own message that names the row (`find_own_message`): Discord keeps a nonce only minutes.
"""

from __future__ import annotations

from collections.abc import Callable

import discord

from bot.feed.pacing import message_nonce


def row_nonce(channel_id: int, row_key: str) -> str:
    """The same nonce on every attempt to post this row in this channel."""
    return message_nonce(channel_id, [row_key])


def has_footer(message: discord.Message, text: str) -> bool:
    return any(embed.footer.text == text for embed in message.embeds)


def custom_ids(message: discord.Message) -> list[str]:
    """The custom_id of every component on the message (buttons and selects carry the row's id)."""
    return [
        getattr(item, "custom_id", None) or ""
        for row in message.components
        for item in getattr(row, "children", ())
    ]


async def find_own_message(
    client: discord.Client,
    channel_id: int,
    names_the_row: Callable[[discord.Message], bool],
    *,
    lookback: int,
) -> int | None:
    """The id of the bot's own recent message that names the row, if the channel has one.

    Only the bot's messages count: anyone can copy a footer. Discord's errors reach the caller.
    """
    if client.user is None:  # not logged in: no message can be known to be ours
        return None
    me = client.user.id
    channel = client.get_partial_messageable(channel_id)
    async for message in channel.history(limit=lookback):
        if message.author.id == me and names_the_row(message):
            return message.id
    return None


async def send_once(
    client: discord.Client,
    channel_id: int,
    *,
    nonce: str,
    embed: discord.Embed,
    allowed_mentions: discord.AllowedMentions,
    content: str | None = None,
    view: discord.ui.View | None = None,
) -> discord.Message:
    """Send the row's message with its nonce (a repeat within minutes is the first message again)."""
    channel = client.get_partial_messageable(channel_id)
    if view is None:
        return await channel.send(
            content=content, embed=embed, allowed_mentions=allowed_mentions, nonce=nonce
        )
    return await channel.send(
        content=content, embed=embed, view=view, allowed_mentions=allowed_mentions, nonce=nonce
    )


__all__ = ["custom_ids", "find_own_message", "has_footer", "row_nonce", "send_once"]
