"""What the stand-in knows: channels, messages, the nonce index, and the rules for changing them.

Handlers translate HTTP to these calls; everything Discord would refuse raises ``ApiError`` with
Discord's status, JSON error code and message, and is added to ``violations`` when it means the
client sent something Discord rejects (a 403 on a channel set up to refuse is not the client's fault).
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from .guilds import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    StandInGuild,
    StandInMember,
    StandInRole,
)
from .intents import PRIVILEGED
from .limits import check_message
from .models import (
    Clock,
    MessageWrite,
    RecordedFile,
    SnowflakeFactory,
    StandInAttachment,
    StandInChannel,
    StandInMessage,
    StandInUser,
)
from .validation import is_empty, mention_problem

_FILE_FIELD = re.compile(r"files\[(\d+)\]")


class ApiError(Exception):
    """Becomes ``{"message": ..., "code": ...[, "errors": ...]}`` with the HTTP status."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


def unknown_channel() -> ApiError:
    return ApiError(404, 10003, "Unknown Channel")


def unknown_message() -> ApiError:
    return ApiError(404, 10008, "Unknown Message")


class StandInState:
    """Channels and messages of one stand-in, plus the checks Discord applies to them."""

    def __init__(self, *, bot: StandInUser, clock: Clock, nonce_window: float, strict_mentions: bool) -> None:
        self.bot = bot
        self.clock = clock
        self.nonce_window = nonce_window
        self.strict_mentions = strict_mentions
        # Roles a message may ping by name (allowed_mentions.roles = [that one]): set by a test.
        self.allowed_ping_roles: frozenset[int] = frozenset()
        self.snowflakes = SnowflakeFactory(clock)
        self.channels: dict[int, StandInChannel] = {}
        self.guilds: dict[int, StandInGuild] = {}
        self.violations: list[str] = []
        # The Developer Portal's switches: which privileged intents the application may use.
        self.privileged_intents = PRIVILEGED
        # (channel, author, nonce) -> message; Discord de-duplicates per author and channel.
        self._nonces: dict[tuple[int, int, str], StandInMessage] = {}

    # ------------------------------------------------------------ channels
    def add_channel(self, channel_id: int, *, guild_id: int, name: str = "feed") -> StandInChannel:
        """Create a guild text channel the bot can post in."""
        if channel_id in self.channels:
            raise ValueError(f"channel {channel_id} already exists")
        channel = StandInChannel(id=channel_id, guild_id=guild_id, name=name)
        self.channels[channel_id] = channel
        return channel

    # ------------------------------------------------------------ guilds, roles, members
    def add_guild(
        self,
        guild_id: int,
        name: str = "Guild",
        *,
        owner_id: int,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> StandInGuild:
        """A guild with its @everyone role (id == guild id) and the bot as a member with its own
        managed role granting ``bot_permissions``, the way a bot invite creates one. Its channels are
        the ``add_channel``s with this guild_id."""
        if guild_id in self.guilds:
            raise ValueError(f"guild {guild_id} already exists")
        now = self.clock()
        guild = StandInGuild(id=guild_id, name=name, owner_id=owner_id, created_at=now)
        guild.roles[guild_id] = StandInRole(guild_id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS, position=0)
        bot_role = StandInRole(self.snowflakes.next(), self.bot.username, bot_permissions, position=1)
        bot_role.managed_by_bot = self.bot.id
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot.id] = StandInMember(guild_id, self.bot, (bot_role.id,), joined_at=now)
        self.guilds[guild_id] = guild
        guild.refresh_permissions()
        return guild

    def add_role(
        self,
        guild_id: int,
        role_id: int,
        name: str,
        permissions: int = 0,
        *,
        position: int | None = None,
        integration_id: int | None = None,
    ) -> StandInRole:
        """A role; members holding it get ``permissions`` (see ``guilds`` for the permission bits).
        ``position`` None puts it on top (others shift up like Discord); ``integration_id`` makes it
        managed (an integration's role nobody can give or take). No gateway event: for a change the
        bot should see, ``DiscordStandIn.create_role``."""
        guild = self.guilds[guild_id]
        if role_id in guild.roles:
            raise ValueError(f"role {role_id} already exists in guild {guild_id}")
        role = StandInRole(role_id, name, permissions, integration_id=integration_id)
        guild.place_role(role, position)
        guild.refresh_permissions()
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        name: str,
        role_ids: tuple[int, ...] = (),
        *,
        permissions: int | None = None,
        bot: bool = False,
    ) -> StandInMember:
        """A guild member; permissions are computed from @everyone + roles (owner/admin: all) unless
        ``permissions`` overrides them (as a channel overwrite would)."""
        guild = self.guilds[guild_id]
        unknown = [r for r in role_ids if r not in guild.roles]
        if unknown:
            raise ValueError(f"roles {unknown} are not in guild {guild_id}; add_role them first")
        user = StandInUser(id=user_id, username=name, bot=bot)
        member = StandInMember(guild_id, user, tuple(role_ids), joined_at=self.clock())
        member.permissions_override = permissions
        guild.members[user_id] = member
        guild.refresh_permissions()
        return member

    def member(self, guild_id: int, user_id: int) -> StandInMember:
        return self.guilds[guild_id].members[user_id]

    def guild_channels(self, guild_id: int) -> list[StandInChannel]:
        return [c for c in self.channels.values() if c.guild_id == guild_id]

    # ------------------------------------------------------------ channels
    def channel(self, channel_id: int) -> StandInChannel:
        """The channel, or the error Discord would answer for it."""
        channel = self.channels.get(channel_id)
        if channel is None or channel.error == 404:
            raise unknown_channel()
        if channel.error == 403:
            raise ApiError(403, 50013, "Missing Permissions")
        return channel

    def message(self, channel_id: int, message_id: int) -> StandInMessage:
        for message in self.channel(channel_id).public_messages():
            if message.id == message_id:
                return message
        raise unknown_message()

    # ------------------------------------------------------------ checks
    def _validate(self, write: MessageWrite) -> None:
        """Discord's documented message limits."""
        errors = check_message(write.body).nested(write.at)
        if errors:
            self.violations.extend(f"{write.method}: {p}" for p in errors.problems)
            raise ApiError(400, 50035, "Invalid Form Body", errors.tree)

    def _validate_new(self, write: MessageWrite) -> None:
        """A new message: within the limits, and not empty."""
        self._validate(write)
        if is_empty(write.body, len(write.files)):
            raise self._empty(write.method)

    def _check_mentions(self, method: str, body: dict[str, Any]) -> None:
        # Not an error at Discord (it would send and ping), so the message still goes through.
        problem = mention_problem(body, self.allowed_ping_roles) if self.strict_mentions else None
        if problem is not None:
            self.violations.append(f"{method}: mention problem: {problem}")

    def _empty(self, method: str) -> ApiError:
        self.violations.append(f"{method}: empty message (no content, embeds, components or files)")
        return ApiError(400, 50006, "Cannot send an empty message")

    def _new_attachments(self, write: MessageWrite) -> list[Any]:
        """Attachments for uploaded ``files[n]`` parts, named by the body's ``attachments`` entry n."""
        described = {
            str(a.get("id")): a
            for a in write.body.get("attachments") or []
            if isinstance(a, dict) and "id" in a
        }
        out: list[StandInAttachment] = []
        for upload in write.files:
            match = _FILE_FIELD.fullmatch(upload.field)
            if match is None:
                self.violations.append(f"{write.method}: multipart part {upload.field!r} is not files[n]")
                raise ApiError(400, 50035, "Invalid Form Body", {upload.field: {"_errors": []}})
            info = described.get(match.group(1), {})
            filename = info.get("filename") or upload.filename
            out.append(
                StandInAttachment(
                    id=self.snowflakes.next(),
                    filename=filename,
                    data=upload.data,
                    content_type=mimetypes.guess_type(filename)[0] or upload.content_type,
                    description=info.get("description"),
                )
            )
        return out

    # ------------------------------------------------------------ messages
    def create_message(
        self, channel_id: int, body: dict[str, Any], files: list[RecordedFile]
    ) -> tuple[StandInMessage, bool]:
        """Create a message, or return the earlier one with the same nonce (``created`` False)."""
        write = MessageWrite(f"POST /channels/{channel_id}/messages", body, files)
        channel = self.channel(channel_id)
        self._validate_new(write)
        now = self.clock()
        nonce = body.get("nonce")
        key = (channel_id, self.bot.id, str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self._nonces.get(key)
            if earlier is not None and not earlier.deleted and now - earlier.timestamp <= self.nonce_window:
                return earlier, False
        message = self._store(channel, write)
        if nonce is not None:
            self._nonces[key] = message
        return message, True

    def post_message(self, channel_id: int, write: MessageWrite, **extra: Any) -> StandInMessage:
        """Store a message sent through an interaction (callback or follow-up webhook).

        No channel access check: Discord lets an app answer an interaction where it cannot post.
        """
        self._validate_new(write)
        return self._store(self.channels[channel_id], write, **extra)

    def _store(self, channel: StandInChannel, write: MessageWrite, **extra: Any) -> StandInMessage:
        body = write.body
        self._check_mentions(write.method, body)
        message = StandInMessage(
            id=self.snowflakes.next(),
            channel_id=channel.id,
            author_id=self.bot.id,
            content=body.get("content") or "",
            embeds=[{"type": "rich", **e} for e in body.get("embeds") or []],
            components=list(body.get("components") or []),
            nonce=body.get("nonce"),
            allowed_mentions=body.get("allowed_mentions"),
            attachments=self._new_attachments(write),
            timestamp=self.clock(),
            tts=bool(body.get("tts")),
            flags=int(body.get("flags") or 0),
            **extra,
        )
        channel.messages.append(message)
        return message

    def edit_message(
        self, channel_id: int, message_id: int, body: dict[str, Any], files: list[RecordedFile]
    ) -> StandInMessage:
        """Apply the fields present in ``body``; ``attachments`` lists which existing ones stay."""
        write = MessageWrite(f"PATCH /channels/{channel_id}/messages/{message_id}", body, files)
        return self.apply_edit(self.message(channel_id, message_id), write)

    def apply_edit(self, message: StandInMessage, write: MessageWrite) -> StandInMessage:
        """Apply the fields present in the body to a stored message (channel or webhook edit)."""
        self._validate(write)
        body = write.body
        content = (body["content"] or "") if "content" in body else message.content
        embeds = [{"type": "rich", **e} for e in body["embeds"] or []] if "embeds" in body else message.embeds
        components = list(body["components"] or []) if "components" in body else message.components
        attachments = message.attachments
        if "attachments" in body:
            keep = {str(a.get("id")) for a in body["attachments"] or [] if isinstance(a, dict)}
            attachments = [a for a in attachments if str(a.id) in keep]
        attachments = attachments + self._new_attachments(write)
        after = {"content": content, "embeds": embeds, "components": components}
        if is_empty(after, len(attachments)):
            raise self._empty(write.method)
        self._check_mentions(write.method, body)
        message.content, message.embeds, message.components = content, embeds, components
        message.attachments = attachments
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if "flags" in body:
            message.flags = int(body["flags"] or 0)
        message.edited_at = self.clock()
        return message

    def delete_message(self, channel_id: int, message_id: int) -> None:
        self.message(channel_id, message_id).deleted = True

    def list_messages(
        self,
        channel_id: int,
        *,
        limit: int,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[StandInMessage]:
        """Like Discord: newest first; ``after`` gives the ``limit`` messages right after the id."""
        live = self.channel(channel_id).public_messages()  # oldest first
        if before is not None:
            chosen = [m for m in live if m.id < before][-limit:]
        elif after is not None:
            chosen = [m for m in live if m.id > after][:limit]
        elif around is not None:
            older = [m for m in live if m.id < around][-(limit // 2) :] if limit > 1 else []
            rest = [m for m in live if m.id >= around][: limit - len(older)]
            chosen = older + rest
        else:
            chosen = live[-limit:]
        return list(reversed(chosen))
