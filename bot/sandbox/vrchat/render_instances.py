"""Worlds and instances as the spec describes them (bot.sandbox.vrchat.render: the rules every object
follows): a group's instance list, a full Instance, and the World each carries.
"""

from __future__ import annotations

from .models import SimInstance, SimWorld, iso
from .render import FILE_BASE, JSON


def world(w: SimWorld) -> JSON:
    """A complete World object (many required fields, mostly placeholders)."""
    image = f"{FILE_BASE}/file/file_{w.id.removeprefix('wrld_')}/1/file"
    return {
        "authorId": w.author_id,
        "authorName": w.author_name or "unknown",
        "capacity": w.capacity,
        "created_at": iso(w.created_at),
        "description": "",
        "featured": False,
        "heat": 0,
        "id": w.id,
        "imageUrl": image,
        "labsPublicationDate": "none",
        "name": w.name,
        "organization": "vrchat",
        "popularity": 0,
        "publicationDate": "none",
        "recommendedCapacity": w.capacity,
        "releaseStatus": "private",
        "tags": [],
        "thumbnailImageUrl": image,
        "updated_at": iso(w.created_at),
        "version": 1,
        "visits": 0,
    }


def group_instance(inst: SimInstance) -> JSON:
    """GroupInstance for ``GET /groups/{id}/instances``."""
    return {
        "instanceId": inst.instance_id,
        "location": inst.location,
        "memberCount": inst.n_users,
        "world": world(inst.world),
        # Not in the spec's GroupInstance (which does not forbid more): what the age-gate policy reads.
        "ageGate": inst.age_gate,
    }


def instance(inst: SimInstance) -> JSON:
    """Full Instance for ``GET /users/{id}/instances/groups``."""
    region = inst.region if inst.region in {"eu", "jp", "us", "use"} else "unknown"
    return {
        "active": inst.closed_at is None,
        "ageGate": inst.age_gate,
        "canRequestInvite": False,
        "capacity": inst.capacity,
        "clientNumber": "unknown",
        "closedAt": iso(inst.closed_at) if inst.closed_at is not None else None,
        "full": inst.n_users >= inst.capacity,
        "groupAccessType": inst.access_type,
        "id": inst.location,
        "instanceId": inst.instance_id,
        "location": inst.location,
        "n_users": inst.n_users,
        "name": inst.name,
        "ownerId": inst.group_id,
        "permanent": False,
        "photonRegion": region,
        "platforms": {"android": 0, "standalonewindows": inst.n_users},
        "queueEnabled": False,
        "queueSize": 0,
        "recommendedCapacity": inst.capacity,
        "region": region,
        "roleRestricted": bool(inst.role_ids),
        "secureName": inst.name,
        "strict": False,
        "tags": [],
        "type": "group",
        "userCount": inst.n_users,
        "world": world(inst.world),
        "worldId": inst.world.id,
    }
