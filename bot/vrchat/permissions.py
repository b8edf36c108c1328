"""The group permissions the bot relies on, and the bot account's own standing in a group.

VRChat tells the caller of `GET /groups/{groupId}` its own `membershipStatus` and, for a member,
`myMember.permissions` (values of the spec's `GroupPermissions` enum, or `*` for all of them). One
place knows which of them the bot needs for what, so that the dry run, `/bridge link`, `/bridge
status` and the poller's log say the same thing about a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .models import Group, GroupRole

AUDIT_VIEW: Final = "group-audit-view"  # GET /groups/{id}/auditLogs: the feed
INVITES_MANAGE: Final = "group-invites-manage"  # GET/PUT /groups/{id}/requests: join requests
# PUT/DELETE /groups/{id}/members/{userId}/roles/{groupRoleId}: role sync (only where it is used)
ROLES_ASSIGN: Final = "group-roles-assign"
ALL_PERMISSIONS: Final = "*"  # the owner's role: every permission

#: Every value of the spec's GroupPermissions enum except "*" (tests compare it with the vendored spec,
#: so a permission VRChat adds fails a test until someone sorts it into one of the two sets below).
GROUP_PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        "group-announcement-manage",
        "group-audit-view",
        "group-bans-manage",
        "group-calendar-manage",
        "group-data-manage",
        "group-default-role-manage",
        "group-galleries-manage",
        "group-instance-age-gated-create",
        "group-instance-announcement-create",
        "group-instance-bypass-avatar-performance",
        "group-instance-calendar-link",
        "group-instance-join",
        "group-instance-manage",
        "group-instance-moderate",
        "group-instance-open-create",
        "group-instance-plus-create",
        "group-instance-plus-portal",
        "group-instance-plus-portal-unlocked",
        "group-instance-public-create",
        "group-instance-queue-priority",
        "group-instance-restricted-create",
        "group-invites-manage",
        "group-members-manage",
        "group-members-remove",
        "group-members-viewall",
        "group-roles-assign",
        "group-roles-manage",
    }
)

#: The permissions that give power over other people, the group itself or what it publishes, or a
#: view of what only moderators see. A role carrying any of them (or "*") is a "management" role:
#: role sync refuses by default to hand such a role out from a Discord role, because whoever can give
#: themselves that Discord role would gain it. Our classification, written out so it can be reviewed;
#: VRChat's own flag per permission (GroupPermission.isManagementPermission, from
#: GET /groups/{id}/permissions) is not fetched.
MANAGEMENT_PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        "group-announcement-manage",  # posts and announcements in the group's name
        "group-audit-view",  # the audit log: who did what to whom
        "group-bans-manage",
        "group-calendar-manage",  # events in the group's name
        "group-data-manage",  # name, description, rules, join state
        "group-default-role-manage",  # what every member holds
        "group-galleries-manage",  # approve and remove others' pictures
        "group-instance-manage",  # close others' group instances
        "group-instance-moderate",  # kick and warn in group instances
        "group-invites-manage",  # invites and join requests
        "group-members-manage",  # others' membership, manager notes
        "group-members-remove",
        "group-members-viewall",  # members who hid themselves
        "group-roles-assign",  # hand out roles, this one included
        "group-roles-manage",  # create and change roles
    }
)

#: What an ordinary member's role may carry: opening, joining and enjoying group instances.
ORDINARY_PERMISSIONS: Final[frozenset[str]] = GROUP_PERMISSIONS - MANAGEMENT_PERMISSIONS

#: What the bot needs in every group it serves, and what each is for (in operators' words).
NEEDED_PERMISSIONS: Final[dict[str, str]] = {
    AUDIT_VIEW: "the audit-log feed",
    INVITES_MANAGE: "join requests",
}


@dataclass(frozen=True, slots=True)
class GroupStanding:
    """The bot account's place in a group, as VRChat's group object tells the caller."""

    status: str | None  # membershipStatus: "member", "requested", "inactive", ...; None: not said
    permissions: tuple[str, ...] | None  # None: VRChat did not say

    @classmethod
    def of(cls, group: Group) -> GroupStanding:
        # The client's Group model keeps the fields it does not declare (extra="allow").
        extra: dict[str, Any] = group.model_extra or {}
        status = extra.get("membershipStatus")
        mine = extra.get("myMember")
        perms = mine.get("permissions") if isinstance(mine, dict) else None
        return cls(
            status=status if isinstance(status, str) else None,
            permissions=tuple(str(p) for p in perms) if isinstance(perms, list) else None,
        )

    @property
    def is_member(self) -> bool:
        return self.status == "member"

    def holds(self, permission: str) -> bool | None:
        """Whether the account holds `permission` here (e.g. ROLES_ASSIGN before role sync); None
        when VRChat did not say (then the call itself will tell)."""
        if not self.is_member:
            return False
        if self.permissions is None:
            return None
        return ALL_PERMISSIONS in self.permissions or permission in self.permissions

    def missing(self) -> list[str]:
        """The needed permissions a member lacks; none when VRChat did not say (the calls will)."""
        if not self.is_member:
            return list(NEEDED_PERMISSIONS)
        if self.permissions is None or "*" in self.permissions:
            return []
        return [p for p in NEEDED_PERMISSIONS if p not in self.permissions]


def management_permissions(role: GroupRole) -> frozenset[str]:
    """What makes a role a management role: its permissions that are not ordinary ones ("*", a
    management permission, or one this module does not know: a power not understood is not one to
    hand out automatically)."""
    return frozenset(p for p in role.permissions if p not in ORDINARY_PERMISSIONS)


def is_management_role(role: GroupRole) -> bool:
    """Whether role sync should refuse, by default, to hand this role out: VRChat marks it a
    management role, or it carries a permission that is not an ordinary one."""
    return bool(role.is_management_role) or bool(management_permissions(role))


def lacking(permissions: list[str] | tuple[str, ...]) -> str:
    """ "group-audit-view (the audit-log feed) and group-invites-manage (join requests)"."""
    named = [f"{p} ({NEEDED_PERMISSIONS[p]})" if p in NEEDED_PERMISSIONS else p for p in permissions]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def refused_because(permission: str) -> str:
    """Why VRChat answers 403 to a call that needs `permission`, for the operator."""
    return (
        f"the bot's VRChat account is not a member of the group, or its group role lacks the "
        f"{permission} permission ({NEEDED_PERMISSIONS.get(permission, 'needed here')})"
    )
