"""Linking Discord servers to VRChat groups, choosing what the feed carries, and the status report."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.events import EVENT_FAMILIES
from bot.services.access import Access, standing_problem
from bot.services.common import (
    ActionLog,
    Actor,
    Clock,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    age,
    checked_group_id,
)
from bot.services.group_refs import group_id_of, group_ref
from bot.store import Binding, BindingIn, DuplicateBindingError, Gap
from bot.store.ports import BindingAdmin
from bot.text import quoted
from bot.vrchat import (
    Forbidden,
    NotFound,
    SessionState,
    VRChatAPI,
    VRChatError,
)
from bot.vrchat.permissions import GroupStanding
from bot.vrchat.pool import AccountPool, AccountUsage, NoServingAccount

# /bridge status asks VRChat again about a group whose bot account lacked something, when what it
# knows is older than this: an admin who fixed the role and asks for the status wants to see it fixed.
RECHECK_AFTER = timedelta(minutes=1)
RECHECK_TIMEOUT = 2.0  # seconds: then the status says what it knew; it must not wait on VRChat


@dataclass(frozen=True, slots=True)
class GroupStatus:
    group_id: str
    group_name: str
    bindings: tuple[Binding, ...]
    last_poll_at: datetime | None
    last_success_at: datetime | None
    newest_entry_at: datetime | None
    cursor_age: timedelta | None  # how old the newest mirrored audit entry is
    last_error: str | None
    # With several VRChat accounts (bot.vrchat.pool): which one serves the group, or that none can.
    served_by: str | None = None
    unserved: bool = False
    # What the bot's VRChat account cannot do there (access.standing_problem), and when VRChat said so.
    permission_problem: str | None = None
    permissions_checked_at: datetime | None = None
    # The VRChat session serving this group is blocked: no poll reaches VRChat until a login.
    session_blocked: bool = False


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    channel_id: int
    pending: int
    oldest_pending_age: timedelta | None
    paused: bool
    paused_reason: str | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    guild_id: int
    generated_at: datetime
    vrchat_user_id: str | None
    session_blocked: bool
    groups: tuple[GroupStatus, ...]
    channels: tuple[ChannelStatus, ...]
    gaps: tuple[Gap, ...]  # spans of audit history that could not be fetched, not yet announced
    accounts: tuple[AccountUsage, ...] = ()  # each VRChat account's request budget (when known)
    database: str | None = None  # why the bot cannot write its database now; None when it can
    session: SessionState | None = None  # since when it is blocked, or when it last came back

    @property
    def paused_channels(self) -> tuple[ChannelStatus, ...]:
        return tuple(c for c in self.channels if c.paused)

    @property
    def outbox_pending(self) -> int:
        return sum(c.pending for c in self.channels)


@dataclass(frozen=True, slots=True)
class Linked:
    """A new binding, and what the bot's VRChat account lacks in its group (VRChat's own view)."""

    binding: Binding
    permission_problem: str | None  # access.standing_problem: None when nothing is missing


@dataclass(frozen=True, slots=True)
class _Checked:
    standing: GroupStanding
    at: datetime


def _snowflake(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(f"That is not a valid Discord {what} ID.")
    return value


def _families(families: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in families if isinstance(f, str) and f.strip()))
    if not chosen:
        raise InvalidInput(f"Pick at least one kind of event: {', '.join(EVENT_FAMILIES)}.")
    unknown = [f for f in chosen if f not in EVENT_FAMILIES]
    if unknown:
        raise InvalidInput(
            f"Unknown kind of event {', '.join(quoted(f, 30) for f in unknown)}; choose from "
            f"{', '.join(EVENT_FAMILIES)}."
        )
    return chosen


class BindingService:
    def __init__(
        self,
        client: VRChatAPI,
        store: BindingAdmin,
        access: Access,
        actions: ActionLog,
        clock: Clock,
        *,
        accounts: AccountPool | None = None,
    ) -> None:
        self._client = client
        self._accounts = accounts  # None: a single client, which says nothing about accounts
        self._store = store
        self._access = access
        self._actions = actions
        self._clock = clock
        # The bot account's standing per group, from /bridge link or a status re-check (the link's
        # action log record has it too, for after a restart).
        self._checked: dict[str, _Checked] = {}

    def _admin_here(self, actor: Actor, guild_id: int) -> None:
        self._access.require_same_guild(actor, guild_id)
        self._access.require_admin(actor)

    async def _bindings(self, guild_id: int, group_id: str) -> list[Binding]:
        bindings = await self._store.list_bindings(guild_id=guild_id, group_id=group_id)
        if not bindings:
            raise NotFoundError(
                f"This server is not linked to the VRChat group {self._access.group_label(group_id)}."
            )
        return bindings

    async def link(
        self,
        actor: Actor,
        guild_id: int,
        group_id_text: str,
        feed_channel_id: int,
        requests_channel_id: int | None = None,
        moderator_role_ids: Iterable[int] = (),
    ) -> Linked:
        """Link a group to this server: its audit log goes to the feed channel (admins only).

        The link is made even when the bot's VRChat account lacks a permission there (an operator
        can fix its role afterwards), but the result says what is missing."""
        self._admin_here(actor, guild_id)
        ref = group_ref(group_id_text)
        feed = _snowflake(feed_channel_id, "channel")
        requests = _snowflake(requests_channel_id, "channel") if requests_channel_id is not None else None
        roles = tuple(dict.fromkeys(_snowflake(r, "role") for r in moderator_role_ids))
        group_id = await group_id_of(self._client, ref)  # a short code costs one search, only now
        self._access.require_allowed_group(group_id)
        if await self._store.list_bindings(group_id=group_id, channel_id=feed):
            raise InvalidInput(f"{self._access.group_label(group_id)} already posts to <#{feed}>.")
        try:
            group = await self._client.get_group(group_id)
        except NoServingAccount:
            raise NotFoundError(
                f"None of the bot's VRChat accounts can serve {self._access.group_label(group_id)}: one "
                "of them must be a member with the permissions to view the audit log and manage invites."
            ) from None
        except (NotFound, Forbidden):
            raise NotFoundError(
                f"VRChat has no group {group_id}, or the bot's VRChat account cannot see it."
            ) from None
        try:
            binding = await self._store.add_binding(
                BindingIn(group_id, guild_id, feed, requests, roles), source="command"
            )
        except DuplicateBindingError:
            raise InvalidInput(f"{self._access.group_label(group_id)} already posts to <#{feed}>.") from None
        standing = GroupStanding.of(group)
        self._checked[group_id] = _Checked(standing, self._clock())
        await self._actions.record(
            actor,
            group_id,
            "binding.link",
            target_id=group_id,
            details={
                "group_name": group.name,
                "feed_channel_id": feed,
                "requests_channel_id": requests,
                "bot_membership": standing.status,
                "bot_permissions": list(standing.permissions) if standing.permissions is not None else None,
            },
        )
        return Linked(binding, standing_problem(standing))

    async def unlink(self, actor: Actor, guild_id: int, group_id: str) -> list[Binding]:
        """Remove every link of that group in this server; links from config.toml are refused."""
        self._admin_here(actor, guild_id)
        gid = checked_group_id(group_id)
        bindings = await self._bindings(guild_id, gid)
        if any(b.source == "config" for b in bindings):
            raise PermissionDenied(
                f"The link to {self._access.group_label(gid)} comes from config.toml; remove it there "
                "(it would come back at the next start otherwise)."
            )
        for binding in bindings:
            await self._store.remove_binding(binding.id)
        await self._actions.record(
            actor,
            gid,
            "binding.unlink",
            target_id=gid,
            details={"channels": [b.feed_channel_id for b in bindings]},
        )
        return bindings

    async def set_events(
        self, actor: Actor, guild_id: int, group_id: str, families: Iterable[str]
    ) -> list[Binding]:
        """Choose which kinds of events (bot.events families) the group's feed carries here."""
        self._admin_here(actor, guild_id)
        gid = checked_group_id(group_id)
        chosen = _families(families)
        bindings = await self._bindings(guild_id, gid)
        updated = [b for b in [await self._store.set_event_families(b.id, chosen) for b in bindings] if b]
        await self._actions.record(
            actor, gid, "binding.events", target_id=gid, details={"families": list(chosen)}
        )
        return updated

    async def resume(self, actor: Actor, guild_id: int, channel_id: int) -> list[Binding]:
        """Start posting again to a feed channel the bot paused (after fixing what it complained about)."""
        self._admin_here(actor, guild_id)
        channel = _snowflake(channel_id, "channel")
        bindings = await self._store.list_bindings(guild_id=guild_id, channel_id=channel)
        if not bindings:
            raise NotFoundError(f"<#{channel}> is not a feed channel of this server.")
        paused = [b for b in bindings if b.paused]
        if not paused:
            raise InvalidInput(f"<#{channel}> is not paused; nothing to resume.")
        await self._store.resume_binding(channel_id=channel)
        for binding in paused:
            await self._actions.record(
                actor,
                binding.group_id,
                "binding.resume",
                target_id=binding.group_id,
                details={"channel_id": channel, "paused_reason": binding.paused_reason},
            )
        return [b for b in await self._store.list_bindings(guild_id=guild_id, channel_id=channel)]

    async def status(self, guild_id: int) -> StatusReport:
        """Health of everything this server relies on: the VRChat session, polling, the outbox."""
        now = self._clock()
        database = await self._store.write_problem()
        if database is not None:
            # Every transaction of the store begins IMMEDIATE, reads too: they would wait out the lock
            # (longer than Discord waits for an answer), so say what is known without the database.
            return StatusReport(
                guild_id,
                now,
                self._client.user_id,
                self._client.session_blocked,
                (),
                (),
                (),
                database=database,
                session=self._client.session_state,
            )
        bindings = await self._store.list_bindings(guild_id=guild_id)
        cursors = {c.group_id: c for c in await self._store.list_cursors()}
        groups = []
        for group_id in dict.fromkeys(b.group_id for b in bindings):
            cursor = cursors.get(group_id)
            served_by, unserved = self._serving(group_id)
            checked = await self._standing(guild_id, group_id, now)
            groups.append(
                GroupStatus(
                    group_id=group_id,
                    group_name=self._access.group_label(group_id),
                    bindings=tuple(b for b in bindings if b.group_id == group_id),
                    last_poll_at=cursor.last_poll_at if cursor else None,
                    last_success_at=cursor.last_success_at if cursor else None,
                    newest_entry_at=cursor.newest_created_at if cursor else None,
                    cursor_age=age(cursor.newest_created_at if cursor else None, now),
                    last_error=cursor.last_error if cursor else None,
                    served_by=served_by,
                    unserved=unserved,
                    permission_problem=standing_problem(checked.standing) if checked else None,
                    permissions_checked_at=checked.at if checked else None,
                    session_blocked=self._blocked(group_id),
                )
            )
        backlog = {c.channel_id: c for c in (await self._store.outbox_stats(now)).channels}
        channels = []
        for channel_id in dict.fromkeys(b.feed_channel_id for b in bindings):
            mine = [b for b in bindings if b.feed_channel_id == channel_id]
            queued = backlog.get(channel_id)
            paused = next((b for b in mine if b.paused), None)
            channels.append(
                ChannelStatus(
                    channel_id=channel_id,
                    pending=queued.pending if queued else 0,
                    oldest_pending_age=age(queued.oldest_pending_at if queued else None, now),
                    paused=paused is not None,
                    paused_reason=paused.paused_reason if paused else None,
                )
            )
        gaps = [g for group in groups for g in await self._store.unnotified_gaps(group.group_id)]
        return StatusReport(
            guild_id=guild_id,
            generated_at=now,
            vrchat_user_id=self._client.user_id,
            session_blocked=self._client.session_blocked,
            groups=tuple(groups),
            channels=tuple(channels),
            gaps=tuple(gaps),
            accounts=tuple(self._accounts.usage()) if self._accounts is not None else (),
            session=self._client.session_state,
        )

    def _serving(self, group_id: str) -> tuple[str | None, bool]:
        """Which account serves the group, and whether none can; only worth saying when there are
        several accounts. Asks VRChat nothing: a group not decided yet shows neither."""
        if self._accounts is None or len(self._accounts) < 2:
            return None, False
        account = self._accounts.serving(group_id)
        return (account.name if account else None), self._accounts.unservable(group_id)

    def _blocked(self, group_id: str) -> bool:
        """Whether the session that would serve this group is blocked (with several accounts, only
        that account's; a group not decided yet counts as blocked when any account is)."""
        if self._accounts is not None and len(self._accounts) > 1:
            account = self._accounts.serving(group_id)
            if account is not None:
                return account.client.session_blocked
        return self._client.session_blocked

    async def _standing(self, guild_id: int, group_id: str, now: datetime) -> _Checked | None:
        """The newest known standing of the bot account in the group; asked again of VRChat when it
        showed a problem and is over RECHECK_AFTER old (never while the session is blocked, never
        longer than RECHECK_TIMEOUT: then what was known stays)."""
        checked = self._checked.get(group_id) or await self._linked_standing(guild_id, group_id)
        if checked is None or standing_problem(checked.standing) is None:
            return checked
        if now - checked.at < RECHECK_AFTER or self._blocked(group_id):
            return checked
        try:
            group = await asyncio.wait_for(self._client.get_group(group_id), RECHECK_TIMEOUT)
        except (TimeoutError, VRChatError):  # NoServingAccount too: shown as "unserved"
            return checked
        fresh = self._checked[group_id] = _Checked(GroupStanding.of(group), now)
        return fresh

    async def _linked_standing(self, guild_id: int, group_id: str) -> _Checked | None:
        """What VRChat said when the group was last linked in this server (from the action log)."""
        records = await self._store.list_actions(
            guild_id=guild_id, group_id=group_id, action="binding.link", limit=1
        )
        details = records[0].details if records else None
        if not details or "bot_membership" not in details:
            return None  # linked from config.toml, or before this was recorded
        permissions = details.get("bot_permissions")
        standing = GroupStanding(
            status=details.get("bot_membership"),
            permissions=tuple(str(p) for p in permissions) if isinstance(permissions, list) else None,
        )
        return _Checked(standing, records[0].created_at)
