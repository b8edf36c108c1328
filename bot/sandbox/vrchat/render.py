"""Turn state records into the JSON objects the spec describes.

Every object carries all ``required`` fields of its schema so the response validator passes.
Fields whose spec definition is ``$ref`` plus ``nullable: true`` are omitted when empty instead
of sent as ``null``: OpenAPI 3.0 ignores siblings of ``$ref``, so ``null`` would fail validation
(real VRChat does send ``null`` there; clients must cope with both).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from .models import (
    SimAuditEntry,
    SimGroup,
    SimMembership,
    SimPost,
    SimRole,
    SimUser,
    iso,
)
from .state import SimState

JSON = dict[str, Any]
FILE_BASE = "https://api.vrchat.cloud/api/1"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()  # in an ``unchecked_json`` dict: leave this key out
# Set by the server around each handler: whether the response served any ``unchecked_json``.
UNCHECKED_SERVED: ContextVar[list[bool] | None] = ContextVar("vrchat_sim_unchecked", default=None)


def unchecked(out: JSON, record: object) -> Any:
    """``out``, unless a test gave the record ``unchecked_json``: a dict replaces (``DROP``: removes)
    those keys, anything else is served instead of the whole object.

    Test-only, for hostile input: such JSON may break the spec, so the response carrying it is not
    validated (and counted in ``VRChatSimulator.unchecked_responses``), while every other response
    still is.
    """
    override = getattr(record, "unchecked_json", None)
    if override is None:
        return out
    served = UNCHECKED_SERVED.get()
    if served is not None:
        served.append(True)
    if not isinstance(override, dict):
        return override
    merged = dict(out)
    for key, value in override.items():
        if value is DROP:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _avatar(user_id: str) -> tuple[str, str]:
    """Stable fake avatar image URLs for a user."""
    file_id = "file_" + user_id.removeprefix("usr_")
    return f"{FILE_BASE}/file/{file_id}/1/file", f"{FILE_BASE}/image/{file_id}/1/256"


def _profile(user: SimUser) -> JSON:
    """What CurrentUser and User both say of a user."""
    image, thumb = _avatar(user.id)
    return {
        "ageVerificationStatus": user.age_verification_status,
        "ageVerified": user.age_verification_status != "hidden",
        "allowAvatarCopying": False,
        "badges": [],
        "bio": user.bio,
        "bioLinks": list(user.bio_links),
        "currentAvatarImageUrl": image,
        "currentAvatarTags": [],
        "currentAvatarThumbnailImageUrl": thumb,
        "date_joined": user.date_joined.isoformat(),
        "developerType": user.developer_type,
        "displayName": user.display_name,
        "friendKey": "",
        "id": user.id,
        "isFriend": False,
        "last_platform": user.last_platform,
        "profilePicOverride": "",
        "profilePicOverrideThumbnail": "",
        "pronouns": user.pronouns,
        "state": "offline",
        "status": user.status,
        "statusDescription": user.status_description,
        "tags": list(user.tags),
        "userIcon": "",
    }


def current_user(user: SimUser, state: SimState) -> JSON:
    """CurrentUser for ``GET /auth/user`` and ``PUT /users/{id}``."""
    groups = [g.id for g in state.groups.values() if state.is_member(g.id, user.id)]
    return {
        **_profile(user),
        "acceptedPrivacyVersion": 0,
        "acceptedTOSVersion": 7,
        "accountDeletionDate": None,
        "activeFriends": [],
        "currentAvatar": "avtr_" + user.id.removeprefix("usr_"),
        "emailVerified": True,
        "friendGroupNames": [],
        "friends": [],
        "hasBirthday": True,
        "hasEmail": True,
        "hasLoggedInFromClient": True,
        "hasPendingEmail": False,
        "homeLocation": "",
        "isAdult": True,
        "isBoopingEnabled": True,
        "last_activity": iso(user.last_login),
        "last_login": iso(user.last_login),
        "last_mobile": None,
        "obfuscatedEmail": "g****e@example.invalid",
        "obfuscatedPendingEmail": "",
        "oculusId": "",
        "offlineFriends": [],
        "onlineFriends": [],
        "pastDisplayNames": [],
        "presence": {
            "groups": groups,
            "id": user.id,
            "displayName": user.display_name,
            "status": user.status,
        },
        "pronounsHistory": [],
        "statusFirstTime": False,
        "statusHistory": [],
        "steamDetails": {},
        "steamId": "",
        "twoFactorAuthEnabled": bool(user.totp_secret),
        "unsubscribe": True,
        "updated_at": iso(user.updated_at),
        "usesGeneratedPassword": False,
    }


def user(user: SimUser) -> Any:
    """Public User for ``GET /users/{id}``."""
    return unchecked(
        {
            **_profile(user),
            "last_activity": "",
            "last_login": "",
            "location": "offline",
        },
        user,
    )


def limited_user_search(user: SimUser) -> Any:
    """LimitedUserSearch for ``GET /users``."""
    image, thumb = _avatar(user.id)
    return unchecked(
        {
            "bio": user.bio,
            "bioLinks": list(user.bio_links),
            "currentAvatarImageUrl": image,
            "currentAvatarTags": [],
            "currentAvatarThumbnailImageUrl": thumb,
            "developerType": user.developer_type,
            "displayName": user.display_name,
            "id": user.id,
            "isFriend": False,
            "last_platform": user.last_platform,
            "profilePicOverride": "",
            "pronouns": user.pronouns,
            "status": user.status,
            "statusDescription": user.status_description,
            "tags": list(user.tags),
            "userIcon": "",
        },
        user,
    )


def role(role: SimRole) -> JSON:
    """GroupRole."""
    return {
        "createdAt": iso(role.created_at),
        "description": role.description,
        "groupId": role.group_id,
        "id": role.id,
        "isManagementRole": role.is_management_role,
        "isSelfAssignable": False,
        "name": role.name,
        "order": role.order,
        "permissions": list(role.permissions),
        "requiresPurchase": False,
        "requiresTwoFactor": False,
        "updatedAt": iso(role.updated_at),
    }


def member(record: SimMembership, state: SimState) -> Any:
    """GroupMember (also used for bans, invites and join requests, as VRChat does)."""
    target = state.user(record.user_id)
    out: JSON = {
        "acceptedByDisplayName": record.accepted_by_display_name,
        "acceptedById": record.accepted_by_id,
        "bannedAt": iso(record.banned_at) if record.banned_at else None,
        "createdAt": iso(record.created_at),
        "groupId": record.group_id,
        "id": record.id,
        "isRepresenting": False,
        "isSubscribedToAnnouncements": record.is_subscribed_to_announcements,
        "isSubscribedToEventAnnouncements": record.is_subscribed_to_event_announcements,
        "joinedAt": iso(record.joined_at) if record.joined_at else None,
        "lastPostReadAt": iso(record.last_post_read_at) if record.last_post_read_at else None,
        "mRoleIds": [],
        "managerNotes": record.manager_notes,
        "membershipStatus": record.status,
        "roleIds": list(record.role_ids),
        "userId": record.user_id,
        "visibility": record.visibility,
    }
    if target is not None:
        _, thumb = _avatar(target.id)
        out["user"] = {
            "currentAvatarTags": [],
            "currentAvatarThumbnailImageUrl": thumb,
            "displayName": target.display_name,
            "iconUrl": "",
            "id": target.id,
            "profilePicOverride": "",
            "thumbnailUrl": thumb,
        }
    return unchecked(out, record)


def my_member(record: SimMembership, state: SimState) -> JSON:
    """GroupMyMember: the caller's own membership inside a Group object."""
    return {
        "acceptedByDisplayName": record.accepted_by_display_name,
        "acceptedById": record.accepted_by_id,
        "createdAt": iso(record.created_at),
        "groupId": record.group_id,
        "has2FA": False,
        "hasJoinedFromPurchase": False,
        "id": record.id,
        "isRepresenting": False,
        "isSubscribedToAnnouncements": record.is_subscribed_to_announcements,
        "isSubscribedToEventAnnouncements": record.is_subscribed_to_event_announcements,
        "joinedAt": iso(record.joined_at or record.created_at),
        "lastPostReadAt": iso(record.last_post_read_at) if record.last_post_read_at else None,
        "mRoleIds": [],
        "managerNotes": record.manager_notes,
        "membershipStatus": record.status,
        "permissions": state.permissions(record.group_id, record.user_id),
        "roleIds": list(record.role_ids),
        "userId": record.user_id,
        "visibility": record.visibility,
    }


def group(grp: SimGroup, state: SimState, viewer_id: str, *, include_roles: bool = False) -> JSON:
    """Group as seen by ``viewer_id`` (``membershipStatus``/``myMember`` depend on the viewer): the
    search's LimitedGroup and what only a group's own page has."""
    out = limited_group(grp, viewer_id)
    del out["isSearchable"]  # the search's alone
    latest_post = max((p.created_at for p in grp.posts.values()), default=None)
    out |= {
        "badges": [],
        "isVerified": False,
        "joinState": grp.join_state,
        "languages": ["eng"],
        "lastPostCreatedAt": iso(latest_post) if latest_post else None,
        "links": [],
        "memberCountSyncedAt": iso(state.clock()),
        "onlineMemberCount": 0,
        "privacy": grp.privacy,
        "updatedAt": iso(grp.updated_at),
    }
    mine = grp.memberships.get(viewer_id)
    if mine is not None and mine.status == "member":
        out["myMember"] = my_member(mine, state)
    if include_roles:
        out["roles"] = [role(r) for r in sorted(grp.roles.values(), key=lambda r: r.order)]
    return out


def limited_group(grp: SimGroup, viewer_id: str) -> JSON:
    """LimitedGroup for ``GET /groups?query=`` (the search)."""
    mine = grp.memberships.get(viewer_id)
    return {
        "bannerId": None,
        "bannerUrl": None,
        "createdAt": iso(grp.created_at),
        "description": grp.description,
        "discriminator": grp.discriminator,
        "galleries": [],
        "iconId": None,
        "iconUrl": None,
        "id": grp.id,
        "isSearchable": True,
        "memberCount": grp.member_count,
        "membershipStatus": mine.status if mine else "inactive",
        "name": grp.name,
        "ownerId": grp.owner_id,
        "rules": grp.rules,
        "shortCode": grp.short_code,
        "tags": [],
    }


def limited_user_group(record: SimMembership, grp: SimGroup) -> JSON:
    """LimitedUserGroups for ``GET /users/{id}/groups``."""
    latest_post = max((p.created_at for p in grp.posts.values()), default=None)
    return {
        "bannerId": None,
        "bannerUrl": None,
        "description": grp.description,
        "discriminator": grp.discriminator,
        "groupId": grp.id,
        "iconId": None,
        "iconUrl": None,
        "id": record.id,
        "isRepresenting": False,
        "lastPostCreatedAt": iso(latest_post) if latest_post else None,
        "lastPostReadAt": None,
        "memberCount": grp.member_count,
        "memberVisibility": record.visibility,
        "mutualGroup": False,
        "name": grp.name,
        "ownerId": grp.owner_id,
        "privacy": grp.privacy,
        "shortCode": grp.short_code,
    }


def post(item: SimPost) -> Any:
    """GroupPost (``editorId``/``imageId`` omitted: ``$ref`` + nullable, see module doc)."""
    return unchecked(
        {
            "authorId": item.author_id,
            "createdAt": iso(item.created_at),
            "groupId": item.group_id,
            "id": item.id,
            "imageUrl": None,
            "roleId": list(item.role_ids),
            "text": item.text,
            "title": item.title,
            "updatedAt": iso(item.updated_at),
            "visibility": item.visibility,
        },
        item,
    )


def audit_entry(entry: SimAuditEntry) -> Any:
    """GroupAuditLogEntry (note the snake_case ``created_at``)."""
    return unchecked(
        {
            "actorDisplayName": entry.actor_display_name,
            "actorId": entry.actor_id,
            "created_at": iso(entry.created_at),
            "data": entry.data,
            "description": entry.description,
            "eventType": entry.event_type,
            "groupId": entry.group_id,
            "id": entry.id,
            "targetId": entry.target_id,
        },
        entry,
    )
