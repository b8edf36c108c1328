"""Read-only lookups for moderators: a VRChat user's profile and groups, the bot's group instances.

Nothing here changes anything, in VRChat or in the database. Who may look is checked on every call:
a moderator of any group linked to this server (or a member with Manage Server).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from bot.services.access import GUILD_ONLY, Access
from bot.services.common import Actor, Clock, NotFoundError, PermissionDenied, ServiceError
from bot.services.users import UserDirectory, avatar_url, bio_excerpt, is_adult, parse_user_text
from bot.text import PROFILE_URL
from bot.vrchat import Forbidden, NotFound, VRChatAPI, VRChatError
from bot.vrchat.ids import GROUP_ID_RE, launch_url
from bot.vrchat.models import Instance, UserGroup
from bot.vrchat.trust import trust_rank

log = logging.getLogger(__name__)

GROUP_URL = "https://vrchat.com/home/group/{group_id}"
_GROUP_IN_INSTANCE = re.compile(r"~group\((grp_[0-9a-f-]{36})\)")
NOT_OWN = (
    "VRChat refused to list the bot account's group instances (403). That only happens when the ID "
    "asked about is not the bot's own; the operator should check the bot's VRChat session."
)


@dataclass(frozen=True, slots=True)
class GroupLine:
    """One group a user is in, as GET /users/{id}/groups lists it."""

    group_id: str | None
    name: str
    short_code: str | None  # "CODE.1234" when VRChat gave both parts
    member_count: int | None
    linked: bool  # one of the groups this Discord server is linked to
    mutual: bool  # VRChat's own mutualGroup flag (the bot's account is in it too)

    @property
    def url(self) -> str | None:
        """The group's page, only for an ID of the strict grp_<uuid> form."""
        if self.group_id and GROUP_ID_RE.match(self.group_id):
            return GROUP_URL.format(group_id=self.group_id)
        return None


@dataclass(frozen=True, slots=True)
class UserProfile:
    user_id: str
    display_name: str
    profile_url: str
    avatar_url: str | None
    account_created: date | None
    account_age_days: int | None
    trust_rank: str
    adult: bool  # only VRChat's exact "18+"
    pronouns: str
    bio_excerpt: str
    groups: tuple[GroupLine, ...]

    @property
    def no_groups_text(self) -> str:
        """What to say when the list is empty: VRChat does not tell a private list from an empty one."""
        return f"{self.display_name} shows no groups (the list may be private)."


def short_code(entry: UserGroup) -> str | None:
    if entry.short_code and entry.discriminator:
        return f"{entry.short_code}.{entry.discriminator}"
    return entry.short_code or None


def group_lines(entries: list[UserGroup], linked: frozenset[str]) -> tuple[GroupLine, ...]:
    """The user's groups, those linked to this server (then VRChat's mutual ones) first."""
    lines = [
        GroupLine(
            group_id=entry.group_id,
            name=entry.name or entry.group_id or "(unnamed group)",
            short_code=short_code(entry),
            member_count=entry.member_count,
            linked=entry.group_id in linked,
            mutual=bool(entry.mutual_group),
        )
        for entry in entries
    ]
    return tuple(sorted(lines, key=lambda g: (not g.linked, not g.mutual)))


@dataclass(frozen=True, slots=True)
class InstanceLine:
    world_name: str
    region: str | None
    users: int | None
    capacity: int | None
    queue_size: int | None
    age_gate: bool | None
    instance_type: str  # "group (members)", "group (plus)", …
    launch_url: str | None


@dataclass(frozen=True, slots=True)
class GroupInstances:
    group_id: str | None
    group_name: str
    instances: tuple[InstanceLine, ...]


def instance_group(instance: Instance) -> str | None:
    """The group an instance belongs to: its owner when that is a group, else the ~group(…) tag."""
    if instance.owner_id and GROUP_ID_RE.match(instance.owner_id):
        return instance.owner_id
    match = _GROUP_IN_INSTANCE.search(instance.instance_id or instance.location or "")
    return match.group(1) if match else None


def instance_line(instance: Instance) -> InstanceLine:
    world_id = instance.world_id or (instance.world.id if instance.world else None)
    instance_id = instance.instance_id
    if not instance_id and instance.location and ":" in instance.location:
        world_id, instance_id = instance.location.split(":", 1)
    kind = instance.type or "unknown"
    if instance.group_access_type:
        kind = f"{kind} ({instance.group_access_type})"
    users = instance.n_users if instance.n_users is not None else instance.user_count
    return InstanceLine(
        world_name=(instance.world.name if instance.world else "") or world_id or "(unknown world)",
        region=instance.region,
        users=users,
        capacity=instance.capacity,
        queue_size=instance.queue_size,
        age_gate=instance.age_gate,
        instance_type=kind,
        launch_url=launch_url(world_id, instance_id),
    )


class LookupService:
    def __init__(self, client: VRChatAPI, access: Access, users: UserDirectory, clock: Clock) -> None:
        self._client = client
        self._access = access
        self._users = users
        self._clock = clock

    async def require_moderator(self, actor: Actor) -> frozenset[str]:
        """The groups linked to this server, if the actor moderates any of them (or has Manage Server)."""
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        groups = list(dict.fromkeys(b.group_id for b in await self._access.groups_of_guild(actor.guild_id)))
        if not groups:
            raise NotFoundError(
                "This server is not linked to any VRChat group yet; an admin can link one with the "
                "link command."
            )
        refusals: list[PermissionDenied] = []
        for group_id in groups:
            try:
                await self._access.require_moderator(actor, group_id)
            except PermissionDenied as exc:
                refusals.append(exc)
            else:
                return frozenset(groups)
        if len(refusals) == 1:
            raise refusals[0]
        raise PermissionDenied(
            "You need a moderator role of one of the groups linked to this server, or the Manage Server "
            "permission, to do that."
        )

    async def user_profile(self, actor: Actor, user_text: str) -> UserProfile:
        """The user's public profile and the groups VRChat lists for them."""
        parse_user_text(user_text)  # bad input is refused before anything else happens
        linked = await self.require_moderator(actor)
        user_id = await self._users.resolve(user_text)
        user = await self._users.user(user_id)
        try:
            entries = await self._client.list_user_groups(user_id)
        except Forbidden:
            entries = []  # a hidden list reads the same as an empty one
        except NotFound:
            raise NotFoundError(f"VRChat has no user with the ID {user_id}.") from None
        created = user.date_joined
        today = self._clock().date()
        return UserProfile(
            user_id=user.id,
            display_name=user.display_name or user.id,
            profile_url=PROFILE_URL.format(user_id=user.id),
            avatar_url=avatar_url(user),
            account_created=created,
            account_age_days=max(0, (today - created).days) if created is not None else None,
            trust_rank=trust_rank(user.tags),
            adult=is_adult(user.age_verification_status),
            pronouns=(user.pronouns or "").strip(),
            bio_excerpt=bio_excerpt(user.bio),
            groups=group_lines(entries, linked),
        )

    async def instances(self, actor: Actor) -> list[GroupInstances]:
        """The open instances of this server's linked groups that the bot's own account can see.

        Only the bot's own user ID is ever asked about: VRChat answers 403 for anyone else. The bot may
        serve other servers' groups too: their instances are theirs, so they are left out here.
        """
        linked = await self.require_moderator(actor)
        # With several VRChat accounts each group is asked about through the account serving it:
        # another account may not be in it, and one that is would list its instances a second time.
        served: dict[str, set[str]] = {}  # account's user ID -> the linked groups it serves
        for group_id in sorted(linked):
            own_id = self._client.user_id_for(group_id)
            if own_id is None:
                raise ServiceError("The bot is not logged in to VRChat yet; try again in a minute.")
            served.setdefault(own_id, set()).add(group_id)
        found: list[GroupInstances] = []
        for own_id, groups in served.items():
            found += await self._instances_seen_by(own_id, groups)
        return found

    async def _instances_seen_by(self, own_id: str, groups: set[str]) -> list[GroupInstances]:
        try:
            listing = await self._client.list_user_group_instances(own_id)
        except Forbidden:
            raise ServiceError(NOT_OWN) from None
        by_group: dict[str, list[InstanceLine]] = {}
        for instance in listing.instances:
            group_id = instance_group(instance)
            if group_id is not None and group_id in groups:
                by_group.setdefault(group_id, []).append(instance_line(instance))
        names = await self._group_names(own_id, list(by_group))
        return [
            GroupInstances(
                group_id=group_id,
                group_name=names.get(group_id, group_id),
                instances=tuple(lines),
            )
            for group_id, lines in by_group.items()
        ]

    async def _group_names(self, own_id: str, group_ids: list[str]) -> dict[str, str]:
        """Names from config.toml, else from the bot's own group list (one request, only if needed)."""
        names: dict[str, str] = {}
        for group_id in group_ids:
            label = self._access.group_label(group_id)
            if label != group_id:
                names[group_id] = label
        if all(g in names for g in group_ids):
            return names
        try:
            for entry in await self._client.list_user_groups(own_id):
                if entry.group_id and entry.name:
                    names.setdefault(entry.group_id, entry.name)
        except VRChatError as exc:
            log.info("could not name the bot's groups: %s", exc)
        return names


__all__ = [
    "GroupInstances",
    "GroupLine",
    "InstanceLine",
    "LookupService",
    "UserProfile",
    "group_lines",
    "instance_line",
    "launch_url",
    "short_code",
]
