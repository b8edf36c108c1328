"""Plain values that go in and out of the store.

The store never hands out ORM objects: callers (poller, feed sender, slash commands) get frozen
dataclasses, so nothing outside bot/store can lazily trigger SQL or hold a session open.
Discord snowflakes are ints; VRChat ids are strings; every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.events import family_of

OutboxState = Literal["pending", "sending", "sent", "failed", "skipped"]
BindingSource = Literal["config", "command"]
ActionOutcome = Literal["ok", "error"]

SetAsideStage = Literal["parse", "store", "render", "send"]

OUTBOX_STATES: tuple[OutboxState, ...] = ("pending", "sending", "sent", "failed", "skipped")
SET_ASIDE_STAGES: tuple[SetAsideStage, ...] = ("parse", "store", "render", "send")
# The event type of a placeholder whose entry's own type could not be read: queued for every
# binding of the group, since none can tell whether it wanted the entry.
UNKNOWN_EVENT_TYPE = "unknown"
BINDING_SOURCES: tuple[BindingSource, ...] = ("config", "command")
ACTION_OUTCOMES: tuple[ActionOutcome, ...] = ("ok", "error")


class StoreError(Exception):
    """Base class for errors the store raises on purpose (not driver errors)."""


class DuplicateBindingError(StoreError):
    """A binding for this (group_id, feed_channel_id) already exists."""


class InvalidCursorError(StoreError, ValueError):
    """A pagination cursor that this store did not produce (or that was mangled in transit)."""


@dataclass(frozen=True, slots=True)
class SetAsideIn:
    """Why an entry is set aside: the stage that failed, the reason, and what VRChat sent (JSON)."""

    stage: SetAsideStage
    reason: str
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class SetAside:
    """A set-aside entry (bot.store.set_aside): its audit id, why, and what VRChat sent."""

    entry_id: str
    group_id: str
    stage: SetAsideStage
    reason: str
    raw: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntryIn:
    """One audit log entry as fetched from VRChat, ready to store (group id is given to ingest).

    With `set_aside` it is a placeholder for an entry that could not be read: stored as what could
    be kept of it, with the reason, and posted as a notice in its place.
    """

    id: str
    created_at: datetime
    event_type: str
    actor_id: str | None = None
    actor_display_name: str | None = None
    target_id: str | None = None
    description: str = ""
    data: Mapping[str, Any] | None = None
    discord_actor_id: int | None = None
    discord_actor_name: str | None = None
    set_aside: SetAsideIn | None = None

    def stored(self, group_id: str, fetched_at: datetime) -> StoredEntry:
        """This entry as the store keeps it for `group_id` (the dry run shows the same, unstored)."""
        return StoredEntry(
            id=self.id,
            group_id=group_id,
            created_at=self.created_at,
            event_type=self.event_type,
            actor_id=self.actor_id,
            actor_display_name=self.actor_display_name,
            target_id=self.target_id,
            description=self.description,
            data=dict(self.data) if self.data is not None else None,
            fetched_at=fetched_at,
            discord_actor_id=self.discord_actor_id,
            discord_actor_name=self.discord_actor_name,
        )


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: str
    group_id: str
    created_at: datetime
    event_type: str
    actor_id: str | None
    actor_display_name: str | None
    target_id: str | None
    description: str
    data: Any
    fetched_at: datetime
    discord_actor_id: int | None
    discord_actor_name: str | None


@dataclass(frozen=True, slots=True)
class CursorUpdate:
    """What a successful poll learned. The newest marker only ever moves forward (see Store.ingest)."""

    newest_entry_id: str | None = None
    newest_created_at: datetime | None = None
    backfill_done: bool | None = None  # None leaves the stored flag alone
    mark_success: bool = True  # also stamp last_poll_at/last_success_at and clear last_error


@dataclass(frozen=True, slots=True)
class GroupCursor:
    group_id: str
    newest_entry_id: str | None
    newest_created_at: datetime | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    backfill_done: bool


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_ids: list[str]  # in batch order
    duplicates: int  # entries skipped: already stored, or repeated inside the batch
    queued: int = 0  # outbox rows created
    set_aside: list[str] = field(default_factory=list)  # new entries stored as placeholders


@dataclass(frozen=True, slots=True)
class BindingIn:
    group_id: str
    guild_id: int
    feed_channel_id: int
    requests_channel_id: int | None = None
    moderator_role_ids: tuple[int, ...] = ()
    event_families: tuple[str, ...] = ()  # bot.events family names or exact types; empty = all


@dataclass(frozen=True, slots=True)
class Binding:
    id: int
    group_id: str
    guild_id: int
    feed_channel_id: int
    requests_channel_id: int | None
    moderator_role_ids: tuple[int, ...]
    event_families: tuple[str, ...]
    paused: bool
    paused_reason: str | None
    source: BindingSource
    created_at: datetime

    def wants(self, event_type: str) -> bool:
        """Whether this binding's feed should carry an entry of this type.

        A listed friendly family (bot.events: "moderation", "requests", ...) matches every type in
        it; a listed full event type matches only itself, so a binding can also subscribe to one
        single event type.
        """
        if not self.event_families:
            return True
        return family_of(event_type) in self.event_families or event_type in self.event_families


@dataclass(frozen=True, slots=True)
class ConfigSyncResult:
    added: int
    updated: int
    unchanged: int
    removed: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    binding_id: int
    channel_id: int
    state: OutboxState
    attempts: int
    nonce: str | None
    discord_message_id: int | None
    delayed: bool
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    entry: StoredEntry
    set_aside: SetAside | None = None  # then a notice is posted in the entry's place


@dataclass(frozen=True, slots=True)
class ChannelBacklog:
    channel_id: int
    pending: int
    oldest_pending_at: datetime  # when the oldest pending row was queued


@dataclass(frozen=True, slots=True)
class OutboxStats:
    channels: list[ChannelBacklog]
    total_pending: int
    oldest_pending_age: timedelta | None  # None when nothing is pending


@dataclass(frozen=True, slots=True)
class Gap:
    id: int
    group_id: str
    start: datetime
    end: datetime
    reason: str
    created_at: datetime
    notified: bool


@dataclass(frozen=True, slots=True)
class ActionIn:
    guild_id: int | None
    discord_user_id: int
    discord_user_name: str
    group_id: str | None
    action: str  # 'request.accept', 'invite', 'post.create', 'member.kick', ...
    target_id: str | None = None
    details: Mapping[str, Any] | None = None
    outcome: ActionOutcome = "ok"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: int
    created_at: datetime
    guild_id: int | None
    discord_user_id: int
    discord_user_name: str
    group_id: str | None
    action: str
    target_id: str | None
    details: Any
    outcome: ActionOutcome
    error: str | None


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: list[StoredEntry]
    next_cursor: str | None  # pass as before_cursor for the next (older) page; None = last page
