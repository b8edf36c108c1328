"""What the dry run reads from VRChat for one group: only GET calls, each failure kept per group.

The VRChat client is called directly rather than through the feed poller: the poller exists to store
entries exactly once and needs a database for its cursor, while a dry run must leave the operator's
database alone and only needs "the newest entries" and "what is new since the last look", which a set
of ids seen in the newest page answers without any store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.config import Config
from bot.events import family_of
from bot.feed.poller import to_entry_in
from bot.requests.model import JoinRequest, build_request
from bot.services.users import UserDirectory
from bot.store.types import StoredEntry
from bot.vrchat import AuthError, Forbidden, NotFound, VRChatAPI, VRChatError
from bot.vrchat.models import AuditLogEntry, Group, UnreadableEntry, User
from bot.vrchat.permissions import AUDIT_VIEW, INVITES_MANAGE, refused_because
from bot.vrchat.pool import NoServingAccount

from .bindings import ShownBinding

PAGE = 100  # the API's maximum page size


@dataclass(frozen=True, slots=True)
class GroupTarget:
    """A group to look at: bound (bot.dryrun.bindings) and/or allow-listed in [[groups]]."""

    group_id: str
    configured_name: str | None
    bindings: tuple[ShownBinding, ...]

    def feed_channels(self, event_type: str) -> list[int]:
        """The feed channels whose binding takes this event type (what the outbox would post to)."""
        family = family_of(event_type)
        return [b.feed_channel_id for b in self.bindings if family in b.events]

    def request_channels(self) -> list[int]:
        return sorted({b.requests_channel_id for b in self.bindings if b.requests_channel_id})


def targets_from(config: Config, bindings: Sequence[ShownBinding]) -> list[GroupTarget]:
    """Bound groups first (in the bindings' order), then the rest of the allow-list."""
    order = [b.group_id for b in bindings] + [g.id for g in config.groups]
    targets = []
    for group_id in dict.fromkeys(order):
        listed = config.group(group_id)
        targets.append(
            GroupTarget(
                group_id=group_id,
                configured_name=listed.name if listed else None,
                bindings=tuple(b for b in bindings if b.group_id == group_id),
            )
        )
    return targets


def group_label(group: Group | None, target: GroupTarget) -> str:
    name = (group.name if group else None) or target.configured_name or "(name unknown)"
    code = f" ({group.short_code}.{group.discriminator})" if group and group.short_code else ""
    return f"{name}{code}"


def stored(entry: AuditLogEntry, group_id: str, fetched_at: datetime) -> StoredEntry:
    """An entry as the feed renderer takes it: what the poller would store, never credited to Discord."""
    return to_entry_in(entry).stored(group_id, fetched_at)


def explain(error: VRChatError, what: str, permission: str | None = None) -> str:
    """One sentence for the operator about a failed read."""
    if isinstance(error, NotFound):
        return f"cannot read {what}: VRChat has no such group, or the bot account cannot see it ({error})"
    if isinstance(error, Forbidden) and permission:
        return f"cannot read {what}: {refused_because(permission)} ({error})"
    return f"cannot read {what}: {error}"


@dataclass
class Seen:
    """What earlier passes learned about one group (for --follow): a read primes once it succeeds."""

    group: Group | None = None
    entry_ids: set[str] = field(default_factory=set)
    entries_primed: bool = False
    request_user_ids: set[str] = field(default_factory=set)
    requests_primed: bool = False
    last_errors: tuple[str, ...] = ()


@dataclass
class GroupPass:
    """One look at one group: what is new in it, and what could not be read."""

    target: GroupTarget
    group: Group | None = None  # set on the pass that first read the group
    account: str | None = None  # with several accounts: the one that read it (serves it)
    entries_first: bool = False  # this pass primed the audit log: entries are the newest, not new ones
    entries: list[StoredEntry] = field(default_factory=list)  # oldest first
    entries_not_shown: int = 0
    overflow: bool = False  # more new entries than one page holds
    unreadable: list[UnreadableEntry] = field(default_factory=list)  # new entries no reading made sense of
    requests_first: bool = False
    requests: list[JoinRequest] = field(default_factory=list)
    pending: int = 0  # on the priming pass: how many requests VRChat lists (at most one page)
    requests_not_shown: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


class GroupReader:
    """Reads groups for the dry run. Every call here is a GET."""

    def __init__(
        self,
        client: VRChatAPI,
        *,
        limit: int,
        clock: Callable[[], datetime],
        account_of: Callable[[str], str | None] = lambda _group_id: None,
    ) -> None:
        self._client = client
        self._account_of = account_of
        self._limit = limit
        self._clock = clock
        self._users = UserDirectory(client)

    async def read(self, target: GroupTarget, seen: Seen) -> GroupPass:
        result = GroupPass(target)
        gid = target.group_id
        if seen.group is None:
            try:
                seen.group = result.group = await self._client.get_group(gid)
                result.account = self._account_of(gid)
            except AuthError:
                raise  # the session is gone: the whole run stops (bot.dryrun.run), not one read
            except VRChatError as exc:
                result.errors.append(explain(exc, "the group"))
                if isinstance(exc, NotFound | NoServingAccount):
                    return result  # nothing else of a group VRChat does not show can be read
        for read, what, permission in (
            (self._read_entries, "the audit log", AUDIT_VIEW),
            (self._read_requests, "the join requests", INVITES_MANAGE),
        ):
            try:
                await read(result, seen)
            except AuthError:
                raise
            except VRChatError as exc:
                result.errors.append(explain(exc, what, permission))
        return result

    async def _read_entries(self, result: GroupPass, seen: Seen) -> None:
        page = await self._client.get_audit_logs(result.target.group_id, n=PAGE)
        fetched_at = self._clock()
        first = result.entries_first = not seen.entries_primed
        new = [e for e in page.results if e.id not in seen.entry_ids]
        if not first and page.has_next and len(new) == len(page.results):
            result.overflow = True
        # The bot sets these aside (kept, announced in the feed by audit id); the dry run names them.
        result.unreadable = [u for u in page.unreadable if u.key not in seen.entry_ids]
        # Newer pages only push entries down, so the ids of the newest page are all a later pass needs.
        seen.entry_ids = {e.id for e in page.results} | {u.key for u in page.unreadable}
        seen.entries_primed = True
        # Oldest first, ties in VRChat's own order: the order the feed would post them in.
        chosen = sorted(reversed(new), key=lambda e: to_entry_in(e).created_at)
        if first:
            total = page.total_count if page.has_next and page.total_count is not None else len(chosen)
            result.entries_not_shown = max(0, total - self._limit)
            chosen = chosen[-self._limit :]
        result.entries = [stored(e, result.target.group_id, fetched_at) for e in chosen]

    async def _read_requests(self, result: GroupPass, seen: Seen) -> None:
        gid = result.target.group_id
        requests = await self._client.list_join_requests(gid, n=PAGE)
        first = result.requests_first = not seen.requests_primed
        new = [r for r in requests if r.user_id not in seen.request_user_ids]
        seen.request_user_ids = {r.user_id for r in requests}
        seen.requests_primed = True
        shown = new[: self._limit] if first else new
        result.pending = len(requests)
        result.requests_not_shown = len(new) - len(shown)
        today = self._clock().astimezone(UTC).date()
        for request in shown:
            fallback = request.user.display_name if request.user else None
            try:
                profile = await self._users.profile(request.user_id, fallback)
            except AuthError:
                raise
            except VRChatError:
                # As on a card: the request is still shown, marked as having no profile to judge by.
                stub = User(id=request.user_id, display_name=fallback or request.user_id)
                view = replace(build_request(gid, request, stub, today), profile_available=False)
            else:
                view = build_request(gid, request, profile, today)
            result.requests.append(view)
