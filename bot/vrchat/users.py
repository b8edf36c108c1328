"""The bot account's own profile and the users it looks up: who a user is, a search, their groups.

A mixin of `VRChatClient` (bot.vrchat.client), like bot.vrchat.members and bot.vrchat.instances: the
methods are the client's like any other, and follow its rules (every argument checked before anything
is sent, one rate limiter per account).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import MalformedResponse
from .ids import require_user_id
from .models import (
    CurrentUser,
    LimitedUser,
    User,
    UserGroup,
    UserGroupInstances,
    UserStatus,
    parse_items,
    parse_one,
)
from .paging import page_params as _page
from .paging import segment as _seg
from .profile import profile_update_body
from .transport import Response


class UserCalls:
    """The account and user calls of `VRChatClient`."""

    # Provided by VRChatClient: the session-aware way out (re-login, 401 handling, rate limit).
    async def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        raise NotImplementedError

    async def _get(self, path: str, **params: Any) -> Any:
        raise NotImplementedError

    # -- account ---------------------------------------------------------------------------------

    async def get_current_user(self) -> CurrentUser:
        return parse_one(CurrentUser, await self._get("/auth/user"))

    async def update_user(
        self,
        user_id: str,
        *,
        status: UserStatus | str | None = None,
        status_description: str | None = None,
        bio: str | None = None,
        bio_links: Sequence[str] | None = None,
        pronouns: str | None = None,
    ) -> CurrentUser:
        """Change the bot account's own profile. Every value is checked before the request."""
        body = profile_update_body(
            status=status,
            status_description=status_description,
            bio=bio,
            bio_links=bio_links,
            pronouns=pronouns,
        )
        path = f"/users/{_seg(require_user_id(user_id))}"
        return parse_one(CurrentUser, (await self._call("PUT", path, json=body, idempotent=True)).data)

    # -- users -----------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> User:
        uid = require_user_id(user_id)
        user = parse_one(User, await self._get(f"/users/{_seg(uid)}"))
        if user.id.casefold() != uid.casefold():  # links and buttons are built from it: who was asked for
            raise MalformedResponse(f"asked for user {uid}, VRChat answered with {user.id[:100]!r}")
        return user

    async def search_users(self, query: str, *, n: int = 10, offset: int = 0) -> list[LimitedUser]:
        query = query.strip()
        if not query:
            raise ValueError("a user search needs some text")
        if len(query) > 100:
            raise ValueError("a user search is limited to 100 characters")
        data = await self._get("/users", search=query, **_page(n, offset))
        return parse_items(LimitedUser, data)

    async def list_user_groups(self, user_id: str) -> list[UserGroup]:
        data = await self._get(f"/users/{_seg(require_user_id(user_id))}/groups")
        return parse_items(UserGroup, data)

    async def list_user_group_instances(self, user_id: str) -> UserGroupInstances:
        """Only the bot's own user ID works; VRChat answers 403 (Forbidden) for anyone else."""
        data = await self._get(f"/users/{_seg(require_user_id(user_id))}/instances/groups")
        return parse_one(UserGroupInstances, data or {})
