"""Giving and taking a member's group role from Discord (`/vrc role add|remove`), and listing a
member's roles (`/vrc roles`).

Roles that carry management permissions (bot.vrchat.permissions) are refused, given or taken, unless
the binding's `allow_management_roles` says otherwise: whoever holds a moderator role in Discord
should not be able to make someone (themselves included) a VRChat group manager by accident. Each
change is kept in the action log, so the feed entry VRChat writes is credited to the moderator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.config import Config
from bot.services.access import Access
from bot.services.binding_settings import allows_management_roles
from bot.services.common import (
    ActionLog,
    Actor,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    checked_group_id,
)
from bot.services.users import UserDirectory, parse_user_text
from bot.text import quoted
from bot.vrchat import Forbidden, NotFound, VRChatAPI, VRChatError
from bot.vrchat.ids import ROLE_ID_RE
from bot.vrchat.models import GroupRole
from bot.vrchat.permissions import is_management_role, management_permissions

RoleAction = Literal["add", "remove"]
ROLE_TEXT_MAX = 100
CHOICES_MAX = 25


@dataclass(frozen=True, slots=True)
class RoleChoice:
    role_id: str
    name: str
    management: bool


@dataclass(frozen=True, slots=True)
class MemberRoles:
    group_id: str
    group_name: str
    user_id: str
    display_name: str
    roles: tuple[RoleChoice, ...]  # in the group's role order
    unknown_role_ids: tuple[str, ...]  # held, but not in the group's role list (VRChat's own, hidden)


@dataclass(frozen=True, slots=True)
class RoleChange:
    action: RoleAction
    group_id: str
    group_name: str
    user_id: str
    display_name: str
    role: RoleChoice
    changed: bool  # False: they already had it (add) or did not have it (remove); nothing was sent

    @property
    def message(self) -> str:
        if self.action == "add":
            if not self.changed:
                return f"{self.display_name} already has the role {self.role.name} in {self.group_name}."
            return f"Gave {self.display_name} the role {self.role.name} in {self.group_name}."
        if not self.changed:
            return f"{self.display_name} does not have the role {self.role.name} in {self.group_name}."
        return f"Took the role {self.role.name} from {self.display_name} in {self.group_name}."


def _choice(role: GroupRole) -> RoleChoice:
    return RoleChoice(role.id, role.name or role.id, is_management_role(role))


class MemberRoleService:
    def __init__(
        self, client: VRChatAPI, access: Access, users: UserDirectory, actions: ActionLog, config: Config
    ) -> None:
        self._client = client
        self._access = access
        self._users = users
        self._actions = actions
        self._config = config

    async def group_roles(self, actor: Actor, group_id: str, current: str = "") -> list[RoleChoice]:
        """The group's roles whose name or ID contains `current` (autocomplete), at most 25."""
        gid = checked_group_id(group_id)
        binding = await self._access.require_moderator(actor, gid)
        allowed = allows_management_roles(self._config, binding)
        needle = current.strip().casefold()
        return [
            choice
            for choice in map(_choice, await self._roles(gid))
            if (allowed or not choice.management)
            and (needle in choice.name.casefold() or needle in choice.role_id)
        ][:CHOICES_MAX]

    async def roles_of(self, actor: Actor, group_id: str, user_text: str) -> MemberRoles:
        gid = checked_group_id(group_id)
        parse_user_text(user_text)
        await self._access.require_moderator(actor, gid)
        user_id = await self._users.resolve(user_text)
        name = await self._users.display_name(user_id)
        held = await self._member_role_ids(gid, user_id, name)
        roles = await self._roles(gid)
        known = {r.id for r in roles}
        return MemberRoles(
            group_id=gid,
            group_name=self._access.group_label(gid),
            user_id=user_id,
            display_name=name,
            roles=tuple(_choice(r) for r in roles if r.id in held),
            unknown_role_ids=tuple(r for r in held if r not in known),
        )

    async def add(self, actor: Actor, group_id: str, user_text: str, role_text: str) -> RoleChange:
        return await self._change("add", actor, group_id, user_text, role_text)

    async def remove(self, actor: Actor, group_id: str, user_text: str, role_text: str) -> RoleChange:
        return await self._change("remove", actor, group_id, user_text, role_text)

    async def _change(
        self, action: RoleAction, actor: Actor, group_id: str, user_text: str, role_text: str
    ) -> RoleChange:
        gid = checked_group_id(group_id)
        parse_user_text(user_text)
        wanted = _role_text(role_text)
        binding = await self._access.require_moderator(actor, gid)
        role = find_role(await self._roles(gid), wanted)
        label = self._access.group_label(gid)
        if is_management_role(role) and not allows_management_roles(self._config, binding):
            powers = ", ".join(sorted(management_permissions(role))) or "VRChat marks it a management role"
            raise PermissionDenied(
                f"The role {role.name} carries management permissions ({powers}), so it cannot be given "
                "or taken from Discord; the operator can allow that for this binding in config.toml "
                "(allow_management_roles = true), or do it in VRChat."
            )
        user_id = await self._users.resolve(user_text)
        if user_id == self._client.user_id:
            raise InvalidInput("The bot does not change its own VRChat account's roles.")
        name = await self._users.display_name(user_id)
        held = await self._member_role_ids(gid, user_id, name)
        choice = _choice(role)
        if (role.id in held) == (action == "add"):
            return RoleChange(action, gid, label, user_id, name, choice, changed=False)
        details = {"role_id": role.id, "role_name": role.name, "display_name": name}
        kind = f"member.role.{action}"
        try:
            if action == "add":
                await self._client.add_member_role(gid, user_id, role.id)
            else:
                await self._client.remove_member_role(gid, user_id, role.id)
        except VRChatError as exc:
            await self._actions.record_failure(actor, gid, kind, exc, target_id=user_id, details=details)
            if isinstance(exc, Forbidden):
                raise PermissionDenied(
                    f"VRChat did not let the bot change {name}'s roles: the bot's group role needs the "
                    "group-roles-assign permission, and a role ranked above the bot's own cannot be given "
                    "or taken by it."
                ) from None
            if isinstance(exc, NotFound):
                raise NotFoundError(f"{name} is not a member of {label} (any more).") from None
            raise
        await self._actions.record(actor, gid, kind, target_id=user_id, details=details)
        return RoleChange(action, gid, label, user_id, name, choice, changed=True)

    async def _roles(self, group_id: str) -> list[GroupRole]:
        try:
            roles = await self._client.list_group_roles(group_id)
        except Forbidden:
            raise PermissionDenied(
                f"VRChat did not show the bot the roles of {self._access.group_label(group_id)}: is the "
                "bot's account a member of the group?"
            ) from None
        return sorted(roles, key=lambda r: (r.order if r.order is not None else 1_000_000, r.name))

    async def _member_role_ids(self, group_id: str, user_id: str, name: str) -> frozenset[str]:
        member = await self._client.get_group_member(group_id, user_id)
        if member is None or (member.membership_status not in (None, "member")):
            raise NotFoundError(f"{name} is not a member of {self._access.group_label(group_id)}.")
        return frozenset(member.role_ids)


def _role_text(text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidInput("Say which group role: pick one from the list, or type its exact name.")
    if len(value) > ROLE_TEXT_MAX or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"{quoted(value)} cannot be a group role. Pick one from the list.")
    return value


def find_role(roles: list[GroupRole], wanted: str) -> GroupRole:
    """The role with that ID, or the one role with that exact name (case aside)."""
    if ROLE_ID_RE.match(wanted):
        found = [r for r in roles if r.id == wanted]
    else:
        found = [r for r in roles if r.name.casefold() == wanted.casefold()]
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidInput(f"Several roles are called {quoted(wanted)}; pick the one you mean from the list.")
    raise NotFoundError(f"The group has no role {quoted(wanted)}. Pick one from the list.")
