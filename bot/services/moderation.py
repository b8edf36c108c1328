"""Kick, ban and unban, each recorded in the action log with the moderator's reason.

VRChat's API takes no reason for these, so the reason lives in the action log (and from there on the
feed entry credited to the moderator).
"""

from __future__ import annotations

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
    checked_group_id,
)
from bot.services.users import UserDirectory, parse_user_text
from bot.vrchat import BadRequest, Forbidden, NotFound, VRChatAPI, VRChatError

REASON_MAX = 512
ModerationKind = Literal["kick", "ban", "unban"]
_PAST = {"kick": "Removed", "ban": "Banned", "unban": "Unbanned"}
_PREPOSITION = {"kick": "from", "ban": "from", "unban": "in"}
_FORBIDDEN = {
    "kick": "VRChat did not let the bot remove {name}: the group owner cannot be removed, and the bot's "
    "group role needs the permission to remove members.",
    "ban": "VRChat did not let the bot ban {name}: the group owner cannot be banned, and the bot's group "
    "role needs the permission to manage bans.",
    "unban": "VRChat did not let the bot unban {name}: the bot's group role needs the permission to "
    "manage bans.",
}


@dataclass(frozen=True, slots=True)
class ModerationOutcome:
    action: ModerationKind
    group_id: str
    group_name: str
    user_id: str
    display_name: str
    reason: str

    @property
    def message(self) -> str:
        text = f"{_PAST[self.action]} {self.display_name} {_PREPOSITION[self.action]} {self.group_name}."
        return f"{text} Reason: {self.reason}" if self.reason else text


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) > REASON_MAX:
        raise InvalidInput(f"The reason is {len(text)} characters long; the limit is {REASON_MAX}.")
    return text


class ModerationService:
    def __init__(self, client: VRChatAPI, access: Access, users: UserDirectory, actions: ActionLog) -> None:
        self._client = client
        self._access = access
        self._users = users
        self._actions = actions

    async def kick(self, actor: Actor, group_id: str, user_text: str, reason: str = "") -> ModerationOutcome:
        """Remove a member from the group (they may ask to join again)."""
        return await self._act("kick", actor, group_id, user_text, reason)

    async def ban(self, actor: Actor, group_id: str, user_text: str, reason: str = "") -> ModerationOutcome:
        """Ban a user, member or not; a member is removed."""
        return await self._act("ban", actor, group_id, user_text, reason)

    async def unban(self, actor: Actor, group_id: str, user_text: str, reason: str = "") -> ModerationOutcome:
        return await self._act("unban", actor, group_id, user_text, reason)

    async def _act(
        self, kind: ModerationKind, actor: Actor, group_id: str, user_text: str, reason: str
    ) -> ModerationOutcome:
        gid = checked_group_id(group_id)
        why = _reason(reason)
        parse_user_text(user_text)
        await self._access.require_moderator(actor, gid)
        user_id = await self._users.resolve(user_text)
        if user_id == self._client.user_id:
            raise InvalidInput(f"The bot cannot {kind} its own VRChat account.")
        name = await self._users.display_name(user_id)
        label = self._access.group_label(gid)
        details = {"reason": why, "display_name": name}
        try:
            if kind == "kick":
                await self._client.kick_member(gid, user_id)
            elif kind == "ban":
                await self._client.ban_member(gid, user_id)
            else:
                await self._client.unban_member(gid, user_id)
        except VRChatError as exc:
            await self._actions.record_failure(
                actor, gid, f"member.{kind}", exc, target_id=user_id, details=details
            )
            raise self._explain(kind, exc, name, label) from None
        await self._actions.record(actor, gid, f"member.{kind}", target_id=user_id, details=details)
        return ModerationOutcome(kind, gid, label, user_id, name, why)

    @staticmethod
    def _explain(kind: ModerationKind, exc: Exception, name: str, label: str) -> Exception:
        refused = isinstance(exc, BadRequest | NotFound)
        if kind == "kick" and refused:
            return NotFoundError(f"{name} is not a member of {label}, so there is nobody to remove.")
        if kind == "ban" and isinstance(exc, BadRequest):
            return ServiceError(f"{name} is already banned from {label}.")
        if kind == "unban" and refused:
            return NotFoundError(f"{name} is not banned from {label}.")
        if isinstance(exc, Forbidden):
            return PermissionDenied(_FORBIDDEN[kind].format(name=name))
        return exc
