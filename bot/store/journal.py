"""Gaps in the mirrored audit log, and the log of actions the bot took for Discord moderators."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import TypedDict, Unpack

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bot.store._base import (
    StoreBase,
    action_from_row,
    action_row,
    equal_where_given,
    gap_from_row,
    like_escape,
)
from bot.store.models import ActionLogRow, GapRow, GroupCursorRow
from bot.store.types import ActionIn, ActionOutcome, ActionRecord, Gap


class ActionFilters(TypedDict, total=False):
    """What list_actions matches on; each left out (or None) matches every action. `action` matches
    exactly or as a dotted prefix ('request' -> 'request.accept'); since inclusive, until exclusive."""

    guild_id: int | None
    discord_user_id: int | None
    group_id: str | None
    action: str | None
    target_id: str | None
    outcome: ActionOutcome | None
    since: datetime | None
    until: datetime | None


class JournalOps(StoreBase):
    # ---------------------------------------------------------------- gaps

    async def record_gap(self, group_id: str, start: datetime, end: datetime, reason: str) -> Gap:
        """Remember a span of audit time that could not be fetched, to be announced in the feed."""
        if end < start:
            raise ValueError(f"gap ends ({end}) before it starts ({start})")
        row = GapRow(
            group_id=group_id, start=start, end=end, reason=reason, created_at=self._now(), notified=False
        )
        return gap_from_row(await self._add(row))

    async def unnotified_gaps(self, group_id: str | None = None) -> list[Gap]:
        stmt = select(GapRow).where(GapRow.notified.is_(False)).order_by(GapRow.start, GapRow.id)
        if group_id is not None:
            stmt = stmt.where(GapRow.group_id == group_id)
        return await self._all(stmt, gap_from_row)

    async def mark_gap_notified(self, gap_ids: Iterable[int]) -> int:
        return await self._update_in(GapRow, GapRow.id, gap_ids, notified=True)

    # ---------------------------------------------------------------- action log

    async def purge_notified_gaps(self, before: datetime) -> int:
        """Retention (feed.retention_days): forget gaps that ended before `before` and were announced."""
        return await self._delete_in_batches(GapRow, GapRow.notified.is_(True), GapRow.end < before)

    async def purge_actions(
        self, before: datetime, *, credit_margin: timedelta, keep_latest: Collection[str] = ()
    ) -> int:
        """Retention (feed.action_log_retention_days): forget the action records older than `before`.

        A group's record stays while an audit entry it could credit may still be read: until the
        group's poller has read entries `credit_margin` newer than it (bot.feed.attribution), and
        always while the group has never been polled (its backfill may still bring its history). Of
        each action in `keep_latest`, the newest per server and group stays, whatever its age."""
        a, c = ActionLogRow, GroupCursorRow
        newest = aliased(ActionLogRow)
        latest = select(func.max(newest.id)).where(newest.action.in_(list(keep_latest)))
        kept = a.id.not_in(latest.group_by(newest.action, newest.guild_id, newest.group_id).scalar_subquery())
        async with self._sessions() as session:
            cursors = (await session.execute(select(c.group_id, c.newest_created_at))).all()
        gone = await self._delete_in_batches(a, a.group_id.is_(None), a.created_at < before, kept)
        for group_id, read_up_to in cursors:
            if read_up_to is not None:
                cutoff = min(before, read_up_to - credit_margin)
                gone += await self._delete_in_batches(a, a.group_id == group_id, a.created_at < cutoff, kept)
        return gone

    async def record_action(self, action: ActionIn) -> ActionRecord:
        return action_from_row(await self._add(action_row(action, self._now())))

    async def list_actions(self, *, limit: int = 50, **where: Unpack[ActionFilters]) -> list[ActionRecord]:
        """Newest first. `action` matches exactly or as a dotted prefix ('request' -> 'request.accept')."""
        a = ActionLogRow
        exact = ("guild_id", "discord_user_id", "group_id", "target_id", "outcome")
        stmt = select(a).where(*equal_where_given((getattr(a, name), where.get(name)) for name in exact))
        if (action := where.get("action")) is not None:
            stmt = stmt.where((a.action == action) | a.action.like(like_escape(action) + ".%", escape="\\"))
        if (since := where.get("since")) is not None:
            stmt = stmt.where(a.created_at >= since)
        if (until := where.get("until")) is not None:
            stmt = stmt.where(a.created_at < until)
        stmt = stmt.order_by(ActionLogRow.created_at.desc(), ActionLogRow.id.desc()).limit(limit)
        return await self._all(stmt, action_from_row)
