"""Inviting VRChat users into a group, and finding them by name for autocomplete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.services.access import Access
from bot.services.common import ActionLog, Actor, PermissionDenied, ServiceError, checked_group_id
from bot.services.users import UserDirectory, parse_user_text
from bot.vrchat import AlreadyInvited, AlreadyMember, CannotInvite, VRChatAPI, VRChatError
from bot.vrchat.errors import BadRequest, Forbidden

InviteKind = Literal["sent", "already_member", "already_invited", "cannot_invite"]


@dataclass(frozen=True, slots=True)
class InviteOutcome:
    kind: InviteKind
    user_id: str
    display_name: str
    group_id: str = ""
    group_name: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "sent"

    @property
    def message(self) -> str:
        """The sentence to show the moderator."""
        who, where = self.display_name, self.group_name or self.group_id
        return {
            "sent": f"Invited {who} to {where}.",
            "already_member": f"{who} is already a member of {where}; no invite was sent.",
            "already_invited": f"{who} already has a pending invite to {where}; no new invite was sent.",
            "cannot_invite": (
                f"VRChat will not let the bot invite {who} to {where}: they may be banned or have blocked "
                "the group, or the bot's group role lacks the permission to invite."
            ),
        }[self.kind]


class InviteService:
    def __init__(self, client: VRChatAPI, access: Access, users: UserDirectory, actions: ActionLog) -> None:
        self._client = client
        self._access = access
        self._users = users
        self._actions = actions

    async def resolve_user(self, text: str) -> str:
        """The user ID for an ID, profile link or exact display name; bad text fails before any request."""
        return await self._users.resolve(text)

    async def suggest(self, query: str) -> list[tuple[str, str]]:
        """Autocomplete: up to 25 (label, user ID); cached 60 s per query, at most one search per second."""
        return await self._users.suggest(query)

    async def invite(self, actor: Actor, group_id: str, user_text: str) -> InviteOutcome:
        """Send a group invite. Already a member / already invited / refused are outcomes, not errors."""
        gid = checked_group_id(group_id)
        parse_user_text(user_text)  # bad input is refused before anything else happens
        await self._access.require_moderator(actor, gid)
        user_id = await self._users.resolve(user_text)
        name = await self._users.display_name(user_id)
        label = self._access.group_label(gid)
        kind: InviteKind = "sent"
        try:
            await self._client.invite_user(gid, user_id)
        except AlreadyMember:
            kind = "already_member"
        except AlreadyInvited:
            kind = "already_invited"
        except CannotInvite:
            kind = "cannot_invite"
        except VRChatError as exc:
            await self._actions.record_failure(
                actor, gid, "invite", exc, target_id=user_id, details={"display_name": name}
            )
            if isinstance(exc, Forbidden):
                raise PermissionDenied(
                    f"The bot's VRChat account may not invite people to {label}."
                ) from None
            if isinstance(exc, BadRequest):
                raise ServiceError(f"VRChat refused to invite {name}: {exc.message}") from None
            raise
        outcome = InviteOutcome(kind, user_id, name, gid, label)
        await self._actions.record(
            actor,
            gid,
            "invite",
            target_id=user_id,
            details={"display_name": name, "result": kind},
            outcome="ok" if outcome.ok else "error",
            error=None if outcome.ok else outcome.message,
        )
        return outcome
