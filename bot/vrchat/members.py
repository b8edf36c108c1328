"""Group members and group roles: listing them, and giving or taking a member's role.

A mixin of `VRChatClient` (bot.vrchat.client), kept apart so that each module stays readable; the
methods are the client's like any other (the router and the API protocol list them with the rest).
The rules are the client's: every argument checked before anything is sent, one rate limiter per
account, reads retried where repeating is safe, writes never repeated (a write that times out
raises OutcomeUnknown: look before trying again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from .errors import MalformedResponse
from .ids import require_group_id, require_role_id, require_user_id
from .models import GroupMember, GroupRole, MemberSort, parse_items, parse_one
from .paging import MAX_PAGE, choice, page_params, segment
from .transport import Response


def _sort(sort: MemberSort | str | None) -> str | None:
    return None if sort is None else choice(MemberSort, sort, "sort").value


def _role_ids(data: Any, method: str, path: str) -> list[str]:
    """A GroupRoleIDList: the member's role IDs after the change."""
    if not isinstance(data, list):
        raise MalformedResponse(
            f"expected the member's list of role IDs, got {type(data).__name__}", method=method, path=path
        )
    return [item for item in data if isinstance(item, str)]


class GroupMemberCalls:
    """The member and role calls of `VRChatClient`."""

    # Provided by VRChatClient: the session-aware way out (re-login, 401 handling, rate limit).
    async def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        raise NotImplementedError

    async def _get(self, path: str, **params: Any) -> Any:
        raise NotImplementedError

    async def list_group_roles(self, group_id: str) -> list[GroupRole]:
        """The group's roles with their permissions (bot.vrchat.permissions tells management roles)."""
        data = await self._get(f"/groups/{segment(require_group_id(group_id))}/roles")
        return parse_items(GroupRole, data)

    async def list_group_members(
        self,
        group_id: str,
        *,
        n: int = MAX_PAGE,
        offset: int = 0,
        sort: MemberSort | str | None = None,
        role_id: str | None = None,
    ) -> list[GroupMember]:
        """One page of members (never the calling account itself: VRChat leaves it out).

        `sort` None leaves VRChat's default (newest first); `role_id` lists only holders of that role.
        """
        gid = require_group_id(group_id)
        params: dict[str, Any] = {
            **page_params(n, offset),
            "sort": _sort(sort),
            "roleId": require_role_id(role_id) if role_id is not None else None,
        }
        data = await self._get(f"/groups/{segment(gid)}/members", **params)
        return parse_items(GroupMember, data)

    async def iter_group_members(
        self,
        group_id: str,
        *,
        page_size: int = MAX_PAGE,
        sort: MemberSort | str = MemberSort.JOINED_ASC,
        role_id: str | None = None,
    ) -> AsyncIterator[GroupMember]:
        """Every member once, paging n/offset to the end, one rate-limited request per page.

        Oldest first by default: offsets then stay put while people join during the walk (they land
        at the end and are still seen); one who leaves shifts the rest and may hide one member from
        this walk (the next one sees them). A member listed twice (offsets shifted by a join under
        another order) is yielded once. A page one short of full may be the page VRChat took the
        caller out of, so only a page two or more short (or empty) ends the walk.
        """
        seen: set[str] = set()
        offset = 0
        while True:
            page = await self.list_group_members(
                group_id, n=page_size, offset=offset, sort=sort, role_id=role_id
            )
            for member in page:
                if member.user_id not in seen:
                    seen.add(member.user_id)
                    yield member
            if not page or len(page) < page_size - 1:
                return
            offset += len(page)

    async def get_group_member(self, group_id: str, user_id: str) -> GroupMember | None:
        """The user's relation to the group, or None when there is none (VRChat answers `null`)."""
        gid, uid = require_group_id(group_id), require_user_id(user_id)
        data = await self._get(f"/groups/{segment(gid)}/members/{segment(uid)}")
        return parse_one(GroupMember, data) if data else None

    async def add_member_role(self, group_id: str, user_id: str, role_id: str) -> list[str]:
        """Give a member a group role; returns the member's role IDs afterwards.

        Needs `group-roles-assign` (Forbidden otherwise); NotFound when the user is not a member or
        the role does not exist. Giving a role the member already holds changes nothing.
        """
        path = self._member_role_path(group_id, user_id, role_id)
        return _role_ids((await self._call("PUT", path)).data, "PUT", path)

    async def remove_member_role(self, group_id: str, user_id: str, role_id: str) -> list[str]:
        """Take a group role from a member; returns the member's role IDs afterwards.

        Needs `group-roles-assign`. Taking a role the member does not hold changes nothing.
        """
        path = self._member_role_path(group_id, user_id, role_id)
        return _role_ids((await self._call("DELETE", path)).data, "DELETE", path)

    @staticmethod
    def _member_role_path(group_id: str, user_id: str, role_id: str) -> str:
        gid, uid = require_group_id(group_id), require_user_id(user_id)
        rid = require_role_id(role_id)
        return f"/groups/{segment(gid)}/members/{segment(uid)}/roles/{segment(rid)}"
