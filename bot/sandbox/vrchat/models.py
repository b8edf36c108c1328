"""Plain data records held by the simulator.

They mirror what VRChat stores, not what it sends: the JSON shapes are produced separately in
``render.py`` so that the wire format (and its spec quirks) lives in one place and the records
stay easy to seed from tests.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

# Event types the simulator writes for the actions it implements.  The spec types
# GroupAuditLogEntryType as a free string; these are the values VRChat is known to use.
EVENT_MEMBER_JOIN = "group.member.join"
EVENT_MEMBER_LEAVE = "group.member.leave"
EVENT_MEMBER_REMOVE = "group.member.remove"
EVENT_MEMBER_UPDATE = "group.member.user.update"
EVENT_USER_BAN = "group.user.ban"
EVENT_USER_UNBAN = "group.user.unban"
EVENT_INVITE_CREATE = "group.invite.create"
EVENT_INVITE_CANCEL = "group.invite.cancel"
EVENT_REQUEST_CREATE = "group.request.create"
EVENT_REQUEST_ACCEPT = "group.request.accept"
EVENT_REQUEST_REJECT = "group.request.reject"
EVENT_REQUEST_BLOCK = "group.request.block"
EVENT_POST_CREATE = "group.post.create"
EVENT_POST_DELETE = "group.post.delete"
EVENT_ROLE_ASSIGN = "group.member.role.assign"
EVENT_ROLE_UNASSIGN = "group.member.role.unassign"
EVENT_INSTANCE_CREATE = "group.instance.create"
EVENT_INSTANCE_CLOSE = "group.instance.close"

# The permission PUT/DELETE /groups/{id}/members/{userId}/roles/{groupRoleId} need.
ROLES_ASSIGN = "group-roles-assign"
# The spec's UserStatus enum (what GET /users/{id} may answer as ``status``).
USER_STATUSES = ("active", "ask me", "busy", "join me", "offline")

# Permissions a role created with ``moderator=True`` receives (GroupPermissions enum values).
MODERATOR_PERMISSIONS: tuple[str, ...] = (
    "group-audit-view",
    "group-bans-manage",
    "group-invites-manage",
    "group-members-manage",
    "group-members-remove",
    "group-announcement-manage",
    "group-instance-moderate",
)


def new_id(prefix: str) -> str:
    """VRChat ids are ``<prefix>_<uuid4>``; clients must treat them as opaque strings."""
    return f"{prefix}_{uuid.uuid4()}"


def utc_now() -> datetime:
    """Current UTC time truncated to milliseconds, the precision VRChat puts on the wire.

    Truncating at creation keeps filters consistent: a client that sends back a rendered
    timestamp as ``startDate``/``endDate`` hits exactly the entry it came from.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    """Render a datetime like VRChat: ``2024-01-31T12:00:00.123Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an RFC 3339 date-time (``Z`` or an offset); naive values are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


@dataclass
class SimUser:
    """A VRChat account. ``username``/``password`` are only needed for accounts that log in."""

    id: str
    display_name: str
    username: str | None = None
    password: str | None = None
    totp_secret: str | None = None
    email_otp: str | None = None
    recovery_codes: list[str] = field(default_factory=list)
    bio: str = ""
    bio_links: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    age_verification_status: str = "hidden"
    pronouns: str = ""
    date_joined: date = field(default_factory=lambda: utc_now().date())
    status: str = "active"
    status_description: str = ""
    developer_type: str = "none"
    last_platform: str = "standalonewindows"
    last_login: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    # What ``requiresTwoFactorAuth`` lists at login (empty = no second factor).  Fixed when the
    # account is created so that using up recovery codes does not switch 2FA off.
    two_factor_methods: list[str] = field(default_factory=list)
    # Test-only (see render.unchecked): JSON served in place of (a dict: over) what render produces.
    unchecked_json: Any = None

    def __post_init__(self) -> None:
        if not self.two_factor_methods:
            if self.totp_secret or self.recovery_codes:
                self.two_factor_methods = ["totp", "otp"]
            elif self.email_otp:
                self.two_factor_methods = ["emailOtp"]


@dataclass
class SimRole:
    """A group role; the permission check only looks at ``permissions`` (``*`` = all)."""

    id: str
    group_id: str
    name: str
    description: str = ""
    permissions: list[str] = field(default_factory=list)
    is_management_role: bool = False
    order: int = 0
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)


@dataclass
class SimMembership:
    """One user's relation to one group.

    VRChat keeps a single record per (group, user) whose ``membershipStatus`` moves between
    requested/invited/member/banned/userblocked, so the simulator does the same.
    """

    id: str
    group_id: str
    user_id: str
    status: str
    seq: int
    role_ids: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utc_now)
    joined_at: datetime | None = None
    banned_at: datetime | None = None
    accepted_by_id: str | None = None
    accepted_by_display_name: str | None = None
    manager_notes: str = ""
    visibility: str = "visible"
    is_subscribed_to_announcements: bool = True
    is_subscribed_to_event_announcements: bool = True
    last_post_read_at: datetime | None = None
    # Test-only (see render.unchecked): JSON served in place of (a dict: over) what render produces.
    unchecked_json: Any = None


@dataclass
class SimWorld:
    """The world an instance runs in; rendered as a complete spec ``World``."""

    id: str
    name: str
    author_id: str
    author_name: str
    capacity: int
    created_at: datetime = field(default_factory=utc_now)


@dataclass
class SimInstance:
    """A group instance (``<number>~group(<groupId>)~groupAccessType(...)~region(...)``)."""

    instance_id: str
    name: str
    world: SimWorld
    group_id: str
    region: str
    capacity: int
    n_users: int = 0
    access_type: str = "members"
    created_at: datetime = field(default_factory=utc_now)
    age_gate: bool = False
    role_ids: list[str] = field(default_factory=list)
    closed_at: datetime | None = None  # set by closeInstance (the instance leaves the group's list)

    @property
    def location(self) -> str:
        """``worldId:instanceId``, VRChat's LocationID."""
        return f"{self.world.id}:{self.instance_id}"


@dataclass
class SimPost:
    """A group post (its id is a notification id, ``not_...``)."""

    id: str
    group_id: str
    author_id: str
    title: str
    text: str
    visibility: str = "group"
    role_ids: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    # Test-only (see render.unchecked): JSON served in place of (a dict: over) what render produces.
    unchecked_json: Any = None


@dataclass
class SimAuditEntry:
    """One audit log row; rendered with the snake_case ``created_at`` VRChat uses."""

    id: str
    group_id: str
    event_type: str
    actor_id: str
    actor_display_name: str
    target_id: str
    description: str
    data: dict[str, Any]
    created_at: datetime
    # Test-only (see render.unchecked): JSON served in place of (a dict: over) what render produces.
    unchecked_json: Any = None


class AuditLog:
    """Append-only audit log of one group, kept oldest-first.

    Tests seed thousands of entries, so appends are O(1); out-of-order seeding only marks the
    list unsorted and the next read sorts once (stable, so ties keep insertion order).
    """

    def __init__(self) -> None:
        self._entries: list[SimAuditEntry] = []
        self._sorted = True

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, entry: SimAuditEntry) -> None:
        """Add an entry; O(1) unless it is older than the current newest one."""
        if self._entries and entry.created_at < self._entries[-1].created_at:
            self._sorted = False
        self._entries.append(entry)

    def _ascending(self) -> list[SimAuditEntry]:
        if not self._sorted:
            self._entries.sort(key=lambda e: e.created_at)
            self._sorted = True
        return self._entries

    def newest_first(self) -> list[SimAuditEntry]:
        """Every entry, newest first (a copy)."""
        return self._ascending()[::-1]

    def page(
        self,
        *,
        offset: int,
        n: int,
        start: datetime | None = None,
        end: datetime | None = None,
        actor_ids: set[str] | None = None,
        event_types: set[str] | None = None,
        target_ids: set[str] | None = None,
    ) -> tuple[list[SimAuditEntry], int]:
        """One page newest-first plus the total matching count.

        ``start`` and ``end`` are both inclusive, so a client polling with ``startDate`` set to
        the newest timestamp it has seen gets that entry again and must de-duplicate by id.
        """
        entries = self._ascending()
        lo = 0 if start is None else bisect.bisect_left(entries, start, key=lambda e: e.created_at)
        hi = len(entries) if end is None else bisect.bisect_right(entries, end, key=lambda e: e.created_at)
        if hi <= lo:
            return [], 0
        if not (actor_ids or event_types or target_ids):
            total = hi - lo
            top = hi - offset  # exclusive upper index of the page in ascending order
            bottom = max(lo, top - n)
            page = entries[bottom:top][::-1] if top > lo else []
            return page, total
        matching = [
            e
            for e in reversed(entries[lo:hi])
            if (not actor_ids or e.actor_id in actor_ids)
            and (not event_types or e.event_type in event_types)
            and (not target_ids or e.target_id in target_ids)
        ]
        return matching[offset : offset + n], len(matching)


@dataclass
class SimGroup:
    """A group with everything hanging off it (roles, memberships, posts, instances, audit)."""

    id: str
    name: str
    short_code: str
    discriminator: str
    owner_id: str
    description: str = ""
    rules: str = ""
    join_state: str = "request"
    privacy: str = "default"
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    roles: dict[str, SimRole] = field(default_factory=dict)
    memberships: dict[str, SimMembership] = field(default_factory=dict)
    posts: dict[str, SimPost] = field(default_factory=dict)
    instances: list[SimInstance] = field(default_factory=list)
    audit_log: AuditLog = field(default_factory=AuditLog)

    def with_status(self, status: str) -> list[SimMembership]:
        """Membership records in one status, in insertion order."""
        return [m for m in self.memberships.values() if m.status == status]

    @property
    def member_count(self) -> int:
        """Number of full members (what VRChat reports as ``memberCount``)."""
        return sum(1 for m in self.memberships.values() if m.status == "member")
