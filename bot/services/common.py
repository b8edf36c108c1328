"""What every service shares: who is acting, the errors a moderator may see, and small helpers.

A ServiceError's text is shown to the Discord user as is (bot.views.errors), so each one is a short,
specific sentence: no traceback, no internal names, never a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from bot.activity import GroupActivity
from bot.store import ActionIn, ActionOutcome
from bot.store.ports import ActionJournal
from bot.text import clip, safe_text  # clip: the one clipping helper (UTF-16 units, as Discord counts)
from bot.vrchat import InvalidReference
from bot.vrchat.ids import require_group_id

Where = Literal["Discord", "VRChat"]
Clock = Callable[[], datetime]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Actor:
    """The Discord user behind a command or button click, as the cog saw them at that moment."""

    user_id: int
    name: str
    guild_id: int | None
    role_ids: frozenset[int]
    manage_guild: bool


class ServiceError(Exception):
    """Base of every error a service raises on purpose; the message is shown to the user as is."""

    @property
    def message(self) -> str:
        return str(self)


class PermissionDenied(ServiceError):
    """The actor may not do this (or the bot may not manage that group)."""


class NotFoundError(ServiceError):
    """The thing named does not exist, or is not visible to the bot."""


class InvalidInput(ServiceError):
    """The input was refused before anything was sent or written."""


class AlreadyHandled(ServiceError):
    """Someone else got there first: a moderator in Discord, or someone in VRChat itself.

    ``outcome`` is 'accepted' | 'rejected' | 'blocked' | 'gone'; ``by`` the name of who did it when known
    (with ``by_discord_id`` for a Discord moderator), ``when`` the time, ``where`` "Discord" or "VRChat".
    """

    def __init__(
        self,
        message: str,
        *,
        outcome: str,
        by: str | None,
        when: datetime | None,
        where: Where,
        by_discord_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.by = by
        self.when = when
        self.where = where
        self.by_discord_id = by_discord_id

    @classmethod
    def describe(
        cls,
        *,
        outcome: str,
        by: str | None,
        when: datetime | None,
        where: Where,
        now: datetime,
        by_discord_id: int | None = None,
    ) -> AlreadyHandled:
        """ "Already accepted by @maya (Discord) 2 minutes ago." and its VRChat counterparts."""
        if outcome == "gone" or by is None:
            text = f"This request is no longer pending in {where} (withdrawn or handled elsewhere)."
        else:
            # A VRChat display name can be 2,000 characters and carry markdown: one inert line.
            name = safe_text(by, 100, single_line=True)
            who = f"@{name}" if where == "Discord" else name
            place = "Discord" if where == "Discord" else "in VRChat"
            ago = f" {time_ago(when, now)}" if when is not None else ""
            text = f"Already {outcome} by {who} ({place}){ago}."
        return cls(text, outcome=outcome, by=by, when=when, where=where, by_discord_id=by_discord_id)


def time_ago(when: datetime, now: datetime) -> str:
    """ "just now", "1 minute ago", "3 hours ago", "2 days ago"."""
    seconds = max(0.0, (now - when).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"


class ActionLog:
    """Writes the action log for the services (who did what through the bot, and how it went)."""

    def __init__(self, store: ActionJournal, activity: GroupActivity | None = None) -> None:
        self._store = store
        self._activity = activity  # every action on a group is activity there (bot.activity)

    async def record(
        self,
        actor: Actor,
        group_id: str | None,
        action: str,
        *,
        target_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        outcome: ActionOutcome = "ok",
        error: str | None = None,
    ) -> None:
        if group_id is not None and self._activity is not None:
            self._activity.touched(group_id)  # first: it happened, even if the log write fails
        await self._store.record_action(
            ActionIn(
                guild_id=actor.guild_id,
                discord_user_id=actor.user_id,
                discord_user_name=actor.name,
                group_id=group_id,
                action=action,
                target_id=target_id,
                details=details,
                outcome=outcome,
                error=error,
            )
        )

    async def record_failure(
        self,
        actor: Actor,
        group_id: str | None,
        action: str,
        exc: BaseException,
        *,
        target_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """The action was tried and failed with `exc`: logged as an error, before the caller explains it."""
        await self.record(
            actor,
            group_id,
            action,
            target_id=target_id,
            details=details,
            outcome="error",
            error=error_text(exc),
        )


class TTLCache(Generic[K, V]):
    """A tiny time-based cache (monotonic clock), bounded in size; oldest entries go first."""

    def __init__(self, ttl: float, max_entries: int = 512, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        stored_at, value = item
        if self._clock() - stored_at > self.ttl:
            del self._items[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        self._items.pop(key, None)
        self._items[key] = (self._clock(), value)
        while len(self._items) > self.max_entries:
            del self._items[next(iter(self._items))]

    def clear(self) -> None:
        self._items.clear()


def age(moment: datetime | None, now: datetime) -> timedelta | None:
    return now - moment if moment is not None else None


class KeyedLocks(Generic[K]):
    """One asyncio.Lock per key, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[K, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: K) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def error_text(exc: BaseException) -> str:
    """A one-line description of a failure for the action log (VRChat errors carry no secrets)."""
    return clip(f"{type(exc).__name__}: {exc}", 500)


def checked_group_id(group_id: str) -> str:
    """A group ID as the cogs pass it (from a binding or an option); InvalidInput otherwise."""
    try:
        return require_group_id(group_id)
    except InvalidReference as exc:
        raise InvalidInput(str(exc)) from None
