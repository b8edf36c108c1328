"""Outbox: the queue of audit entries waiting to be posted to Discord feed channels.

Life of a row: pending -> (claim_pending) sending -> (mark_sent) sent. A row is 'sending' from the
moment its message was built until Discord confirmed it. After a crash, rows_in_flight returns
those rows and the sender re-posts them with the SAME nonce, so Discord's nonce de-duplication
(enforce_nonce) turns a message that did get through into a no-op instead of a double post.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, select

from bot.store._base import StoreBase, ids_list, outbox_from_rows, update_in
from bot.store.leases import LeaseFence, lease_held
from bot.store.models import AuditEntryRow, BindingRow, OutboxRow, SetAsideRow
from bot.store.types import ChannelBacklog, OutboxItem, OutboxStats

_RETRYABLE = ("pending", "sending", "failed")


class _ClaimLost(Exception):
    """Another process took some of the rows: undo the claim."""


class OutboxOps(StoreBase):
    def _items_query(
        self, *conditions: ColumnElement[bool]
    ) -> Select[OutboxRow, AuditEntryRow, SetAsideRow]:  # the SetAsideRow is None where none joins
        # Oldest audit time first; within one timestamp, the order the poller stored them in (VRChat's
        # own order), which the row id records. Total and stable across restarts.
        return (
            select(OutboxRow, AuditEntryRow, SetAsideRow)
            .join(AuditEntryRow, OutboxRow.entry_id == AuditEntryRow.id)
            .join(BindingRow, OutboxRow.binding_id == BindingRow.id)
            .outerjoin(SetAsideRow, SetAsideRow.entry_id == OutboxRow.entry_id)
            .where(*conditions)
            .order_by(AuditEntryRow.created_at, OutboxRow.id)
        )

    async def _items(self, stmt: Select[OutboxRow, AuditEntryRow, SetAsideRow]) -> list[OutboxItem]:
        async with self._sessions() as session:
            return [
                outbox_from_rows(row, entry, aside)
                for row, entry, aside in (await session.execute(stmt)).all()
            ]

    async def pending_channels(self) -> list[int]:
        """Channel ids that have pending rows from at least one non-paused binding."""
        stmt = (
            select(OutboxRow.channel_id)
            .join(BindingRow, OutboxRow.binding_id == BindingRow.id)
            .where(OutboxRow.state == "pending", BindingRow.paused.is_(False))
            .distinct()
            .order_by(OutboxRow.channel_id)
        )
        async with self._sessions() as session:
            return list((await session.execute(stmt)).scalars())

    async def pending_for_channel(self, channel_id: int, limit: int = 50) -> list[OutboxItem]:
        """Pending rows for a channel (paused bindings excluded), oldest audit entry first."""
        stmt = self._items_query(
            OutboxRow.channel_id == channel_id,
            OutboxRow.state == "pending",
            BindingRow.paused.is_(False),
        ).limit(limit)
        return await self._items(stmt)

    async def in_flight_channels(self) -> list[int]:
        """Channels with rows stuck in 'sending' (what startup recovery has to look at)."""
        stmt = select(OutboxRow.channel_id).where(OutboxRow.state == "sending").distinct()
        async with self._sessions() as session:
            return sorted((await session.execute(stmt.order_by(OutboxRow.channel_id))).scalars())

    async def rows_in_flight(self, channel_id: int) -> list[OutboxItem]:
        """Rows packed into a message whose delivery was never confirmed, oldest first.

        Group them by nonce and re-send each group with that nonce. Paused bindings are included
        on purpose: whether to retry or skip them is the sender's decision, not the queue's.
        """
        stmt = self._items_query(OutboxRow.channel_id == channel_id, OutboxRow.state == "sending")
        return await self._items(stmt)

    async def _update_rows(
        self, row_ids: Iterable[int], *conditions: ColumnElement[bool], **values: object
    ) -> int:
        return await self._update_in(OutboxRow, OutboxRow.id, row_ids, conditions, **values)

    async def mark_packed(self, row_ids: Iterable[int], nonce: str) -> int:
        """Rows are about to go out in one message with this nonce: 'sending', attempts + 1."""
        return await self._update_rows(
            row_ids,
            OutboxRow.state.in_(_RETRYABLE),
            state="sending",
            attempts=OutboxRow.attempts + 1,
            nonce=nonce,
        )

    async def claim_pending(
        self, row_ids: Iterable[int], nonce: str, *, fence: LeaseFence | None = None
    ) -> bool:
        """Claim exactly these rows for one message with this nonce ('sending', attempts + 1), or none.

        Only 'pending' rows can be claimed, and with `fence` only while its owner still holds that
        lease: a process that lost its channel while it was paused cannot pack rows the channel's new
        holder packed (or is about to). If any row was taken meanwhile nothing changes and False
        comes back; the caller re-reads the queue.
        """
        ids = ids_list(row_ids)
        conditions = [OutboxRow.state == "pending"]
        try:
            async with self._sessions.begin() as session:
                if fence is not None:
                    conditions.append(lease_held(fence, self._now()))
                claimed = await update_in(
                    session,
                    OutboxRow,
                    OutboxRow.id,
                    ids,
                    conditions,
                    state="sending",
                    attempts=OutboxRow.attempts + 1,
                    nonce=nonce,
                )
                if claimed != len(ids):
                    raise _ClaimLost  # rolls the partial claim back
        except _ClaimLost:
            return False
        return True

    async def mark_sent(self, row_ids: Iterable[int], discord_message_id: int) -> int:
        return await self._update_rows(
            row_ids,
            state="sent",
            discord_message_id=discord_message_id,
            sent_at=self._now(),
            last_error=None,
        )

    async def mark_failed(self, row_ids: Iterable[int], error: str, *, give_up: bool = False) -> int:
        """A send failed: back to 'pending' for another try, or 'failed' for good when give_up."""
        return await self._update_rows(
            row_ids,
            OutboxRow.state.in_(_RETRYABLE),
            state="failed" if give_up else "pending",
            last_error=error,
        )

    async def mark_skipped(self, row_ids: Iterable[int], reason: str) -> int:
        """Deliberately not posted (e.g. the entry is too old to be worth posting after an outage)."""
        return await self._update_rows(
            row_ids, OutboxRow.state.in_(_RETRYABLE), state="skipped", last_error=reason
        )

    async def _set_paused(
        self, binding_id: int | None, channel_id: int | None, paused: bool, reason: str | None
    ) -> int:
        if (binding_id is None) == (channel_id is None):
            raise ValueError("pass exactly one of binding_id or channel_id")
        target = (
            BindingRow.id == binding_id
            if binding_id is not None
            else BindingRow.feed_channel_id == channel_id
        )
        return await self._update(BindingRow, [target], paused=paused, paused_reason=reason)

    async def pause_binding(
        self, *, binding_id: int | None = None, channel_id: int | None = None, reason: str
    ) -> int:
        """Stop queueing and sending for a binding (or every binding posting to a channel).

        Returns how many bindings were paused. Rows already queued stay pending until resumed.
        """
        return await self._set_paused(binding_id, channel_id, True, reason)

    async def resume_binding(self, *, binding_id: int | None = None, channel_id: int | None = None) -> int:
        return await self._set_paused(binding_id, channel_id, False, None)

    async def outbox_stats(self, now: datetime | None = None) -> OutboxStats:
        """Pending backlog per channel (paused or not) and the age of the oldest pending row."""
        stmt = (
            select(OutboxRow.channel_id, func.count(), func.min(OutboxRow.created_at))
            .where(OutboxRow.state == "pending")
            .group_by(OutboxRow.channel_id)
            .order_by(OutboxRow.channel_id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        channels = [
            ChannelBacklog(channel_id=c, pending=n, oldest_pending_at=oldest) for c, n, oldest in rows
        ]
        oldest_at = min((c.oldest_pending_at for c in channels), default=None)
        age = (now or self._now()) - oldest_at if oldest_at is not None else None
        return OutboxStats(
            channels=channels, total_pending=sum(c.pending for c in channels), oldest_pending_age=age
        )

    async def outbox_items(self, entry_id: str) -> list[OutboxItem]:
        """Every outbox row of one entry (diagnostics: where did this entry go?)."""
        stmt = self._items_query(and_(OutboxRow.entry_id == entry_id))
        return await self._items(stmt)
