"""Records the stand-in keeps (channels, messages, attachments, requests) and their wire shapes.

The records hold what Discord stores; ``to_payload`` renders the JSON objects discord.py parses,
so a field discord.py indexes with ``data[...]`` (not ``.get``) is always present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import serving

Clock = Callable[[], float]
"""Seconds since the Unix epoch; overridable so tests can move time (nonce window, buckets)."""

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Discord-shaped ids: milliseconds since the Discord epoch shifted left by 22 bits.

    discord.py derives times from ids (``snowflake_time``, e.g. to pick the delete sub-bucket), so ids
    carry the clock's time; they are also strictly increasing, even when the clock stands still.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> int:
        """A fresh id, greater than every id handed out before."""
        from_clock = max(int(self._clock() * 1000) - DISCORD_EPOCH_MS, 0) << 22
        self._last = max(from_clock, self._last + 1)
        return self._last


def iso_timestamp(moment: float) -> str:
    """ISO 8601 with microseconds and ``+00:00``, the way Discord renders message times."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")


@dataclass
class StandInUser:
    """A user: the bot account (``/users/@me``, author of every message) or a guild member."""

    id: int
    username: str
    bot: bool = True

    def to_payload(self) -> dict[str, Any]:
        """A user object as Discord embeds it in messages and member objects (the spec's UserResponse)."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "primary_guild": None,
        }


@dataclass
class StandInAttachment:
    """A file uploaded with a message; ``data`` is exactly the bytes that arrived."""

    id: int
    filename: str
    data: bytes
    content_type: str | None
    description: str | None = None

    def to_payload(self, url_base: str, channel_id: int) -> dict[str, Any]:
        """Discord's attachment object; ``url`` points back at the stand-in so ``read()`` works."""
        url = f"{url_base}/attachments/{channel_id}/{self.id}/{self.filename}"
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            payload["description"] = self.description
        return payload


@dataclass
class StandInMessage:
    """One message as stored: ``timestamp``/``edited_at`` are clock readings (epoch seconds)."""

    id: int
    channel_id: int
    author_id: int
    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    nonce: str | int | None
    allowed_mentions: dict[str, Any] | None
    attachments: list[StandInAttachment]
    timestamp: float
    tts: bool = False
    flags: int = 0
    edited_at: float | None = None
    deleted: bool = False
    # Interaction responses and follow-ups: Discord marks them as sent by the application webhook.
    message_type: int = 0
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None

    @property
    def ephemeral(self) -> bool:
        """Only the interacting user sees it; channel routes cannot read or edit it."""
        return bool(self.flags & 64)

    def to_payload(self, author: StandInUser, url_base: str, *, with_nonce: bool) -> dict[str, Any]:
        """The message object; Discord only echoes ``nonce`` in the create response, not on fetch."""
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.message_type,
            "channel_id": str(self.channel_id),
            "author": author.to_payload(),
            "content": self.content,
            "timestamp": iso_timestamp(self.timestamp),
            "edited_timestamp": None if self.edited_at is None else iso_timestamp(self.edited_at),
            "tts": self.tts,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.to_payload(url_base, self.channel_id) for a in self.attachments],
            "embeds": self.embeds,
            "pinned": False,
            "flags": self.flags,
            "components": self.components,
        }
        if with_nonce and self.nonce is not None:
            payload["nonce"] = self.nonce
        if self.webhook_id is not None:
            payload["webhook_id"] = payload["application_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        return payload


@dataclass
class StandInChannel:
    """A guild text channel; ``error`` (403/404) makes every call on it fail like Discord."""

    id: int
    guild_id: int
    name: str
    error: int | None = None
    messages: list[StandInMessage] = field(default_factory=list)

    def live_messages(self) -> list[StandInMessage]:
        """Messages not deleted, oldest first (ids are increasing, so list order is id order)."""
        return [m for m in self.messages if not m.deleted]

    def public_messages(self) -> list[StandInMessage]:
        """What channel routes can see: live and not ephemeral."""
        return [m for m in self.messages if not m.deleted and not m.ephemeral]

    def to_payload(self) -> dict[str, Any]:
        """A type-0 guild text channel object, enough for ``Client.fetch_channel``."""
        live = self.public_messages()
        return {
            "id": str(self.id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "parent_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "last_message_id": str(live[-1].id) if live else None,
        }


@dataclass
class RecordedFile:
    """A multipart file part as received (``field`` is e.g. ``files[0]``)."""

    field: str
    filename: str
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class MessageWrite:
    """A message the bot creates or edits, as sent: ``method`` names the request in violations,
    ``at`` is where the message sits in the request body (``("data",)`` in an interaction callback),
    for Discord's error tree."""

    method: str
    body: dict[str, Any]
    files: list[RecordedFile]
    at: tuple[str, ...] = ()


@dataclass
class RecordedRequest(serving.RecordedRequest):
    """What the stand-in received; ``path`` is without ``/api/v10``, ``json`` is the parsed body
    (``payload_json`` for multipart)."""

    files: list[RecordedFile] = field(default_factory=list)
