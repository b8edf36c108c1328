"""Guilds, roles and members as the gateway and interactions present them.

Permissions follow Discord's guild-level rule: the @everyone role (id == guild id) OR every role
the member has; the owner and anyone with Administrator get every permission.  Roles are ranked by
``position`` (@everyone 0, then 1..n, kept contiguous; higher is more powerful): a member's highest
role decides which roles they may hand out (``StandInGuild.top_position``).  Channel overwrites
are not modelled; ``StandInMember.permissions_override`` stands in for them when a test needs a
member whose effective permissions differ from their roles.  Permissions travel as decimal
*strings* (Discord's wire format; discord.py parses ``member["permissions"]`` into
``Interaction.permissions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .models import StandInChannel, StandInUser, iso_timestamp

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MODERATE_MEMBERS = 1 << 40
ALL_PERMISSIONS = (1 << 51) - 1  # every bit Discord defines today, and a few spare

# What a new guild's @everyone role grants (close to Discord's defaults; no moderation bits).
DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
)
# The bot's managed role: what a typical invite link for a posting bot asks for.
DEFAULT_BOT_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY


@dataclass
class StandInRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed_by_bot: int | None = None  # the bot's own integration role carries tags.bot_id
    integration_id: int | None = None  # another integration's role (Twitch, a linked role app...)

    @property
    def managed(self) -> bool:
        """Held only through an integration: nobody, however high, can give or take it."""
        return self.managed_by_bot is not None or self.integration_id is not None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.managed_by_bot is not None:
            payload["tags"] = {"bot_id": str(self.managed_by_bot)}
        elif self.integration_id is not None:
            payload["tags"] = {"integration_id": str(self.integration_id)}
        return payload


@dataclass
class StandInMember:
    """A user in a guild; ``permissions`` is their computed guild-level permission integer."""

    guild_id: int
    user: StandInUser
    role_ids: tuple[int, ...]
    joined_at: float
    permissions: int = 0
    permissions_override: int | None = None
    nick: str | None = None

    @property
    def id(self) -> int:
        return self.user.id

    def to_payload(self, *, with_permissions: bool) -> dict[str, Any]:
        """A guild member object; interactions (and resolved data) add ``permissions``."""
        payload: dict[str, Any] = {
            "user": self.user.to_payload(),
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": iso_timestamp(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_permissions:
            payload["permissions"] = str(self.permissions)
        return payload


@dataclass
class StandInGuild:
    id: int
    name: str
    owner_id: int
    created_at: float
    roles: dict[int, StandInRole] = field(default_factory=dict)
    members: dict[int, StandInMember] = field(default_factory=dict)
    bans: dict[int, StandInUser] = field(default_factory=dict)
    # The audit log's entries as Discord keeps them (the spec's AuditLogEntryResponse), oldest first.
    audit_log: list[dict[str, Any]] = field(default_factory=list)
    locale: str = "en-US"

    def ranked_roles(self) -> list[StandInRole]:
        """Every role but @everyone, lowest first (Discord breaks a tie of positions by id)."""
        return sorted((r for r in self.roles.values() if r.id != self.id), key=lambda r: (r.position, -r.id))

    def place_role(self, role: StandInRole, position: int | None) -> list[StandInRole]:
        """Put ``role`` (new or moved) at ``position`` (1 = just above @everyone; None or past the
        top: the top), shifting the others like Discord; returns the roles whose position changed."""
        before = {r.id: r.position for r in self.roles.values()}
        ranked = [r for r in self.ranked_roles() if r.id != role.id]
        index = len(ranked) if position is None else min(max(position, 1), len(ranked) + 1) - 1
        ranked.insert(index, role)
        for number, each in enumerate(ranked, start=1):
            each.position = number
        self.roles[role.id] = role
        return [r for r in ranked if before.get(r.id) != r.position]

    def top_position(self, member: StandInMember) -> int:
        """The position of the member's highest role (0: only @everyone)."""
        held = [self.roles[r].position for r in member.role_ids if r in self.roles and r != self.id]
        return max(held, default=0)

    def permissions_of(self, role_ids: Iterable[int], user_id: int) -> int:
        """Guild-level permissions: @everyone | roles; owner and Administrator get everything."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.roles[self.id].permissions if self.id in self.roles else 0
        for role_id in role_ids:
            role = self.roles.get(role_id)
            if role is not None:
                value |= role.permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def refresh_permissions(self) -> None:
        """Recompute every member's permissions (after a role was added or changed)."""
        for member in self.members.values():
            computed = self.permissions_of(member.role_ids, member.id)
            override = member.permissions_override
            member.permissions = computed if override is None else override

    def create_payload(self, channels: Iterable[StandInChannel], bot_id: int) -> dict[str, Any]:
        """GUILD_CREATE's data: a full guild with channels and roles.

        Like Discord without the GUILD_PRESENCES intent, ``members`` holds only the bot's own
        member; the rest arrive through member chunking (op 8) when the client asks for them.
        """
        channel_payloads = []
        for channel in channels:
            payload = channel.to_payload()
            payload.pop("guild_id", None)  # GUILD_CREATE channels omit it; discord.py fills it in
            channel_payloads.append(payload)
        bot_member = self.members.get(bot_id)
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "features": [],
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.locale,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "roles": [r.to_payload() for r in sorted(self.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "stickers": [],
            "joined_at": iso_timestamp(bot_member.joined_at if bot_member else self.created_at),
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(self.members),
            "members": [bot_member.to_payload(with_permissions=False)] if bot_member else [],
            "channels": channel_payloads,
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
