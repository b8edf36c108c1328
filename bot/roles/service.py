"""Role sync, per binding, for server admins (Manage Server): mappings, the membership role, the mode
(off | shadow | on), the dry run (`diff`) and the reconciles the loop runs. No Discord here.

Refuses by default to map a Discord role onto a VRChat role with management permissions when changes
flow to VRChat: handing out power in VRChat from a Discord role is an escalation path, so it takes an
explicit `allow_management`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from bot.roles.sync import RoleSyncEngine, SyncOutcome, rules_of
from bot.services.access import Access
from bot.services.common import ActionLog, Actor, InvalidInput, KeyedLocks, NotFoundError, ServiceError
from bot.store import Binding
from bot.store.feature_ports import RoleMappings
from bot.store.leases import UNFENCED, LeaseGuard
from bot.store.role_sync import (
    DIRECTIONS,
    SIDES,
    SYNC_MODES,
    Direction,
    MappingConflict,
    RoleMapping,
    RoleSyncSettings,
    RoleWrite,
    Side,
    SyncMode,
)
from bot.text import quoted
from bot.vrchat import VRChatAPI, VRChatError
from bot.vrchat.models import GroupRole
from bot.vrchat.permissions import is_management_role, management_permissions

log = logging.getLogger(__name__)

MAX_MAPPINGS = 50


@dataclass(frozen=True, slots=True)
class DiscordRole:
    """What the cog knows of a Discord role it was given."""

    id: int
    name: str
    managed: bool = False  # a bot's or an integration's own role: Discord lets no one assign it
    is_default: bool = False  # @everyone


@dataclass(frozen=True, slots=True)
class RoleSyncView:
    binding: Binding
    settings: RoleSyncSettings
    mappings: tuple[RoleMapping, ...]
    role_names: dict[str, str]  # VRChat role ID -> name (empty when VRChat could not be asked)
    refusals: tuple[RoleWrite, ...]


@dataclass(frozen=True, slots=True)
class Diff:
    view: RoleSyncView
    outcome: SyncOutcome


def _direction(text: str) -> Direction:
    for d in DIRECTIONS:
        if text == d:
            return d
    raise InvalidInput(f"Direction must be one of {', '.join(DIRECTIONS)}.")


def _side(text: str) -> Side:
    for s in SIDES:
        if text == s:
            return s
    raise InvalidInput("The source of truth must be vrchat or discord.")


def _mode(text: str) -> SyncMode:
    for m in SYNC_MODES:
        if text == m:
            return m
    raise InvalidInput(f"The mode must be one of {', '.join(SYNC_MODES)}.")


def _find_role(roles: list[GroupRole], text: str) -> GroupRole:
    wanted = text.strip()
    by_id = [r for r in roles if r.id == wanted]
    by_name = [r for r in roles if r.name.casefold() == wanted.casefold()]
    found = by_id or by_name
    if len(found) != 1:
        which = "no" if not found else "more than one"
        raise InvalidInput(
            f"The VRChat group has {which} role {quoted(text)}; give the role's ID (grol_…) or exact name."
        )
    return found[0]


class RoleSyncService:
    def __init__(
        self,
        vrchat: VRChatAPI,
        store: RoleMappings,
        access: Access,
        actions: ActionLog,
        engine: RoleSyncEngine,
    ) -> None:
        self._vrchat = vrchat
        self._store = store
        self._access = access
        self._actions = actions
        self.engine = engine
        self._runs: KeyedLocks[int] = KeyedLocks()  # one run per binding at a time

    # ------------------------------------------------------------------ admins

    async def _binding(self, actor: Actor, guild_id: int, group: str | None) -> Binding:
        binding = await self._access.admin_binding(actor, guild_id, group)
        self._access.require_allowed_group(binding.group_id)
        return binding

    async def _roles(self, group_id: str) -> list[GroupRole]:
        try:
            return await self._vrchat.list_group_roles(group_id)
        except VRChatError as exc:
            raise ServiceError(f"VRChat could not list the group's roles: {exc}") from None

    async def map(
        self,
        actor: Actor,
        guild_id: int,
        group: str | None,
        vrchat_role: str,
        discord_role: DiscordRole,
        direction: str,
        source_of_truth: str = "vrchat",
        *,
        allow_management: bool = False,
    ) -> tuple[RoleMapping, GroupRole]:
        chosen, source = _direction(direction), _side(source_of_truth)
        binding = await self._binding(actor, guild_id, group)
        if discord_role.is_default or discord_role.managed:
            raise InvalidInput(
                "That Discord role cannot be given or taken by anyone (@everyone, or a role managed by an "
                "integration)."
            )
        role = _find_role(await self._roles(binding.group_id), vrchat_role)
        if chosen != "vrchat_to_discord" and is_management_role(role) and not allow_management:
            powers = ", ".join(sorted(management_permissions(role))) or "management"
            raise InvalidInput(
                f"The VRChat role {quoted(role.name or role.id)} carries management permissions ({powers}): "
                "mapping a Discord role onto it hands out power in VRChat. Use allow_management:True "
                "to do it anyway, or map it vrchat_to_discord."
            )
        if (await self._store.role_sync_settings(binding.id)).membership_role_id == discord_role.id:
            raise InvalidInput("That Discord role is this group's membership role; pick another.")
        if len(await self._store.role_mappings(binding.id)) >= MAX_MAPPINGS:
            raise InvalidInput(f"A linked group can have at most {MAX_MAPPINGS} role mappings.")
        try:
            mapping = await self._store.add_role_mapping(
                binding.id,
                role.id,
                discord_role.id,
                chosen,
                source,
                allow_management=allow_management,
                created_by=actor.user_id,
            )
        except MappingConflict:
            raise InvalidInput(
                "One of those roles is already mapped for this group; unmap it first."
            ) from None
        await self._store.clear_role_refusals(binding.id, [role.id, str(discord_role.id)])
        await self._actions.record(
            actor,
            binding.group_id,
            "roles.map",
            target_id=role.id,
            details={
                "discord_role_id": str(discord_role.id),
                "direction": chosen,
                "source_of_truth": source,
                "allow_management": allow_management,
            },
        )
        return mapping, role

    async def unmap(self, actor: Actor, guild_id: int, group: str | None, role: str) -> RoleMapping:
        """Remove the mapping naming this role (a VRChat role ID or name, or a Discord role ID)."""
        binding = await self._binding(actor, guild_id, group)
        text = role.strip()
        mappings = await self._store.role_mappings(binding.id)
        found = [m for m in mappings if text in (m.vrchat_role_id, str(m.discord_role_id))]
        if not found and mappings:
            try:
                named = _find_role(await self._roles(binding.group_id), text)
            except InvalidInput:
                named = None
            found = [m for m in mappings if named is not None and m.vrchat_role_id == named.id]
        if not found:
            raise NotFoundError(
                f"No mapping of this group names {quoted(text)}; `/rolesync list` shows them."
            )
        removed = await self._store.remove_role_mapping(binding.id, found[0].id)
        if removed is None:
            raise NotFoundError("That mapping was removed meanwhile.")
        await self._actions.record(
            actor, binding.group_id, "roles.unmap", target_id=removed.vrchat_role_id,
            details={"discord_role_id": str(removed.discord_role_id)},
        )  # fmt: skip
        return removed

    async def set_membership_role(
        self, actor: Actor, guild_id: int, group: str | None, role: DiscordRole | None
    ) -> RoleSyncSettings:
        binding = await self._binding(actor, guild_id, group)
        if role is not None:
            if role.is_default or role.managed:
                raise InvalidInput("That Discord role cannot be given or taken by anyone.")
            if any(m.discord_role_id == role.id for m in await self._store.role_mappings(binding.id)):
                raise InvalidInput("That Discord role is mapped to a VRChat role already; pick another.")
        current = await self._store.role_sync_settings(binding.id)
        settings = await self._store.set_role_sync_settings(
            binding.id, current.mode, role.id if role else None
        )
        if role is not None:
            await self._store.clear_role_refusals(binding.id, [str(role.id)])
        await self._actions.record(
            actor,
            binding.group_id,
            "roles.membership",
            details={"discord_role_id": str(role.id) if role else None},
        )
        return settings

    async def set_mode(self, actor: Actor, guild_id: int, group: str | None, mode: str) -> RoleSyncSettings:
        chosen = _mode(mode)
        binding = await self._binding(actor, guild_id, group)
        current = await self._store.role_sync_settings(binding.id)
        settings = await self._store.set_role_sync_settings(binding.id, chosen, current.membership_role_id)
        if chosen == "on":
            await self._store.clear_role_refusals(binding.id)  # an admin says it is fixed: try again
        await self._actions.record(actor, binding.group_id, "roles.mode", details={"mode": chosen})
        return settings

    async def view(self, actor: Actor, guild_id: int, group: str | None) -> RoleSyncView:
        binding = await self._binding(actor, guild_id, group)
        return await self._view(binding)

    async def _view(self, binding: Binding) -> RoleSyncView:
        mappings = tuple(await self._store.role_mappings(binding.id))
        names: dict[str, str] = {}
        if mappings:
            try:
                names = {r.id: r.name for r in await self._vrchat.list_group_roles(binding.group_id)}
            except VRChatError:
                names = {}
        return RoleSyncView(
            binding,
            await self._store.role_sync_settings(binding.id),
            mappings,
            names,
            tuple(await self._store.role_writes(binding.id, "refused")),
        )

    async def diff(self, actor: Actor, guild_id: int, group: str | None) -> Diff:
        """What the next reconcile would change, on each side; changes nothing."""
        binding = await self._binding(actor, guild_id, group)
        view = await self._view(binding)
        if not view.mappings and view.settings.membership_role_id is None:
            raise InvalidInput(
                "Nothing to sync yet: map a role with `/rolesync map` or set a membership role."
            )
        async with self._runs.hold(binding.id):
            outcome = await self.engine.run(binding, rules_of(view.settings, view.mappings), apply=False)
        return Diff(view, outcome)

    async def status_text(self, guild_id: int, *, members_intent: bool, full_every: float) -> str | None:
        """The /bridge status line: which bindings sync, and what works without the Server Members
        intent. None when no binding of the server has role sync set up."""
        modes = [
            (await self._store.role_sync_settings(b.id)).mode
            for b in await self._access.groups_of_guild(guild_id)
        ]
        if not any(m != "off" for m in modes):
            return None
        counts = ", ".join(f"{modes.count(m)} {m}" for m in SYNC_MODES if modes.count(m))
        minutes = round(full_every / 60)
        if members_intent:
            live = "Server Members intent on: Discord role changes are synced as they happen."
        else:
            live = (
                "Server Members intent off: VRChat changes still sync within one poll, links at once; "
                f"role changes made in Discord wait for the full reconcile (about every {minutes} min)."
            )
        return f"Bindings: {counts}. {live}"

    # ------------------------------------------------------------------ the loop

    async def reconcile(
        self,
        binding: Binding,
        scope: Collection[str] | None = None,
        *,
        mode: Literal["auto", "shadow"] = "auto",
        guard: LeaseGuard = UNFENCED,
    ) -> SyncOutcome | None:
        """One run for the binding as its mode says (None when off or nothing to sync): shadow plans
        and logs, on applies. `guard`: the group's lease, asked before the writes (LeaseLost)."""
        settings = await self._store.role_sync_settings(binding.id)
        if settings.mode == "off":
            return None
        mappings = await self._store.role_mappings(binding.id)
        rules = rules_of(settings, mappings)
        if not rules:
            return None
        apply = settings.mode == "on" and mode == "auto"
        async with self._runs.hold(binding.id):
            outcome = await self.engine.run(binding, rules, apply=apply, scope=scope, guard=guard)
        if not apply and outcome.plan.changes:
            log.info(
                "Role sync of %s (shadow): would make %d change(s) in VRChat and %d in Discord.",
                binding.group_id,
                len(outcome.plan.on("vrchat")),
                len(outcome.plan.on("discord")),
            )
        return outcome
