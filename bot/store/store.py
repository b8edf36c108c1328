"""The Store: lifecycle, audit ingest and poll cursors. Other concerns live in the mixin modules."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.store.health as health
import bot.store.schema_version as schema_version
from bot import crashpoints
from bot.store._base import (
    StoreBase,
    binding_from_row,
    chunked,
    cursor_from_row,
    fields_of,
    ids_list,
    table,
    utcnow,
)
from bot.store.ban_prompts import BanPromptOps
from bot.store.bindings import BindingOps
from bot.store.cards import CardOps
from bot.store.engine import create_engine, is_memory_sqlite, normalise_url, sqlite_location_problem
from bot.store.gateway_lock import GatewayLock
from bot.store.history import HistoryOps
from bot.store.history_pagers import HistoryPagerOps
from bot.store.instance_reports import InstanceReportOps
from bot.store.journal import JournalOps
from bot.store.leases import LeaseFence, LeaseOps, check_fence
from bot.store.links import LinkOps
from bot.store.migrate_process import migrate_in_child
from bot.store.models import AuditEntryRow, BindingRow, GroupCursorRow, OutboxRow
from bot.store.moderator_alerts import ModeratorAlertOps
from bot.store.outbox import OutboxOps
from bot.store.process_state import ProcessStateOps
from bot.store.query import QueryOps
from bot.store.role_sync import RoleSyncOps
from bot.store.role_sync_asks import RoleSyncAskOps
from bot.store.rules import RuleOps
from bot.store.session_notices import SessionNoticeOps
from bot.store.set_aside import SetAsideOps, describe, may_be_the_data, placeholder_for
from bot.store.stats import StatsOps
from bot.store.types import (
    UNKNOWN_EVENT_TYPE,
    AuditEntryIn,
    CursorUpdate,
    GroupCursor,
    IngestResult,
    SetAsideIn,
    StoreError,
)
from bot.store.vrchat_calls import VRChatCallOps
from bot.store.wake_bus import OUTBOX, WakeBus, announce
from bot.store.wakes import WakeOps
from bot.store.watchlist import WatchlistOps

log = logging.getLogger(__name__)

# Test seam, see Store.ingest_hook: (stage name, the ingest's session) -> awaitable.
IngestHook = Callable[[str, AsyncSession], Awaitable[None]]


class Store(
    OutboxOps,
    BindingOps,
    CardOps,
    JournalOps,
    HistoryOps,  # before QueryOps and NoteOps, which it extends
    HistoryPagerOps,
    QueryOps,
    WatchlistOps,
    RuleOps,
    StatsOps,
    LeaseOps,
    SetAsideOps,
    LinkOps,
    SessionNoticeOps,
    BanPromptOps,
    InstanceReportOps,
    ModeratorAlertOps,
    RoleSyncOps,
    RoleSyncAskOps,
    ProcessStateOps,
    WakeOps,
    VRChatCallOps,
    StoreBase,
):
    """Async access to the GroupBridge database. Create with ``await Store.open(url)``."""

    def __init__(self, url: str | URL, *, clock: Callable[[], datetime] = utcnow, echo: bool = False) -> None:
        self._engine = create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        self._clock = clock
        # Wakes this process when another one writes rows for it (PostgreSQL; a no-op on SQLite).
        self.wake_bus = WakeBus(self._engine)
        # Test seam: awaited after each of ingest's steps ('entries', 'outbox', 'cursor') with the
        # open session, inside the transaction. Whatever fails there must leave no trace of the batch.
        self.ingest_hook: IngestHook | None = None

    @classmethod
    async def open(
        cls, url: str | URL, *, clock: Callable[[], datetime] = utcnow, echo: bool = False
    ) -> Store:
        parsed = normalise_url(url)
        problem = sqlite_location_problem(parsed)  # one stat() at startup; fine to block
        if problem:
            raise StoreError(problem)
        store = cls(parsed, clock=clock, echo=echo)
        # Connect once now so a bad URL or unreachable server fails at startup, not on first poll.
        try:
            async with store._engine.connect():
                pass
        except BaseException:
            await store.close()
            raise
        return store

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine (health checks, diagnostics, tests). Prefer the methods below."""
        return self._engine

    async def close(self) -> None:
        await self.wake_bus.stop()
        await self._engine.dispose()

    def gateway_lock(self) -> GatewayLock | None:
        """The PostgreSQL lock that names the Discord gateway process (bot.store.gateway_lock); None
        on SQLite, where one process holds everything."""
        return GatewayLock(self._engine) if self.dialect_name == "postgresql" else None

    async def write_problem(self) -> str | None:
        """Why a write would fail right now (SQLite locked, read-only file), or None; answers at once."""
        return await health.write_problem(self._engine.url)

    async def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to `revision` on this store's database. A database already
        at the newest schema (every start but the first after an upgrade) asks nothing more; any
        other migrates in a child process (bot.store.migrate_process), so this one never loads
        Alembic. Only an in-memory database, which no other process can open, migrates here."""
        if revision == "head" and await schema_version.at_head(self._engine):
            return
        if not is_memory_sqlite(self._engine.url):
            await migrate_in_child(self._engine.url, revision)
            return
        import bot.store.migrate as migrate  # here: see bot.store.schema_version

        await migrate.run_upgrade(self._engine, revision)

    async def downgrade(self, revision: str) -> None:
        import bot.store.migrate as migrate

        await migrate.run_downgrade(self._engine, revision)

    # ---------------------------------------------------------------- ingest

    async def ingest(
        self,
        group_id: str,
        entries: Sequence[AuditEntryIn],
        *,
        cursor_update: CursorUpdate | None = None,
        enqueue: bool = True,
        delayed_ids: Collection[str] = (),
        fence: LeaseFence | None = None,
    ) -> IngestResult:
        """Store new entries, queue them for every interested binding and move the cursor, atomically.

        Entries already stored (or repeated in the batch) are skipped and never re-queued, so a poll
        that overlaps the previous one is harmless. enqueue=False stores without posting (backfill).
        delayed_ids marks the outbox rows of entries that showed up late (posted with a note).
        With a fence, nothing is written unless the group's lease is still this process's (LeaseLost).
        """
        unique: dict[str, AuditEntryIn] = {}
        for entry in entries:
            unique.setdefault(entry.id, entry)
        now = self._now()
        queued = 0
        async with self._sessions.begin() as session:
            if fence is not None:
                await check_fence(session, fence, now)
            new_ids, aside = await self._store_entries(session, group_id, unique, now)
            await self._run_hook("entries", session)
            if enqueue and new_ids:
                queued = await self._enqueue(session, group_id, new_ids, unique, set(delayed_ids), now)
            await self._run_hook("outbox", session)
            if cursor_update is not None:
                await self._apply_cursor(session, group_id, cursor_update, now)
            await self._run_hook("cursor", session)
        crashpoints.reached("store.after_ingest")
        return IngestResult(
            new_ids=new_ids, duplicates=len(entries) - len(new_ids), queued=queued, set_aside=aside
        )

    async def _store_entries(
        self, session: AsyncSession, group_id: str, unique: dict[str, AuditEntryIn], now: datetime
    ) -> tuple[list[str], list[str]]:
        """Insert the batch; returns (new ids, the new ones set aside), both in batch order.

        If the database refuses the batch for something in it (not for being unreachable, locked or
        full), the entries go in one at a time, each in a savepoint, and one that is still refused
        is replaced by a placeholder and set aside: one entry never holds up the rest. A placeholder
        that is refused too means the trouble is the database's after all, and the whole ingest fails.
        """
        try:
            async with session.begin_nested():
                new_ids = await self._insert_entries(session, group_id, unique, now)
        except Exception as exc:
            if not may_be_the_data(exc):
                raise
            return await self._store_one_by_one(session, group_id, unique, now, exc)
        aside = [(i, marked) for i in new_ids if (marked := unique[i].set_aside) is not None]
        await self._record_set_aside(session, group_id, aside, now)
        return new_ids, [i for i, _ in aside]

    async def _store_one_by_one(
        self,
        session: AsyncSession,
        group_id: str,
        unique: dict[str, AuditEntryIn],
        now: datetime,
        batch_error: Exception,
    ) -> tuple[list[str], list[str]]:
        new_ids: list[str] = []
        aside: list[tuple[str, SetAsideIn]] = []
        for entry_id, entry in unique.items():
            try:
                async with session.begin_nested():
                    stored = await self._insert_entries(session, group_id, {entry_id: entry}, now)
            except Exception as exc:
                if not may_be_the_data(exc):
                    raise
                reason = f"could not be stored: {describe(exc)}"
                entry = placeholder_for(entry, reason)
                try:
                    async with session.begin_nested():
                        stored = await self._insert_entries(session, group_id, {entry_id: entry}, now)
                except Exception:
                    raise batch_error from None  # not even the placeholder: the database is in trouble
                if stored:
                    log.warning("Audit entry %s of %s set aside: %s", entry_id, group_id, reason)
            new_ids += stored
            if stored and entry.set_aside is not None:
                aside.append((entry_id, entry.set_aside))
        await self._record_set_aside(session, group_id, aside, now)
        return new_ids, [i for i, _ in aside]

    async def _run_hook(self, stage: str, session: AsyncSession) -> None:
        if self.ingest_hook is not None:
            await self.ingest_hook(stage, session)

    async def _insert_entries(
        self, session: AsyncSession, group_id: str, unique: dict[str, AuditEntryIn], now: datetime
    ) -> list[str]:
        if not unique:
            return []
        rows = [fields_of(e.stored(group_id, now)) for e in unique.values()]
        entries = table(AuditEntryRow)
        # One multi-row INSERT per ~1000 rows (SQLAlchemy "insertmanyvalues"); RETURNING tells us
        # which rows were new, because ON CONFLICT DO NOTHING silently drops the known ones.
        stmt = self._insert(entries).on_conflict_do_nothing(index_elements=["id"]).returning(entries.c.id)
        inserted = set((await session.execute(stmt, rows)).scalars())
        return [entry_id for entry_id in unique if entry_id in inserted]

    async def _enqueue(
        self,
        session: AsyncSession,
        group_id: str,
        new_ids: list[str],
        unique: dict[str, AuditEntryIn],
        delayed: set[str],
        now: datetime,
    ) -> int:
        # Paused bindings are queued for too: their rows wait (pending_for_channel skips them) and go
        # out, in order, after /bridge resume, so a channel that lost its permission loses nothing.
        result = await session.execute(select(BindingRow).where(BindingRow.group_id == group_id))
        bindings = [binding_from_row(row) for row in result.scalars()]
        rows = [
            {
                "entry_id": entry_id,
                "binding_id": binding.id,
                "channel_id": binding.feed_channel_id,
                "state": "pending",
                "attempts": 0,
                "delayed": entry_id in delayed,
                "created_at": now,
            }
            for entry_id in new_ids
            for binding in bindings
            if binding.wants(unique[entry_id].event_type) or _unknown_placeholder(unique[entry_id])
        ]
        if not rows:
            return 0
        outbox = table(OutboxRow)
        stmt = (
            self._insert(outbox)
            .on_conflict_do_nothing(index_elements=["entry_id", "channel_id"])
            .returning(outbox.c.channel_id)
        )
        channels = list((await session.execute(stmt, rows)).scalars())
        for channel_id in sorted(set(channels)):  # the channel's worker may be another process
            await announce(session, OUTBOX, channel_id)
        return len(channels)

    # ---------------------------------------------------------------- cursors

    async def _locked_cursor(self, session: AsyncSession, group_id: str) -> GroupCursorRow:
        """The group's cursor row, created if missing and locked for update (PostgreSQL)."""
        await session.execute(
            self._insert(table(GroupCursorRow))
            .values(group_id=group_id, backfill_done=False)
            .on_conflict_do_nothing(index_elements=["group_id"])
        )
        result = await session.execute(
            select(GroupCursorRow)
            .where(GroupCursorRow.group_id == group_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def _apply_cursor(
        self, session: AsyncSession, group_id: str, upd: CursorUpdate, now: datetime
    ) -> None:
        row = await self._locked_cursor(session, group_id)
        values: dict[str, Any] = {}
        if upd.newest_created_at is not None and upd.newest_entry_id is not None:
            new_key = (upd.newest_created_at, upd.newest_entry_id)
            old_key = (row.newest_created_at, row.newest_entry_id or "")
            # Never move backwards: a late or re-fetched older page must not rewind the cursor.
            if row.newest_created_at is None or new_key > old_key:
                values["newest_created_at"] = upd.newest_created_at
                values["newest_entry_id"] = upd.newest_entry_id
        if upd.backfill_done is not None:
            values["backfill_done"] = upd.backfill_done
        if upd.mark_success:
            values.update(last_poll_at=now, last_success_at=now, last_error=None)
        if values:
            await session.execute(
                update(GroupCursorRow).where(GroupCursorRow.group_id == group_id).values(**values)
            )

    async def get_cursor(self, group_id: str) -> GroupCursor | None:
        return await self._get(GroupCursorRow, group_id, cursor_from_row)

    async def list_cursors(self) -> list[GroupCursor]:
        return await self._all(select(GroupCursorRow).order_by(GroupCursorRow.group_id), cursor_from_row)

    async def record_poll(self, group_id: str, ok: bool, error: str | None = None) -> None:
        """Stamp a poll attempt; a failure keeps last_success_at and records the error text."""
        now = self._now()
        values: dict[str, Any] = {"last_poll_at": now}
        if ok:
            values.update(last_success_at=now, last_error=None)
        else:
            values["last_error"] = error or "unknown error"
        async with self._sessions.begin() as session:
            await self._locked_cursor(session, group_id)
            await session.execute(
                update(GroupCursorRow).where(GroupCursorRow.group_id == group_id).values(**values)
            )

    async def entry_groups(self, ids: Iterable[str]) -> dict[str, str]:
        """The group each of these entry ids is stored for; ids not stored are left out. (VRChat's
        ids are global: the poller uses this to tell its own known entries from another group's.)"""
        found: dict[str, str] = {}
        async with self._sessions() as session:
            for chunk in chunked(ids_list(ids)):
                result = await session.execute(
                    select(AuditEntryRow.id, AuditEntryRow.group_id).where(AuditEntryRow.id.in_(chunk))
                )
                found.update({entry_id: group_id for entry_id, group_id in result.all()})
        return found

    async def known_ids(self, group_id: str, ids: Iterable[str]) -> set[str]:
        """Which of these entry ids are already stored for the group (the poller's stop condition)."""
        wanted = ids_list(ids)
        found: set[str] = set()
        async with self._sessions() as session:
            for chunk in chunked(wanted):
                result = await session.execute(
                    select(AuditEntryRow.id).where(
                        AuditEntryRow.group_id == group_id, AuditEntryRow.id.in_(chunk)
                    )
                )
                found.update(result.scalars())
        return found


def _unknown_placeholder(entry: AuditEntryIn) -> bool:
    """A placeholder whose entry's type could not be read goes to every feed of the group."""
    return entry.set_aside is not None and entry.event_type == UNKNOWN_EVENT_TYPE
