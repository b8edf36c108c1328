"""The group permissions the bot relies on, and the bot account's own standing in a group.

VRChat tells the caller of `GET /groups/{groupId}` its own `membershipStatus` and, for a member,
`myMember.permissions` (values of the spec's `GroupPermissions` enum, or `*` for all of them). One
place knows which of them the bot needs for what, so that the dry run, `/bridge link`, `/bridge
status` and the poller's log say the same thing about a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .models import Group

AUDIT_VIEW: Final = "group-audit-view"  # GET /groups/{id}/auditLogs: the feed
INVITES_MANAGE: Final = "group-invites-manage"  # GET/PUT /groups/{id}/requests: join requests

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

    def missing(self) -> list[str]:
        """The needed permissions a member lacks; none when VRChat did not say (the calls will)."""
        if not self.is_member:
            return list(NEEDED_PERMISSIONS)
        if self.permissions is None or "*" in self.permissions:
            return []
        return [p for p in NEEDED_PERMISSIONS if p not in self.permissions]


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
