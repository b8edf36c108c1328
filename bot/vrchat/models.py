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

import hashlib
import json
import logging
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .errors import MalformedResponse

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class VRChatModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=False)

    @field_validator("*", mode="wrap")
    @classmethod
    def _liberal(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            field = cls.model_fields.get(info.field_name or "")
            required = field is None or field.is_required()
            # A number where text was expected reads as its digits; a list or object where optional
            # text was expected as its JSON (identifying fields take no JSON: that is no id).
            if isinstance(value, int | float) and not isinstance(value, bool):
                as_text: str | None = str(value)
            elif isinstance(value, list | dict) and not required:
                as_text = json.dumps(value, ensure_ascii=False, default=str)
            else:
                as_text = None
            if as_text is not None:
                try:
                    return handler(as_text)
                except ValidationError:
                    pass
            if field is None or required:
                raise
            return field.get_default(call_default_factory=True)


def brief_error(exc: ValidationError) -> str:
    """The first problem of a validation error in one line, without the input (it can be huge)."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "unreadable"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "value"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def parse_one(model: type[M], data: Any, what: str = "") -> M:
    """`data` as `model`; MalformedResponse (a VRChatError) when even a liberal reading fails."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedResponse(f"unreadable {what or model.__name__}: {brief_error(exc)}") from None


def parse_items(model: type[M], data: Any, what: str = "") -> list[M]:
    """Each item of a JSON list as `model`; items that cannot be read are logged and skipped, so one
    broken item never costs the others. Anything but a list reads as no items."""
    out: list[M] = []
    for index, item in enumerate(data if isinstance(data, list) else []):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            log.info(
                "Skipped unreadable %s #%d from VRChat: %s", what or model.__name__, index, brief_error(exc)
            )
    return out


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


EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)
MAX_ENTRY_ID = 200  # longer "ids" are not VRChat's: such an entry is unreadable, keyed by a digest


class AuditLogEntry(VRChatModel):
    id: str = Field(min_length=1, max_length=MAX_ENTRY_ID)
    group_id: str | None = None
    created_at: datetime = Field(alias="created_at")
    event_type: str = ""
    actor_id: str | None = None
    actor_display_name: str | None = None
    target_id: str | None = None
    description: str = ""
    # VRChat documents no shape for it; anything but an object is kept as {"value": ...}.
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        # Beyond these a poller's arithmetic (overlap windows) would overflow; VRChat has no such entries.
        if not EARLIEST.year <= value.year <= LATEST.year:
            raise ValueError(f"implausible time {value.isoformat()}")
        return value

    @field_validator("data", mode="before")
    @classmethod
    def _data_object(cls, value: Any) -> Any:
        if value is None:
            return {}
        return value if isinstance(value, dict) else {"value": value}


class UnreadableEntry(BaseModel):
    """An audit-log entry not even a liberal reading could make sense of (no id, no usable time...).

    `raw` is what VRChat sent (already made safe); `position` its index in the page's results, so it
    can be set aside in its place; `key` identifies it: its own id when it has a usable one, else a
    digest of its content, the same on every poll.
    """

    raw: Any
    reason: str
    position: int
    key: str
    id: str | None = None
    created_at: datetime | None = None
    event_type: str | None = None

    @classmethod
    def of(cls, raw: Any, reason: str, position: int) -> UnreadableEntry:
        fields = raw if isinstance(raw, dict) else {}
        own_id = fields.get("id")
        usable = own_id if isinstance(own_id, str) and 0 < len(own_id) <= MAX_ENTRY_ID else None
        digest = hashlib.sha256(
            json.dumps(raw, sort_keys=True, ensure_ascii=True, default=str).encode()
        ).hexdigest()[:32]
        event_type = fields.get("eventType")
        return cls(
            raw=raw,
            reason=reason,
            position=position,
            key=usable or f"unreadable:{digest}",
            id=usable,
            created_at=_moment(fields.get("created_at")),
            event_type=event_type if isinstance(event_type, str) and event_type else None,
        )


class _Moment(BaseModel):
    at: datetime


def _moment(value: Any) -> datetime | None:
    """A plausible time from a value, or None."""
    if value is None:
        return None
    try:
        moment = _Moment(at=value).at
    except ValidationError:
        return None
    return moment if EARLIEST.year <= moment.year <= LATEST.year else None


class AuditLogPage(VRChatModel):
    """One page of the log. `results` holds the entries that could be read; `unreadable` the others,
    each with its position in the page (`in_order` puts both back in VRChat's order)."""

    results: list[AuditLogEntry] = Field(default_factory=list)
    unreadable: list[UnreadableEntry] = Field(default_factory=list)
    total_count: int | None = None
    has_next: bool = False

    @model_validator(mode="before")
    @classmethod
    def _split_results(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "unreadable" in data:
            return data
        items = data.get("results")
        if not isinstance(items, list):
            return data
        readable: list[AuditLogEntry] = []
        unreadable: list[UnreadableEntry] = []
        for position, item in enumerate(items):
            try:
                readable.append(AuditLogEntry.model_validate(item))
            except ValidationError as exc:
                unreadable.append(UnreadableEntry.of(item, brief_error(exc), position))
        return {**data, "results": readable, "unreadable": unreadable}

    @property
    def size(self) -> int:
        """How many entries VRChat sent in this page, readable or not (what paging counts)."""
        return len(self.results) + len(self.unreadable)

    def in_order(self) -> list[AuditLogEntry | UnreadableEntry]:
        """Every entry of the page in VRChat's order (newest first)."""
        out: list[AuditLogEntry | UnreadableEntry] = list(self.results)
        for item in self.unreadable:  # positions ascend, so each insert lands where it came from
            out.insert(item.position, item)
        return out


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
