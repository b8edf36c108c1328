"""The simulator's data: users and groups, lookups, and the silent seeding helpers.

``add_*`` methods seed data without audit entries, as if it had existed before the test.  The
audited actions the API performs live in ``state.SimState``, which extends this class.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from .models import (
    MODERATOR_PERMISSIONS,
    SimAuditEntry,
    SimGroup,
    SimInstance,
    SimMembership,
    SimPost,
    SimRole,
    SimUser,
    SimWorld,
    new_id,
    utc_now,
)


class SimStore:
    """All simulator data, lookups and the silent seeding helpers (``add_*``)."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self.users: dict[str, SimUser] = {}
        self.groups: dict[str, SimGroup] = {}
        self.worlds: dict[str, SimWorld] = {}  # every world an instance ran in, or seeded (add_world)
        self.closed_instances: dict[str, SimInstance] = {}  # by location, after closeInstance
        self._seq = itertools.count()

    # ----------------------------------------------------------------- lookups
    def user(self, user_id: str) -> SimUser | None:
        """The user with that id, or None (the API turns None into a 404)."""
        return self.users.get(user_id)

    def group(self, group_id: str) -> SimGroup | None:
        """The group with that id, or None (the API turns None into a 404)."""
        return self.groups.get(group_id)

    def _group(self, group_id: str) -> SimGroup:
        try:
            return self.groups[group_id]
        except KeyError:
            raise KeyError(f"unknown group {group_id!r}") from None

    def _user(self, user_id: str) -> SimUser:
        try:
            return self.users[user_id]
        except KeyError:
            raise KeyError(f"unknown user {user_id!r}") from None

    def find_login(self, login: str) -> SimUser | None:
        """Resolve the Basic-auth name: username (case-insensitive) like VRChat."""
        wanted = login.casefold()
        for user in self.users.values():
            if user.username is not None and user.username.casefold() == wanted:
                return user
        return None

    def display_name(self, user_id: str) -> str:
        """Display name for audit entries; falls back to the id for unknown users."""
        user = self.users.get(user_id)
        return user.display_name if user else user_id

    def membership(self, group_id: str, user_id: str) -> SimMembership | None:
        """The (group, user) record whatever its status, or None."""
        return self._group(group_id).memberships.get(user_id)

    def is_member(self, group_id: str, user_id: str) -> bool:
        """True when the user is a full member of the group."""
        record = self.membership(group_id, user_id)
        return record is not None and record.status == "member"

    def permissions(self, group_id: str, user_id: str) -> list[str]:
        """Effective group permissions: ``*`` for the owner, else the union of role permissions."""
        group = self._group(group_id)
        if group.owner_id == user_id:
            return ["*"]
        record = group.memberships.get(user_id)
        if record is None or record.status != "member":
            return []
        perms: list[str] = []
        for role_id in record.role_ids:
            role = group.roles.get(role_id)
            if role is not None:
                perms.extend(p for p in role.permissions if p not in perms)
        return perms

    def has_permission(self, group_id: str, user_id: str, permission: str) -> bool:
        """The simple model the simulator enforces: owner, ``*``, or the named permission."""
        perms = self.permissions(group_id, user_id)
        return "*" in perms or permission in perms

    def members(
        self, group_id: str, *, status: str = "member", newest_first: bool = True
    ) -> list[SimMembership]:
        """Records in a status ordered by join (or creation) time, ties by insertion order."""
        records = self._group(group_id).with_status(status)
        records.sort(key=lambda m: (m.joined_at or m.banned_at or m.created_at, m.seq), reverse=newest_first)
        return records

    def audit(self, group_id: str) -> list[SimAuditEntry]:
        """The group's audit log, newest first."""
        return self._group(group_id).audit_log.newest_first()

    # ----------------------------------------------------------------- seeding
    def add_user(
        self,
        display_name: str,
        *,
        username: str | None = None,
        password: str | None = None,
        totp_secret: str | None = None,
        email_otp: str | None = None,
        recovery_codes: Iterable[str] = (),
        bio: str = "",
        tags: Iterable[str] = (),
        age_verification_status: str = "hidden",
        pronouns: str = "",
        date_joined: date | None = None,
        user_id: str | None = None,
    ) -> SimUser:
        """Create an account; give it username+password to let it log in."""
        user = SimUser(
            id=user_id or new_id("usr"),
            display_name=display_name,
            username=username,
            password=password,
            totp_secret=totp_secret,
            email_otp=email_otp,
            recovery_codes=list(recovery_codes),
            bio=bio,
            tags=list(tags),
            age_verification_status=age_verification_status,
            pronouns=pronouns,
            date_joined=date_joined or self.clock().date(),
        )
        if user.id in self.users:
            raise ValueError(f"duplicate user id {user.id!r}")
        self.users[user.id] = user
        return user

    def add_group(
        self,
        name: str,
        *,
        short_code: str,
        discriminator: str = "0000",
        owner_id: str,
        description: str = "",
        rules: str = "",
        join_state: str = "request",
        privacy: str = "default",
        group_id: str | None = None,
    ) -> SimGroup:
        """Create a group; the owner becomes its first member (VRChat does the same)."""
        self._user(owner_id)
        now = self.clock()
        group = SimGroup(
            id=group_id or new_id("grp"),
            name=name,
            short_code=short_code,
            discriminator=discriminator,
            owner_id=owner_id,
            description=description,
            rules=rules,
            join_state=join_state,
            privacy=privacy,
            created_at=now,
            updated_at=now,
        )
        self.groups[group.id] = group
        self._put_record(group, owner_id, "member", joined_at=now)
        return group

    def add_role(
        self,
        group_id: str,
        name: str,
        *,
        moderator: bool = False,
        permissions: Iterable[str] | None = None,
        description: str = "",
        order: int | None = None,
        role_id: str | None = None,
    ) -> SimRole:
        """Create a role; ``moderator=True`` grants MODERATOR_PERMISSIONS unless given explicitly."""
        group = self._group(group_id)
        if permissions is None:
            permissions = MODERATOR_PERMISSIONS if moderator else ()
        role = SimRole(
            id=role_id or new_id("grol"),
            group_id=group_id,
            name=name,
            description=description,
            permissions=list(permissions),
            is_management_role=moderator,
            order=len(group.roles) + 1 if order is None else order,
        )
        group.roles[role.id] = role
        return role

    def _put_record(self, group: SimGroup, user_id: str, status: str, **fields: Any) -> SimMembership:
        """Create or overwrite the single (group, user) record, keeping its member id."""
        existing = group.memberships.get(user_id)
        record = SimMembership(
            id=existing.id if existing else new_id("gmem"),
            group_id=group.id,
            user_id=user_id,
            status=status,
            seq=next(self._seq),
            created_at=self.clock(),
        )
        for key, value in fields.items():
            setattr(record, key, value)
        group.memberships[user_id] = record
        return record

    def add_member(
        self, group_id: str, user_id: str, role_ids: Iterable[str] = (), *, joined_at: datetime | None = None
    ) -> SimMembership:
        """Make the user a full member holding the given roles."""
        group = self._group(group_id)
        self._user(user_id)
        roles = list(role_ids)
        for role_id in roles:
            if role_id not in group.roles:
                raise KeyError(f"unknown role {role_id!r} in group {group_id!r}")
        return self._put_record(group, user_id, "member", role_ids=roles, joined_at=joined_at or self.clock())

    def add_join_request(self, group_id: str, user_id: str, *, blocked: bool = False) -> SimMembership:
        """A pending join request (or, with ``blocked``, one the group has blocked)."""
        self._user(user_id)
        return self._put_record(self._group(group_id), user_id, "userblocked" if blocked else "requested")

    def add_invite(self, group_id: str, user_id: str) -> SimMembership:
        """An outstanding invite."""
        self._user(user_id)
        return self._put_record(self._group(group_id), user_id, "invited")

    def add_ban(self, group_id: str, user_id: str, *, banned_at: datetime | None = None) -> SimMembership:
        """A ban that already exists."""
        self._user(user_id)
        return self._put_record(self._group(group_id), user_id, "banned", banned_at=banned_at or self.clock())

    def add_instance(
        self,
        group_id: str,
        world_name: str,
        region: str = "us",
        capacity: int = 32,
        *,
        n_users: int = 0,
        access_type: str = "members",
        world_id: str | None = None,
        instance_name: str | None = None,
        age_gate: bool = False,
        role_ids: Iterable[str] = (),
    ) -> SimInstance:
        """A running group instance in a (generated, or the known) world."""
        group = self._group(group_id)
        name = instance_name or f"{len(group.instances) + 10000 + next(self._seq) % 89999}"
        world = self.worlds.get(world_id or "") or self.add_world(
            world_name, capacity, world_id=world_id, author_id=group.owner_id
        )
        instance = SimInstance(
            instance_id=f"{name}~group({group_id})~groupAccessType({access_type})~region({region})",
            name=name,
            world=world,
            group_id=group_id,
            region=region,
            capacity=capacity,
            n_users=n_users,
            access_type=access_type,
            age_gate=age_gate,
            role_ids=list(role_ids),
        )
        group.instances.append(instance)
        return instance

    def add_world(
        self, name: str, capacity: int = 32, *, world_id: str | None = None, author_id: str | None = None
    ) -> SimWorld:
        """A world instances can be opened in (POST /instances answers 404 for any other)."""
        author = author_id or next(iter(self.users), "usr_00000000-0000-0000-0000-000000000000")
        world = SimWorld(
            id=world_id or new_id("wrld"),
            name=name,
            author_id=author,
            author_name=self.display_name(author),
            capacity=capacity,
        )
        self.worlds[world.id] = world
        return world

    def add_post(
        self,
        group_id: str,
        author_id: str,
        title: str,
        text: str,
        *,
        visibility: str = "group",
        role_ids: Iterable[str] = (),
        created_at: datetime | None = None,
    ) -> SimPost:
        """A post that already exists (no audit entry)."""
        group = self._group(group_id)
        moment = created_at or self.clock()
        post = SimPost(
            id=new_id("not"),
            group_id=group_id,
            author_id=author_id,
            title=title,
            text=text,
            visibility=visibility,
            role_ids=list(role_ids),
            created_at=moment,
            updated_at=moment,
        )
        group.posts[post.id] = post
        return post

    def add_audit_entry(
        self,
        group_id: str,
        event_type: str,
        actor_id: str,
        target_id: str,
        description: str,
        data: dict[str, Any] | None = None,
        created_at: datetime | None = None,
    ) -> SimAuditEntry:
        """Append one audit entry (O(1)); used by the actions and to seed history."""
        entry = SimAuditEntry(
            id=new_id("gaud"),
            group_id=group_id,
            event_type=event_type,
            actor_id=actor_id,
            actor_display_name=self.display_name(actor_id),
            target_id=target_id,
            description=description,
            data=dict(data or {}),
            created_at=created_at or self.clock(),
        )
        self._group(group_id).audit_log.append(entry)
        return entry

    def inject_unchecked_audit_entry(
        self, group_id: str, unchecked_json: Any, created_at: datetime | None = None
    ) -> SimAuditEntry:
        """Test-only: an audit entry served as ``unchecked_json`` (a dict: over an ordinary entry's
        JSON, ``render.DROP`` removing a key; anything else: instead of it), not validated against
        the spec. It keeps its place in the log by ``created_at`` whatever it claims on the wire."""
        entry = self.add_audit_entry(group_id, "group.update", "", group_id, "", created_at=created_at)
        entry.unchecked_json = unchecked_json
        return entry
