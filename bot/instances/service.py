"""Opening and closing group instances for moderators, and the worlds to offer when opening one.

Plain values in, dataclasses out, ServiceError sentences for the user. Who may act is checked on
every call (a moderator of the group's binding in this server); every open and close is kept in the
action log, target the instance's location, so the feed credits the Discord moderator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

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
from bot.services.member_roles import find_role
from bot.store.feature_ports import InstanceReportDesk
from bot.store.instance_reports import InstanceReport
from bot.text import quoted
from bot.vrchat import Forbidden, InvalidReference, NotFound, VRChatAPI, VRChatError
from bot.vrchat.ids import INSTANCE_ID_RE, WORLD_ID_RE, launch_url, parse_location
from bot.vrchat.instances import GroupAccess, InstanceRegion, instance_group_id, is_age_gated, parse_world_ref
from bot.vrchat.models import GroupInstance

CHOICES_MAX = 25
INSTANCES_TTL = 30.0  # autocomplete asks on every keystroke: one list per group per 30 s at most
LOCATION_MAX = 400
ROLES_MAX = 10
ACCESS_NAMES = {"members": "members only", "plus": "group+ (members and their friends)", "public": "public"}
REGION_NAMES = {"us": "US West", "use": "US East", "eu": "Europe", "jp": "Japan"}
E = TypeVar("E", bound=StrEnum)
INSTANCE_FORMS = "pick one from the list, or paste its location (wrld_…:12345~group(grp_…)~…) or launch link"


@dataclass(frozen=True, slots=True)
class WorldChoice:
    world_id: str
    name: str  # the world's name when the mirror or a report knows it, else its ID


@dataclass(frozen=True, slots=True)
class InstanceChoice:
    location: str
    instance_id: str
    world_name: str
    members: int | None
    age_gated: bool | None


@dataclass(frozen=True, slots=True)
class OpenPlan:
    """A checked request to open an instance, shown to the moderator before they confirm."""

    group_id: str
    group_name: str
    world_id: str
    access: GroupAccess
    region: InstanceRegion
    role_ids: tuple[str, ...]
    role_names: tuple[str, ...]
    age_gate: bool

    @property
    def summary(self) -> str:
        roles = f", only for {', '.join(self.role_names)}" if self.role_names else ""
        gate = ", age-gated" if self.age_gate else ""
        return (
            f"a {ACCESS_NAMES[self.access.value]} instance of {self.world_id} in "
            f"{REGION_NAMES[self.region.value]}{roles}{gate} for {self.group_name}"
        )


@dataclass(frozen=True, slots=True)
class InstanceOutcome:
    action: str  # "opened" | "closed"
    group_id: str
    group_name: str
    location: str
    world_name: str
    launch_url: str | None

    @property
    def message(self) -> str:
        verb = "Opened" if self.action == "opened" else "Closed"
        return f"{verb} the group instance of {self.world_name} for {self.group_name}."


def parse_instance_text(text: str) -> tuple[str | None, str]:
    """(world ID, instance ID) from a location or a vrchat.com launch link, or (None, instance ID) for
    a bare group instance ID (what the list offers: a location is often longer than Discord allows a
    choice's value); InvalidInput otherwise."""
    raw = text.strip()
    if not raw or len(raw) > LOCATION_MAX:
        raise InvalidInput(f"Say which instance: {INSTANCE_FORMS}.")
    if INSTANCE_ID_RE.match(raw) and instance_group_id(raw) is not None:
        return None, raw
    found = parse_location(raw)
    if found is None and raw.startswith("https://"):
        try:
            parts = urlsplit(raw)
        except ValueError:
            parts = None
        if parts is not None and parts.hostname in ("vrchat.com", "www.vrchat.com") and parts.port is None:
            query = parse_qs(parts.query)
            worlds, instances = query.get("worldId", []), query.get("instanceId", [])
            if parts.path.rstrip("/") == "/home/launch" and len(worlds) == len(instances) == 1:
                found = parse_location(f"{worlds[0]}:{instances[0]}")
    if found is None:
        raise InvalidInput(f"{quoted(raw)} is not a VRChat instance: {INSTANCE_FORMS}.")
    return found


class InstanceService:
    def __init__(
        self,
        client: VRChatAPI,
        store: InstanceReportDesk,
        access: Access,
        actions: ActionLog,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._store = store
        self._access = access
        self._actions = actions
        self._listed: TTLCache[str, list[GroupInstance]] = TTLCache(INSTANCES_TTL, clock=monotonic)

    # -- what to offer -------------------------------------------------------------------------

    async def recent_worlds(self, actor: Actor, group_id: str, current: str = "") -> list[WorldChoice]:
        """Worlds of the group's recent instances, from the mirrored audit log and the age-gate
        reports (database only: no VRChat request per keystroke)."""
        gid = checked_group_id(group_id)
        await self._access.require_moderator(actor, gid)
        names = await self._store.reported_world_names(gid)
        seen: dict[str, str] = {}
        for trace in await self._store.recent_instance_traces(gid):
            world_id = _world_of(trace.location, trace.data)
            if world_id is None or world_id in seen:
                continue
            name = trace.data.get("worldName")
            seen[world_id] = name if isinstance(name, str) and name.strip() else names.get(world_id, world_id)
        for world_id, name in names.items():
            seen.setdefault(world_id, name)
        needle = current.strip().casefold()
        return [
            WorldChoice(world_id, name)
            for world_id, name in seen.items()
            if needle in name.casefold() or needle in world_id
        ][:CHOICES_MAX]

    async def open_instances(self, actor: Actor, group_id: str, current: str = "") -> list[InstanceChoice]:
        """The group's open instances (one VRChat list per group per INSTANCES_TTL, for autocomplete)."""
        gid = checked_group_id(group_id)
        await self._access.require_moderator(actor, gid)
        listed = await self._open_list(gid)
        needle = current.strip().casefold()
        choices = [
            InstanceChoice(
                location=i.location,
                instance_id=i.instance_id,
                world_name=(i.world.name if i.world else "") or i.location.partition(":")[0],
                members=i.member_count,
                age_gated=is_age_gated(i),
            )
            for i in listed
        ]
        return [c for c in choices if needle in c.world_name.casefold() or needle in c.location][:CHOICES_MAX]

    async def _open_list(self, group_id: str) -> list[GroupInstance]:
        listed = self._listed.get(group_id)
        if listed is None:
            listed = await self._client.list_group_instances(group_id)
            self._listed.put(group_id, listed)
        return listed

    # -- opening ---------------------------------------------------------------------------------

    async def plan_open(
        self,
        actor: Actor,
        group_id: str,
        world_text: str,
        access: str = "members",
        region: str = "us",
        roles_text: str = "",
        age_gate: bool = False,
    ) -> OpenPlan:
        """Check everything about an open before the moderator is asked to confirm it."""
        gid = checked_group_id(group_id)
        try:
            world_id = parse_world_ref(world_text)
        except InvalidReference as exc:
            raise InvalidInput(str(exc)) from None
        kind = _choose(GroupAccess, access, "access")
        where = _choose(InstanceRegion, region, "region")
        await self._access.require_moderator(actor, gid)
        wanted = [part.strip() for part in roles_text.split(",") if part.strip()]
        if len(wanted) > ROLES_MAX:
            raise InvalidInput(f"At most {ROLES_MAX} roles can limit an instance.")
        if wanted and kind is not GroupAccess.MEMBERS:
            raise InvalidInput(
                "Roles can only limit a members-only instance (VRChat ignores them otherwise)."
            )
        roles = []
        if wanted:
            try:
                known = await self._client.list_group_roles(gid)
            except Forbidden:
                raise PermissionDenied("VRChat did not show the bot the group's roles.") from None
            roles = [find_role(known, text) for text in wanted]
        return OpenPlan(
            group_id=gid,
            group_name=self._access.group_label(gid),
            world_id=world_id,
            access=kind,
            region=where,
            role_ids=tuple(dict.fromkeys(r.id for r in roles)),
            role_names=tuple(dict.fromkeys(r.name for r in roles)),
            age_gate=age_gate,
        )

    async def open(self, actor: Actor, plan: OpenPlan) -> InstanceOutcome:
        """Open the planned instance (the actor's permission checked again, as they are now)."""
        await self._access.require_moderator(actor, plan.group_id)
        details = {
            "world_id": plan.world_id,
            "access": plan.access.value,
            "region": plan.region.value,
            "role_ids": list(plan.role_ids),
            "age_gate": plan.age_gate,
        }
        try:
            opened = await self._client.create_group_instance(
                plan.group_id,
                plan.world_id,
                access=plan.access,
                region=plan.region,
                role_ids=plan.role_ids,
                age_gate=plan.age_gate,
            )
        except VRChatError as exc:
            await self._actions.record_failure(actor, plan.group_id, "instance.open", exc, details=details)
            if isinstance(exc, Forbidden):
                raise PermissionDenied(
                    "VRChat did not let the bot open that instance: the bot's group role needs the "
                    "permission to create group instances of that kind (and for age-gated ones, "
                    "group-instance-age-gated-create)."
                ) from None
            if isinstance(exc, NotFound):
                raise NotFoundError(f"VRChat has no world {plan.world_id}.") from None
            raise
        location = opened.location or f"{plan.world_id}:{opened.instance_id}"
        await self._actions.record(actor, plan.group_id, "instance.open", target_id=location, details=details)
        self._listed.clear()
        world_id, _, instance_id = location.partition(":")
        return InstanceOutcome(
            "opened",
            plan.group_id,
            plan.group_name,
            location,
            (opened.world.name if opened.world else "") or plan.world_id,
            launch_url(world_id, instance_id),
        )

    # -- closing ---------------------------------------------------------------------------------

    async def check_close(self, actor: Actor, group_id: str, instance_text: str) -> str:
        """The location to close, checked (it must be one of this group's); refused before asking."""
        gid = checked_group_id(group_id)
        world_id, instance_id = parse_instance_text(instance_text)
        await self._access.require_moderator(actor, gid)
        if instance_group_id(instance_id) != gid:
            raise InvalidInput(f"That instance does not belong to {self._access.group_label(gid)}.")
        if world_id is None:  # a bare instance ID: its world from the group's open instances
            found = [i.location for i in await self._open_list(gid) if i.instance_id == instance_id]
            if not found:
                raise NotFoundError("That instance is not open any more; pick one from the list.")
            return found[0]
        return f"{world_id}:{instance_id}"

    async def close(
        self, actor: Actor, group_id: str, location: str, *, world_name: str | None = None
    ) -> InstanceOutcome:
        """Close one of the group's instances now (needs group-instance-manage in VRChat)."""
        checked = await self.check_close(actor, group_id, location)
        gid = checked_group_id(group_id)
        world_id, _, instance_id = checked.partition(":")
        try:
            await self._client.close_group_instance(gid, world_id, instance_id)
        except VRChatError as exc:
            await self._actions.record_failure(actor, gid, "instance.close", exc, target_id=checked)
            if isinstance(exc, Forbidden):
                raise PermissionDenied(
                    "VRChat did not let the bot close that instance: it is closed already, or the bot's "
                    "group role lacks the group-instance-manage permission."
                ) from None
            if isinstance(exc, NotFound):
                raise NotFoundError("That instance is not open any more.") from None
            raise
        await self._actions.record(actor, gid, "instance.close", target_id=checked)
        self._listed.clear()
        return InstanceOutcome(
            "closed", gid, self._access.group_label(gid), checked, world_name or world_id, None
        )

    async def reported(self, actor: Actor, report_id: int) -> InstanceReport:
        """A report the actor may act on: this server's binding, and they moderate its group."""
        report = await self._store.instance_report(report_id)
        if report is None:
            raise NotFoundError("This report is no longer kept; use the close command instead.")
        await self._access.require_moderator(actor, report.group_id)
        if actor.guild_id is None or report.binding_id not in {
            b.id for b in await self._store.list_bindings(guild_id=actor.guild_id, group_id=report.group_id)
        }:
            raise PermissionDenied("This report belongs to another server's link of the group.")
        return report

    async def close_reported(self, actor: Actor, report_id: int) -> InstanceOutcome:
        """The Close button under an age-gate report: checked again at the click, closed once."""
        report = await self.reported(actor, report_id)
        if report.state in ("closed", "gone"):
            raise ServiceError("That instance has been closed already.")
        try:
            outcome = await self.close(actor, report.group_id, report.location, world_name=report.world_name)
        except NotFoundError:
            await self._store.move_instance_report(report.id, ["reported", "pending"], "gone")
            raise
        await self._store.move_instance_report(
            report.id, ["reported", "pending", "closing"], "closed", by_discord_id=actor.user_id
        )
        return outcome


def _world_of(location: str | None, data: dict[str, object]) -> str | None:
    world = data.get("worldId")
    if isinstance(world, str) and WORLD_ID_RE.match(world):
        return world
    parsed = parse_location(location)
    return parsed[0] if parsed else None


def _choose(kind: type[E], value: str, name: str) -> E:
    try:
        return kind(value.strip().lower())
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise InvalidInput(f"The {name} must be one of {allowed}; not {quoted(value)}.") from None
