"""Shared plumbing for the Store mixins: engine, sessions, clock, dialect helpers, row converters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.store.types as t
from bot.store.models import (
    ActionLogRow,
    AuditEntryRow,
    BindingRow,
    GapRow,
    GroupCursorRow,
    OutboxRow,
    SetAsideRow,
)

T = TypeVar("T")

# Keeps IN (...) lists well below SQLite's bound-parameter limit and PostgreSQL's 32767.
IN_CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def changed_rows(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an UPDATE or DELETE changed. Session.execute is typed to return any Result; for
    those statements it is a CursorResult, which counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} does not count changed rows")
    return result.rowcount


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StoreBase:
    """State every mixin relies on; Store.open fills it in."""

    _engine: AsyncEngine
    _sessions: async_sessionmaker[AsyncSession]
    _clock: Callable[[], datetime]

    def _now(self) -> datetime:
        return self._clock()

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    def _insert(self, table: Table) -> Any:
        """INSERT that supports on_conflict_do_nothing/do_update on the current backend."""
        if self.dialect_name == "postgresql":
            return postgresql.insert(table)
        if self.dialect_name == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(f"unsupported database backend {self.dialect_name!r}")


def table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def entry_from_row(row: AuditEntryRow) -> t.StoredEntry:
    return t.StoredEntry(
        id=row.id,
        group_id=row.group_id,
        created_at=row.created_at,
        event_type=row.event_type,
        actor_id=row.actor_id,
        actor_display_name=row.actor_display_name,
        target_id=row.target_id,
        description=row.description,
        data=row.data,
        fetched_at=row.fetched_at,
        discord_actor_id=row.discord_actor_id,
        discord_actor_name=row.discord_actor_name,
    )


def cursor_from_row(row: GroupCursorRow) -> t.GroupCursor:
    return t.GroupCursor(
        group_id=row.group_id,
        newest_entry_id=row.newest_entry_id,
        newest_created_at=row.newest_created_at,
        last_poll_at=row.last_poll_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        backfill_done=row.backfill_done,
    )


def binding_from_row(row: BindingRow) -> t.Binding:
    return t.Binding(
        id=row.id,
        group_id=row.group_id,
        guild_id=row.guild_id,
        feed_channel_id=row.feed_channel_id,
        requests_channel_id=row.requests_channel_id,
        moderator_role_ids=tuple(int(r) for r in row.moderator_role_ids or ()),
        event_families=tuple(str(f) for f in row.event_families or ()),
        paused=row.paused,
        paused_reason=row.paused_reason,
        source=cast(t.BindingSource, row.source),
        created_at=row.created_at,
    )


def outbox_from_rows(row: OutboxRow, entry: AuditEntryRow, aside: SetAsideRow | None = None) -> t.OutboxItem:
    return t.OutboxItem(
        id=row.id,
        binding_id=row.binding_id,
        channel_id=row.channel_id,
        state=cast(t.OutboxState, row.state),
        attempts=row.attempts,
        nonce=row.nonce,
        discord_message_id=row.discord_message_id,
        delayed=row.delayed,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        entry=entry_from_row(entry),
        set_aside=None
        if aside is None
        else t.SetAside(
            entry_id=aside.entry_id,
            group_id=aside.group_id,
            stage=cast(t.SetAsideStage, aside.stage),
            reason=aside.reason,
            raw=aside.raw,
            created_at=aside.created_at,
        ),
    )


def gap_from_row(row: GapRow) -> t.Gap:
    return t.Gap(
        id=row.id,
        group_id=row.group_id,
        start=row.start,
        end=row.end,
        reason=row.reason,
        created_at=row.created_at,
        notified=row.notified,
    )


def action_from_row(row: ActionLogRow) -> t.ActionRecord:
    return t.ActionRecord(
        id=row.id,
        created_at=row.created_at,
        guild_id=row.guild_id,
        discord_user_id=row.discord_user_id,
        discord_user_name=row.discord_user_name,
        group_id=row.group_id,
        action=row.action,
        target_id=row.target_id,
        details=row.details,
        outcome=cast(t.ActionOutcome, row.outcome),
        error=row.error,
    )


def ids_list(ids: Iterable[Any]) -> list[Any]:
    """De-duplicate while keeping order, so chunked IN lists stay small and results stay stable."""
    return list(dict.fromkeys(ids))


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so user-supplied prefixes match literally (use with escape='\\\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
