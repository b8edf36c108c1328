"""Typed views of VRChat's JSON, parsed liberally.

Every field the bot does not strictly need is optional, and unknown fields are kept (``extra="allow"``)
so a new VRChat field never breaks parsing. Field names are snake_case; aliases map VRChat's camelCase
(and its few snake_case fields such as ``created_at``).

Liberal goes further than missing fields: a field of the wrong type (a number where text belongs, a
list where an object does) is read as text when text fits (a number as its digits; a list or object,
for optional text, as its JSON), else the field takes its default, so one odd value never costs the
whole object. Only what identifies an object (an id, an audit entry's time, a request's user) is
required. A list response skips, and logs, the items that still cannot be read (`parse_items`); an
audit-log page keeps them apart as `UnreadableEntry`s, so the poller can set them aside instead of
failing the page.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import AliasChoices, Field

from .audit_page import EARLIEST, LATEST, MAX_ENTRY_ID, AuditLogEntry, AuditLogPage, UnreadableEntry
from .model_base import VRChatModel, brief_error, parse_items, parse_one

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_ENTRY_ID",
    "AuditLogEntry",
    "AuditLogPage",
    "CurrentUser",
    "Group",
    "GroupInstance",
    "GroupMember",
    "GroupMemberUser",
    "GroupPost",
    "GroupRole",
    "Instance",
    "JoinRequestAction",
    "LimitedUser",
    "MemberSort",
    "PostVisibility",
    "UnreadableEntry",
    "User",
    "UserGroup",
    "UserGroupInstances",
    "UserStatus",
    "VRChatModel",
    "World",
    "brief_error",
    "parse_items",
    "parse_one",
]


class UserStatus(StrEnum):
    """The spec's UserStatus enum; the only values PUT /users/{id} accepts for `status`."""

    ACTIVE = "active"
    JOIN_ME = "join me"
    ASK_ME = "ask me"
    BUSY = "busy"
    OFFLINE = "offline"


class PostVisibility(StrEnum):
    GROUP = "group"
    PUBLIC = "public"


class JoinRequestAction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class MemberSort(StrEnum):
    """The spec's GroupSearchSort: the orders GET /groups/{id}/members can list members in."""

    JOINED_ASC = "joinedAt:asc"
    JOINED_DESC = "joinedAt:desc"  # VRChat's default


class CurrentUser(VRChatModel):
    id: str
    display_name: str = ""
    username: str | None = None
    status: str | None = None
    status_description: str | None = None
    bio: str | None = None
    bio_links: list[str] = Field(default_factory=list)
    pronouns: str | None = None
    tags: list[str] = Field(default_factory=list)


class User(VRChatModel):
    id: str
    display_name: str = ""
    bio: str | None = None
    bio_links: list[str] = Field(default_factory=list)
    pronouns: str | None = None
    status: str | None = None
    status_description: str | None = None
    tags: list[str] = Field(default_factory=list)
    age_verification_status: str | None = None
    date_joined: date | None = Field(default=None, alias="date_joined")
    current_avatar_thumbnail_image_url: str | None = None
    profile_pic_override: str | None = None
    user_icon: str | None = None


class LimitedUser(VRChatModel):
    """A search result: fewer fields than User."""

    id: str
    display_name: str = ""
    bio: str | None = None
    status: str | None = None
    tags: list[str] = Field(default_factory=list)
    current_avatar_thumbnail_image_url: str | None = None
    profile_pic_override: str | None = None
    user_icon: str | None = None


class GroupRole(VRChatModel):
    id: str
    group_id: str | None = None
    name: str = ""
    description: str | None = None
    permissions: list[str] = Field(default_factory=list)
    is_management_role: bool | None = None
    is_self_assignable: bool | None = None
    requires_two_factor: bool | None = None
    order: int | None = None


class Group(VRChatModel):
    id: str
    name: str = ""
    short_code: str | None = None
    discriminator: str | None = None
    description: str | None = None
    owner_id: str | None = None
    member_count: int | None = None
    privacy: str | None = None
    join_state: str | None = None
    icon_url: str | None = None
    roles: list[GroupRole] | None = None


class GroupMemberUser(VRChatModel):
    id: str | None = None
    display_name: str | None = None
    thumbnail_url: str | None = None
    icon_url: str | None = None
    profile_pic_override: str | None = None
    current_avatar_thumbnail_image_url: str | None = None


class GroupMember(VRChatModel):
    """A membership row; also the shape of join requests, invites and bans."""

    id: str | None = None
    group_id: str | None = None
    user_id: str
    membership_status: str | None = None
    role_ids: list[str] = Field(default_factory=list)
    joined_at: datetime | None = None
    created_at: datetime | None = None
    banned_at: datetime | None = None
    user: GroupMemberUser | None = None


class GroupPost(VRChatModel):
    id: str
    group_id: str | None = None
    author_id: str | None = None
    title: str = ""
    text: str = ""
    visibility: str | None = None
    # VRChat answers `roleId` (a list) even though the request field is `roleIds`.
    role_ids: list[str] = Field(default_factory=list, validation_alias=AliasChoices("roleId", "roleIds"))
    created_at: datetime | None = None


class World(VRChatModel):
    id: str | None = None
    name: str = ""
    capacity: int | None = None
    thumbnail_image_url: str | None = None


class GroupInstance(VRChatModel):
    """GET /groups/{id}/instances: a slim view of an open instance."""

    instance_id: str
    location: str
    member_count: int | None = None
    world: World | None = None
    # Not in the spec's GroupInstance; read when VRChat sends it (bot.vrchat.instances.is_age_gated).
    age_gate: bool | None = None


class Instance(VRChatModel):
    """GET /users/{id}/instances/groups: the full instance object."""

    id: str | None = None
    instance_id: str | None = None
    location: str | None = None
    world_id: str | None = None
    world: World | None = None
    name: str | None = None
    display_name: str | None = None
    region: str | None = None
    type: str | None = None
    n_users: int | None = Field(default=None, alias="n_users")
    user_count: int | None = None
    capacity: int | None = None
    queue_size: int | None = None
    queue_enabled: bool | None = None
    age_gate: bool | None = None
    owner_id: str | None = None
    group_access_type: str | None = None


class UserGroupInstances(VRChatModel):
    fetched_at: datetime | None = None
    instances: list[Instance] = Field(default_factory=list)


class UserGroup(VRChatModel):
    """One entry of GET /users/{id}/groups. Note: `id` is the membership (gmem_) and `group_id` the group."""

    id: str | None = None
    group_id: str | None = None
    name: str = ""
    short_code: str | None = None
    discriminator: str | None = None
    member_count: int | None = None
    mutual_group: bool | None = None
    icon_url: str | None = None
    privacy: str | None = None
