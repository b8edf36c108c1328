"""SimState: the simulator's data plus the audited actions the API performs.

The action methods (``kick``, ``ban``, ``invite``...) are what the HTTP handlers call after
checking permissions and preconditions; each writes an audit entry like VRChat does.  Tests can
call them directly to mimic a moderator acting in VRChat itself, outside the bot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .models import (
    EVENT_INSTANCE_CLOSE,
    EVENT_INSTANCE_CREATE,
    EVENT_INVITE_CANCEL,
    EVENT_INVITE_CREATE,
    EVENT_MEMBER_JOIN,
    EVENT_MEMBER_LEAVE,
    EVENT_MEMBER_REMOVE,
    EVENT_MEMBER_UPDATE,
    EVENT_POST_CREATE,
    EVENT_POST_DELETE,
    EVENT_REQUEST_ACCEPT,
    EVENT_REQUEST_BLOCK,
    EVENT_REQUEST_CREATE,
    EVENT_REQUEST_REJECT,
    EVENT_ROLE_ASSIGN,
    EVENT_ROLE_UNASSIGN,
    EVENT_USER_BAN,
    EVENT_USER_UNBAN,
    USER_STATUSES,
    SimInstance,
    SimMembership,
    SimPost,
    SimUser,
    utc_now,
)
from .store import SimStore

#: Told (group id, user id) when a player asks to join: the simulator's pipeline notifies from it.
JoinRequestListener = Callable[[str, str], None]


class SimState(SimStore):
    """Seed data, lookups and audited actions (see ``SimStore`` for the ``add_*`` helpers)."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(clock)
        self.join_request_listeners: list[JoinRequestListener] = []

    def _user_event(self, group_id: str, event_type: str, actor_id: str, user_id: str, what: str) -> None:
        """An audit entry about a user, described as VRChat does: "<their display name> <what>"."""
        self.add_audit_entry(group_id, event_type, actor_id, user_id, f"{self.display_name(user_id)} {what}")

    def kick(self, group_id: str, user_id: str, actor_id: str) -> None:
        """Remove a member (DELETE /groups/{id}/members/{userId})."""
        del self._group(group_id).memberships[user_id]
        self._user_event(group_id, EVENT_MEMBER_REMOVE, actor_id, user_id, "was removed from the group.")

    def ban(self, group_id: str, user_id: str, actor_id: str) -> SimMembership:
        """Ban a user, member or not; membership ends."""
        record = self.add_ban(group_id, user_id)
        self._user_event(group_id, EVENT_USER_BAN, actor_id, user_id, "was banned from the group.")
        return record

    def unban(self, group_id: str, user_id: str, actor_id: str) -> SimMembership:
        """Lift a ban; the record disappears and is returned as ``inactive``."""
        record = self._group(group_id).memberships.pop(user_id)
        record.status = "inactive"
        self._user_event(group_id, EVENT_USER_UNBAN, actor_id, user_id, "was unbanned from the group.")
        return record

    def invite(self, group_id: str, user_id: str, actor_id: str) -> SimMembership:
        """Invite a user to the group."""
        record = self.add_invite(group_id, user_id)
        self._user_event(group_id, EVENT_INVITE_CREATE, actor_id, user_id, "was invited to the group.")
        return record

    def cancel_invite(self, group_id: str, user_id: str, actor_id: str) -> None:
        """Withdraw an invite."""
        del self._group(group_id).memberships[user_id]
        self.add_audit_entry(
            group_id,
            EVENT_INVITE_CANCEL,
            actor_id,
            user_id,
            f"The invite for {self.display_name(user_id)} was cancelled.",
        )

    def assign_role(self, group_id: str, user_id: str, role_id: str, actor_id: str) -> list[str]:
        """Give a member a role (PUT .../members/{userId}/roles/{groupRoleId}); audited only when it
        changed something. Returns the member's role ids afterwards."""
        return self._change_role(group_id, user_id, role_id, actor_id, give=True)

    def unassign_role(self, group_id: str, user_id: str, role_id: str, actor_id: str) -> list[str]:
        """Take a role from a member (DELETE .../roles/{groupRoleId}); audited only when it changed
        something. Returns the member's role ids afterwards."""
        return self._change_role(group_id, user_id, role_id, actor_id, give=False)

    def _change_role(
        self, group_id: str, user_id: str, role_id: str, actor_id: str, *, give: bool
    ) -> list[str]:
        group = self._group(group_id)
        role = group.roles[role_id]
        record = group.memberships[user_id]
        if (role_id in record.role_ids) != give:
            if give:
                record.role_ids.append(role_id)
            else:
                record.role_ids.remove(role_id)
            name = self.display_name(user_id)
            self.add_audit_entry(
                group_id,
                EVENT_ROLE_ASSIGN if give else EVENT_ROLE_UNASSIGN,
                actor_id,
                user_id,
                f"{name} was given the role {role.name}." if give else f"{name} lost the role {role.name}.",
                {"roleId": role.id, "roleName": role.name},
            )
        return list(record.role_ids)

    def open_instance(
        self,
        group_id: str,
        world_id: str,
        actor_id: str,
        *,
        access_type: str,
        region: str,
        role_ids: Iterable[str] = (),
        age_gate: bool = False,
    ) -> SimInstance:
        """Open a group instance (POST /instances) and audit it; the target is its location."""
        world = self.worlds[world_id]
        instance = self.add_instance(
            group_id,
            world.name,
            region,
            world.capacity,
            access_type=access_type,
            world_id=world_id,
            age_gate=age_gate,
            role_ids=role_ids,
        )
        self.add_audit_entry(
            group_id,
            EVENT_INSTANCE_CREATE,
            actor_id,
            instance.location,
            f"A group instance of {world.name} was opened.",
            {"worldId": world_id, "groupAccessType": access_type, "region": region, "ageGate": age_gate},
        )
        return instance

    def close_instance(self, location: str, actor_id: str) -> SimInstance:
        """Close an open group instance (DELETE /instances/{location}) and audit it."""
        instance = self.open_instance_at(location)
        if instance is None:
            raise KeyError(f"no open instance {location!r}")
        group = self._group(instance.group_id)
        group.instances.remove(instance)
        instance.closed_at = self.clock()
        self.closed_instances[location] = instance
        self.add_audit_entry(
            group.id,
            EVENT_INSTANCE_CLOSE,
            actor_id,
            location,
            f"The group instance of {instance.world.name} was closed.",
            {"worldId": instance.world.id},
        )
        return instance

    def open_instance_at(self, location: str) -> SimInstance | None:
        """The open group instance at `location` (worldId:instanceId), or None."""
        for group in self.groups.values():
            for instance in group.instances:
                if instance.location == location:
                    return instance
        return None

    # --- what players do in VRChat (no moderator involved) ---------------------------------------------

    def edit_profile(
        self,
        user_id: str,
        *,
        bio: str | None = None,
        status_description: str | None = None,
        status: str | None = None,
    ) -> SimUser:
        """A player edits their own profile in VRChat (no API call of the bot's, no audit entry);
        ``GET /users/{id}`` answers the new values from then on. VRChat's own limits apply."""
        user = self._user(user_id)
        if bio is not None and len(bio) > 512:
            raise ValueError(f"VRChat limits a bio to 512 characters, not {len(bio)}")
        if status_description is not None and len(status_description) > 32:
            raise ValueError(
                f"VRChat limits a status description to 32 characters, not {len(status_description)}"
            )
        if status is not None and status not in USER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(USER_STATUSES)}, not {status!r}")
        if bio is not None:
            user.bio = bio
        if status_description is not None:
            user.status_description = status_description
        if status is not None:
            user.status = status
        user.updated_at = self.clock()
        return user

    def request_to_join(self, group_id: str, user_id: str) -> SimMembership:
        """A user asks to join: a pending request, audited with the user as the actor."""
        record = self.add_join_request(group_id, user_id)
        self.add_audit_entry(
            group_id,
            EVENT_REQUEST_CREATE,
            user_id,
            user_id,
            f"{self.display_name(user_id)} requested to join.",
        )
        for listener in list(self.join_request_listeners):
            listener(group_id, user_id)
        return record

    def join(self, group_id: str, user_id: str) -> SimMembership:
        """A user joins an open group (or takes an invite) by themselves."""
        record = self.add_member(group_id, user_id)
        self.add_audit_entry(
            group_id, EVENT_MEMBER_JOIN, user_id, user_id, f"{self.display_name(user_id)} joined."
        )
        return record

    def leave(self, group_id: str, user_id: str) -> None:
        """A member leaves the group by themselves."""
        del self._group(group_id).memberships[user_id]
        self.add_audit_entry(
            group_id, EVENT_MEMBER_LEAVE, user_id, user_id, f"{self.display_name(user_id)} left."
        )

    # --- what moderators do (the API handlers call these) ------------------------------------------------

    def respond_request(
        self, group_id: str, user_id: str, actor_id: str, action: str, block: bool = False
    ) -> None:
        """Accept or reject (optionally block) a pending join request."""
        group = self._group(group_id)
        name = self.display_name(user_id)
        if action == "accept":
            self._put_record(
                group,
                user_id,
                "member",
                joined_at=self.clock(),
                accepted_by_id=actor_id,
                accepted_by_display_name=self.display_name(actor_id),
            )
            self.add_audit_entry(
                group_id, EVENT_REQUEST_ACCEPT, actor_id, user_id, f"Accepted join request from {name}."
            )
        elif block:
            self._put_record(group, user_id, "userblocked")
            self.add_audit_entry(
                group_id, EVENT_REQUEST_BLOCK, actor_id, user_id, f"Blocked join request from {name}."
            )
        else:
            del group.memberships[user_id]
            self.add_audit_entry(
                group_id, EVENT_REQUEST_REJECT, actor_id, user_id, f"Rejected join request from {name}."
            )

    def create_post(
        self,
        group_id: str,
        actor_id: str,
        title: str,
        text: str,
        *,
        visibility: str,
        role_ids: Iterable[str] = (),
    ) -> SimPost:
        """Publish a post and audit it."""
        post = self.add_post(group_id, actor_id, title, text, visibility=visibility, role_ids=role_ids)
        self.add_audit_entry(
            group_id, EVENT_POST_CREATE, actor_id, post.id, f"Post {title!r} was created.", {"title": title}
        )
        return post

    def delete_post(self, group_id: str, post_id: str, actor_id: str) -> None:
        """Delete a post and audit it."""
        post = self._group(group_id).posts.pop(post_id)
        self.add_audit_entry(
            group_id,
            EVENT_POST_DELETE,
            actor_id,
            post_id,
            f"Post {post.title!r} was deleted.",
            {"title": post.title},
        )

    def update_member(
        self, group_id: str, user_id: str, actor_id: str, changes: dict[str, Any]
    ) -> SimMembership:
        """Apply UpdateGroupMemberRequest fields; the audit data records old/new values."""
        record = self._group(group_id).memberships[user_id]
        attrs = {
            "visibility": "visibility",
            "isSubscribedToAnnouncements": "is_subscribed_to_announcements",
            "isSubscribedToEventAnnouncements": "is_subscribed_to_event_announcements",
            "managerNotes": "manager_notes",
        }
        diff: dict[str, Any] = {}
        for key, attr in attrs.items():
            if key in changes and changes[key] != getattr(record, attr):
                diff[key] = {"old": getattr(record, attr), "new": changes[key]}
                setattr(record, attr, changes[key])
        self.add_audit_entry(
            group_id,
            EVENT_MEMBER_UPDATE,
            actor_id,
            user_id,
            f"{self.display_name(user_id)} was updated.",
            diff,
        )
        return record
