"""Opening and closing group instances: `POST /instances` and `DELETE /instances/{worldId}:{instanceId}`.

A mixin of `VRChatClient` (bot.vrchat.client), like members.py. Every argument is checked before
anything is sent; both calls are writes and are never repeated (one that times out raises
OutcomeUnknown: look at the group's instances before trying again).

Also here: the one strict parser for a world a moderator names (its ID or a vrchat.com world link),
and reading whether a listed instance is age-gated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .ids import (
    INSTANCE_ID_RE,
    WORLD_ID_RE,
    InvalidReference,
    require,
    require_group_id,
    require_role_id,
)
from .models import GroupInstance, Instance, parse_one
from .paging import choice, segment
from .transport import Response

WORLD_FORMS = (
    "a world ID like wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd or a world link like "
    "https://vrchat.com/home/world/wrld_…"
)
_VRCHAT_HOSTS = {"vrchat.com", "www.vrchat.com"}
_WORLD_PATH = re.compile(r"^/home/world/(?P<world>wrld_[0-9a-f-]{36})/?(?:info/?)?\Z")
_LAUNCH_PATH = re.compile(r"^/home/launch/?\Z")
_GROUP_TAG = re.compile(r"~group\((grp_[0-9a-f-]{36})\)")
MAX_REFERENCE = 300  # longer text is not any form of a world reference


class GroupAccess(StrEnum):
    """Who may join a group instance (the spec's GroupAccessType)."""

    MEMBERS = "members"  # group members (only those holding `role_ids`, when given)
    PLUS = "plus"  # members and their friends
    PUBLIC = "public"  # anyone


class InstanceRegion(StrEnum):
    """Where VRChat hosts the instance (the spec's InstanceRegion, without "unknown")."""

    US = "us"  # US West
    USE = "use"  # US East
    EU = "eu"
    JP = "jp"


def parse_world_ref(text: str) -> str:
    """The world ID in `text`: a bare ID, a vrchat.com/home/world/… link or a launch link with
    worldId=…; InvalidReference naming the accepted forms for anything else."""
    raw = text.strip() if isinstance(text, str) else ""
    shown = raw[:60] + ("…" if len(raw) > 60 else "")
    if not raw:
        raise InvalidReference(f"No world given. Use {WORLD_FORMS}.")
    if len(raw) <= MAX_REFERENCE:
        if WORLD_ID_RE.match(raw):
            return raw
        found = _world_from_link(raw)
        if found is not None:
            return found
    raise InvalidReference(f"Not a VRChat world: {shown!r}. Use {WORLD_FORMS}.")


def _world_from_link(raw: str) -> str | None:
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if parts.scheme != "https" or (parts.hostname or "") not in _VRCHAT_HOSTS or parts.port is not None:
        return None
    if parts.username or parts.password:
        return None
    match = _WORLD_PATH.match(parts.path)
    if match:
        return match["world"]
    if _LAUNCH_PATH.match(parts.path):
        worlds = parse_qs(parts.query).get("worldId", [])
        if len(worlds) == 1 and WORLD_ID_RE.match(worlds[0]):
            return worlds[0]
    return None


def require_world_id(value: object) -> str:
    return require("world ID", value, WORLD_ID_RE, "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd")


def require_instance_id(value: object) -> str:
    return require("instance ID", value, INSTANCE_ID_RE, "12345~group(grp_…)~region(eu)")


def instance_group_id(instance_id: str) -> str | None:
    """The group named in an instance ID's ~group(…) tag, or None."""
    match = _GROUP_TAG.search(instance_id)
    return match.group(1) if match else None


def is_age_gated(instance: GroupInstance) -> bool | None:
    """Whether VRChat says the listed instance is age-gated: its `ageGate` field, else an `~ageGate`
    tag in the instance ID; None when neither says (then nothing is decided on a guess)."""
    if instance.age_gate is not None:
        return instance.age_gate
    if re.search(r"~ageGate(?:\(|~|\Z)", instance.instance_id):
        return True
    return None


class InstanceCalls:
    """The instance calls of `VRChatClient`."""

    # Provided by VRChatClient: the session-aware way out (re-login, 401 handling, rate limit).
    async def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        raise NotImplementedError

    async def create_group_instance(
        self,
        group_id: str,
        world_id: str,
        *,
        access: GroupAccess | str = GroupAccess.MEMBERS,
        region: InstanceRegion | str = InstanceRegion.US,
        role_ids: Iterable[str] = (),
        age_gate: bool = False,
    ) -> Instance:
        """Open a group instance of `world_id` owned by the group; returns it (its `location` is the
        `worldId:instanceId` to close it by). `role_ids` limit a members-only instance to those roles.

        Needs the group permission to create instances of that access type (Forbidden otherwise).
        """
        gid, wid = require_group_id(group_id), require_world_id(world_id)
        kind = choice(GroupAccess, access, "access")
        where = choice(InstanceRegion, region, "region")
        roles = [require_role_id(r) for r in role_ids]
        if roles and kind is not GroupAccess.MEMBERS:
            raise ValueError("roles can only limit a members-only group instance")
        body: dict[str, Any] = {
            "worldId": wid,
            "type": "group",
            "ownerId": gid,
            "groupAccessType": kind.value,
            "region": where.value,
            "ageGate": bool(age_gate),
        }
        if roles:
            body["roleIds"] = roles
        response = await self._call("POST", "/instances", json=body)
        return parse_one(Instance, response.data)

    async def close_group_instance(self, group_id: str, world_id: str, instance_id: str) -> Instance:
        """Close one of the group's instances at once. Needs `group-instance-manage` (Forbidden, also
        for an instance already closed); NotFound when there is no such instance.

        The instance ID must name `group_id` in its ~group(…) tag: the bot closes only instances of
        the group it was asked about (the router also sends the call from that group's account).
        """
        gid, wid, iid = (
            require_group_id(group_id),
            require_world_id(world_id),
            require_instance_id(instance_id),
        )
        if instance_group_id(iid) != gid:
            raise InvalidReference("That instance does not belong to this group.")
        response = await self._call("DELETE", f"/instances/{segment(wid)}:{segment(iid)}")
        return parse_one(Instance, response.data)
