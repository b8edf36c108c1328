"""Sending feed messages through discord.py, with Discord's answers turned into the outbox's terms."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Protocol

import aiohttp
import discord

from .actions import FEED_ACTIONS_ID, PLACEHOLDER, FeedAction


class SendError(Exception):
    """Base class of what a FeedSender raises."""


class ChannelUnavailable(SendError):
    """403/404: the channel is gone or the bot may not post there. Retrying cannot help."""


class PermanentSendError(SendError):
    """Discord refused this message itself (4xx other than 403/404, 429): resending it is pointless."""


class TransientSendError(SendError):
    """5xx, 429s discord.py gave up on, or a network failure: the same message (same nonce) may be
    sent again later."""


# The renderer writes each entry's gaud_ id into its embed footer (possibly markdown-escaped).
_AUDIT_ID = re.compile(r"gaud\\?_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HISTORY_LOOKBACK = 100  # messages; crash recovery only needs the last few


class FeedSender(Protocol):
    async def send(
        self,
        channel_id: int,
        embeds: Sequence[discord.Embed],
        nonce: str,
        actions: Sequence[FeedAction] = (),
    ) -> int:
        """Post the embeds as one message (with the select of `actions` under it); returns its id."""
        ...

    async def find_delivered(self, channel_id: int, entry_ids: Collection[str]) -> dict[str, int]:
        """Which of these entries the bot already posted in the channel's recent history (id -> message)."""
        ...


class DiscordFeedSender:
    """Posts through a logged-in discord.Client; needs no gateway connection or channel cache."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def send(
        self,
        channel_id: int,
        embeds: Sequence[discord.Embed],
        nonce: str,
        actions: Sequence[FeedAction] = (),
    ) -> int:
        channel = self._client.get_partial_messageable(channel_id)
        try:
            # nonce= makes discord.py set enforce_nonce: a resend after a crash is collapsed by Discord.
            message = await channel.send(
                embeds=list(embeds),
                nonce=nonce,
                allowed_mentions=discord.AllowedMentions.none(),
                view=actions_view(actions) if actions else None,  # type: ignore[arg-type]  # None: no select
            )
        except discord.Forbidden as exc:
            raise ChannelUnavailable(f"the bot may not post in channel {channel_id} ({exc.text})") from None
        except discord.NotFound as exc:
            raise ChannelUnavailable(f"channel {channel_id} does not exist ({exc.text})") from None
        except discord.HTTPException as exc:
            # discord.py waits out a 429 itself but gives up after five in a row and raises it: the
            # message was never taken, so it must wait for the next drain, not be dropped as refused.
            if exc.status >= 500 or exc.status == 429:
                raise TransientSendError(f"Discord answered {exc.status}") from None
            raise PermanentSendError(f"Discord refused the message: {exc.status} {exc.text}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientSendError(f"network error: {type(exc).__name__}") from None
        except (TypeError, ValueError) as exc:
            # discord.py could not even build the request (an embed it cannot encode): nothing was
            # sent, and the same message never will be.
            raise PermanentSendError(
                f"the message could not be encoded: {type(exc).__name__}: {exc}"
            ) from None
        return message.id

    async def find_delivered(self, channel_id: int, entry_ids: Collection[str]) -> dict[str, int]:
        """Discord only collapses a repeated nonce for a few minutes; after a longer outage the
        channel's own history is the record of what was posted before the crash."""
        wanted, found = set(entry_ids), dict[str, int]()
        me = self._client.user.id if self._client.user else None
        channel = self._client.get_partial_messageable(channel_id)
        try:
            async for message in channel.history(limit=HISTORY_LOOKBACK):
                if me is not None and message.author.id != me:
                    continue
                for embed in message.embeds:
                    for match in _AUDIT_ID.finditer(embed.footer.text or ""):
                        entry_id = match.group(0).replace("\\", "")
                        if entry_id in wanted:
                            found.setdefault(entry_id, message.id)
        except discord.Forbidden as exc:
            raise ChannelUnavailable(f"the bot may not read channel {channel_id} ({exc.text})") from None
        except discord.NotFound as exc:
            raise ChannelUnavailable(f"channel {channel_id} does not exist ({exc.text})") from None
        except discord.HTTPException as exc:
            raise TransientSendError(f"Discord answered {exc.status}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientSendError(f"network error: {type(exc).__name__}") from None
        return found


def actions_view(actions: Sequence[FeedAction]) -> discord.ui.View:
    """The select under a feed message. Its clicks are handled by a restart-safe item matching its
    custom_id (bot.desk.actions); the view itself is finished before it is sent, so discord.py keeps
    no copy of it per message."""
    view = discord.ui.View(timeout=None)
    select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
        custom_id=FEED_ACTIONS_ID,
        placeholder=PLACEHOLDER,
        options=[
            discord.SelectOption(label=a.label, value=a.value, description=a.description) for a in actions
        ],
    )
    view.add_item(select)
    view.stop()
    return view
