"""Whether one of the bot's VRChat accounts can serve a group (bot.vrchat.pool): its standing there
as VRChat tells that account, how well that suits the bot, and the error when no account can."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import Forbidden
from .models import Group

#: What the bot does in every group it serves: mirror the audit log and handle join requests.
REQUIRED_PERMISSIONS: tuple[str, ...] = ("group-audit-view", "group-invites-manage")
# How well an account suits a group, best first: a member with the permissions VRChat showed, a
# member VRChat showed no permissions of, and one that cannot serve it (or whose session is blocked).
PROVEN, UNPROVEN, UNFIT = 0, 1, 2


class NoServingAccount(Forbidden):
    """No account of the bot is a member of the group with the permissions it needs there."""

    def __init__(self, group_id: str, names: Sequence[str], permissions: Sequence[str]) -> None:
        super().__init__(
            f"none of the bot's VRChat accounts ({', '.join(names)}) is a member of this group with "
            f"the permissions {', '.join(permissions)}",
            status=403,
            path=f"/groups/{group_id}",
        )
        self.group_id = group_id

    def __str__(self) -> str:  # no request was made, so not "VRChat answered 403"
        return f"No VRChat account can serve {self.group_id}: {self.message}."


@dataclass(frozen=True, slots=True)
class Standing:
    """An account's place in a group, as VRChat tells that account."""

    member: bool
    permissions: tuple[str, ...] | None  # None: VRChat did not say

    @classmethod
    def of(cls, group: Group) -> Standing:
        # The client's Group model keeps the fields it does not declare (extra="allow").
        extra: dict[str, Any] = group.model_extra or {}
        mine = extra.get("myMember")
        perms = mine.get("permissions") if isinstance(mine, dict) else None
        return cls(
            member=extra.get("membershipStatus") == "member",
            permissions=tuple(str(p) for p in perms) if isinstance(perms, list) else None,
        )

    def can_serve(self, required: Sequence[str]) -> bool:
        if not self.member:
            return False
        # Unknown permissions do not rule a member out; the calls will tell (ranked after proven ones).
        return self.permissions is None or "*" in self.permissions or set(required) <= set(self.permissions)

    def suitability(self, required: Sequence[str]) -> int:
        if not self.can_serve(required):
            return UNFIT
        return UNPROVEN if self.permissions is None else PROVEN
