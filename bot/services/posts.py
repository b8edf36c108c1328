"""Group posts: draft (checked before anything is sent), publish, list, delete, pick roles."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from bot.services.access import Access
from bot.services.common import (
    ActionLog,
    Actor,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    TTLCache,
    checked_group_id,
)
from bot.text import clip, quoted
from bot.vrchat import BadRequest, Forbidden, InvalidReference, NotFound, VRChatAPI, VRChatError
from bot.vrchat.ids import require_post_id, require_role_id
from bot.vrchat.models import GroupPost, GroupRole

# Where the numbers come from: the spec's CreateGroupPostRequest only sets minLength 1 on title and
# text, no maximum. 64 for the title is the limit the spec puts on the other group titles and names
# (CreateCalendarEventRequest.title, CreateGroupRequest.name); 2000 for the text is this project's
# own cap, the length of a Discord message, so a post drafted in Discord is never cut on either side.
TITLE_MAX = 64
TEXT_MAX = 2000
# ApiConfigConstantsGroups.maxRoles: a group has at most 50 roles.
ROLES_MAX = 50
RECENT_MAX = 25
ROLE_CACHE_TTL = 60.0
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100

Visibility = Literal["group", "public"]
_VISIBILITIES: dict[str, Visibility] = {"group": "group", "public": "public"}


@dataclass(frozen=True, slots=True)
class PostDraft:
    group_id: str
    title: str
    text: str
    visibility: Visibility
    role_ids: tuple[str, ...] = ()
    send_notification: bool = False


class PostService:
    def __init__(
        self,
        client: VRChatAPI,
        access: Access,
        actions: ActionLog,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._access = access
        self._actions = actions
        self._roles: TTLCache[str, list[GroupRole]] = TTLCache(ROLE_CACHE_TTL, clock=monotonic)

    def draft(
        self,
        group_id: str,
        title: str,
        text: str,
        visibility: str = "group",
        role_ids: Iterable[str] = (),
        send_notification: bool = False,
    ) -> PostDraft:
        """Check a post without any request; InvalidInput says what is wrong with which value.
        (``check_roles`` then asks VRChat whether its roles are the group's.)"""
        gid = checked_group_id(group_id)
        title = title.strip() if isinstance(title, str) else ""
        text = text.strip() if isinstance(text, str) else ""
        if not title:
            raise InvalidInput("A post needs a title.")
        if len(title) > TITLE_MAX:
            raise InvalidInput(f"The title is {len(title)} characters long; the limit is {TITLE_MAX}.")
        if not text:
            raise InvalidInput("A post needs some text.")
        if len(text) > TEXT_MAX:
            raise InvalidInput(f"The text is {len(text)} characters long; the limit is {TEXT_MAX}.")
        checked_visibility = _VISIBILITIES.get(visibility) if isinstance(visibility, str) else None
        if checked_visibility is None:
            raise InvalidInput(
                "Visibility must be “group” (members only) or “public” (anyone), "
                f"not {quoted(str(visibility))}."
            )
        if not isinstance(send_notification, bool):
            raise InvalidInput("Whether to notify members must be yes or no.")
        roles = tuple(dict.fromkeys(r.strip() for r in role_ids if isinstance(r, str) and r.strip()))
        if roles and visibility != "group":
            raise InvalidInput(
                "Roles can only be chosen for a post visible to the group, not for a public one."
            )
        if len(roles) > ROLES_MAX:
            raise InvalidInput(f"A group has at most {ROLES_MAX} roles; {len(roles)} were given.")
        for role in roles:
            try:
                require_role_id(role)
            except InvalidReference:
                raise InvalidInput(
                    f"{quoted(role)} is not a VRChat role ID (grol_…); pick roles from the list."
                ) from None
        return PostDraft(gid, title, text, checked_visibility, roles, send_notification)

    async def group_roles(self, group_id: str) -> list[GroupRole]:
        gid = checked_group_id(group_id)
        roles = self._roles.get(gid)
        if roles is None:
            roles = await self._client.list_group_roles(gid)
            self._roles.put(gid, roles)
        return roles

    async def check_roles(self, draft: PostDraft) -> None:
        """InvalidInput unless every role of the draft is one of the group's roles (fetched, cached for
        a minute)."""
        if not draft.role_ids:
            return
        known = {r.id for r in await self.group_roles(draft.group_id)}
        for role in draft.role_ids:
            if role not in known:
                label = self._access.group_label(draft.group_id)
                raise InvalidInput(f"{role} is not a role of {label}; pick roles from the list.")

    async def role_choices(self, group_id: str, query: str = "") -> list[tuple[str, str]]:
        """Autocomplete: (role name, role ID) whose name contains the query, at most 25."""
        needle = query.strip().casefold()
        roles = sorted(await self.group_roles(group_id), key=lambda r: (r.order or 0, r.name))
        return [
            (clip(r.name or r.id, CHOICE_NAME_MAX), r.id)
            for r in roles
            if needle in (r.name or "").casefold()
        ][:CHOICES_MAX]

    async def publish(self, actor: Actor, draft: PostDraft) -> GroupPost:
        """Check the draft again (it may have been built by hand), then post it as the bot account."""
        d = self.draft(
            draft.group_id, draft.title, draft.text, draft.visibility, draft.role_ids, draft.send_notification
        )
        await self._access.require_moderator(actor, d.group_id)
        await self.check_roles(d)
        details: dict[str, object] = {
            "title": d.title,
            "visibility": d.visibility,
            "role_ids": list(d.role_ids),
            "send_notification": d.send_notification,
        }
        try:
            post = await self._client.create_post(
                d.group_id, d.title, d.text, d.visibility, d.role_ids, d.send_notification
            )
        except VRChatError as exc:
            await self._actions.record_failure(actor, d.group_id, "post.create", exc, details=details)
            label = self._access.group_label(d.group_id)
            if isinstance(exc, Forbidden):
                raise PermissionDenied(f"The bot's VRChat account may not post in {label}.") from None
            if isinstance(exc, BadRequest):
                raise ServiceError(f"VRChat refused the post: {exc.message}") from None
            raise
        await self._actions.record(actor, d.group_id, "post.create", target_id=post.id, details=details)
        return post

    async def recent(self, group_id: str, limit: int = 10) -> list[GroupPost]:
        gid = checked_group_id(group_id)
        if not 1 <= limit <= RECENT_MAX:
            raise InvalidInput(f"Between 1 and {RECENT_MAX} posts can be listed at once.")
        return await self._client.list_posts(gid, n=limit)

    async def delete(self, actor: Actor, group_id: str, post_id: str) -> None:
        gid = checked_group_id(group_id)
        post_id = post_id.strip()
        try:
            require_post_id(post_id)
        except InvalidReference:
            raise InvalidInput(
                f"{quoted(post_id)} is not a VRChat post ID (not_…); pick a post from the list."
            ) from None
        await self._access.require_moderator(actor, gid)
        try:
            await self._client.delete_post(gid, post_id)
        except VRChatError as exc:
            await self._actions.record_failure(actor, gid, "post.delete", exc, target_id=post_id)
            if isinstance(exc, NotFound):
                raise NotFoundError("That post no longer exists; it may have been deleted already.") from None
            if isinstance(exc, Forbidden):
                raise PermissionDenied(
                    f"The bot's VRChat account may not delete posts in {self._access.group_label(gid)}."
                ) from None
            raise
        await self._actions.record(actor, gid, "post.delete", target_id=post_id)
