"""Instance reports: the group instances a binding's age-gate policy acted on, each once.

A row is claimed before anything is posted or closed (the unique (binding, location) pair makes the
claim the "once"): a restart, or a second process, finds it and does not report again. The Close
button under a report carries only the row id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.store._base import StoreBase, from_row
from bot.store.models import AuditEntryRow, InstanceReportRow

ReportState = Literal["pending", "reported", "closing", "closed", "gone"]
REPORT_STATES: tuple[ReportState, ...] = get_args(ReportState)
WORLD_NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class InstanceReport:
    id: int
    binding_id: int
    group_id: str
    location: str
    world_name: str
    state: ReportState
    created_at: datetime
    channel_id: int | None
    message_id: int | None
    handled_at: datetime | None
    handled_by_discord_id: int | None


def report_from_row(row: InstanceReportRow) -> InstanceReport:
    return from_row(InstanceReport, row, state=row.state if row.state in REPORT_STATES else "gone")


@dataclass(frozen=True, slots=True)
class InstanceTrace:
    """What the mirrored audit log says about one of the group's instances: its location (the
    entry's target) and the entry's data (VRChat puts the world's ID, sometimes its name, there)."""

    location: str | None
    data: dict[str, object]
    created_at: datetime


INSTANCE_EVENT_PREFIX = "group.instance."


class InstanceReportOps(StoreBase):
    async def recent_instance_traces(self, group_id: str, limit: int = 200) -> list[InstanceTrace]:
        """The group's newest `group.instance.*` audit entries (opened, closed, kicks in them...)."""
        a = AuditEntryRow
        stmt = (
            select(a.target_id, a.data, a.created_at)
            .where(a.group_id == group_id, a.event_type.startswith(INSTANCE_EVENT_PREFIX, autoescape=True))
            .order_by(a.created_at.desc(), a.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        return [InstanceTrace(target, dict(data or {}), at) for target, data, at in rows]

    async def reported_world_names(self, group_id: str, limit: int = 200) -> dict[str, str]:
        """World ID -> name, from the age-gate reports of the group's instances (newest first)."""
        r = InstanceReportRow
        stmt = (
            select(r.location, r.world_name).where(r.group_id == group_id).order_by(r.id.desc()).limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        names: dict[str, str] = {}
        for location, name in rows:
            names.setdefault(location.partition(":")[0], name)
        return names

    async def claim_instance_report(
        self, binding_id: int, group_id: str, location: str, world_name: str, state: ReportState
    ) -> InstanceReport | None:
        """A new report for this binding's instance, or None when one exists already (whatever its
        state): that is what keeps a report from being made twice."""
        row = InstanceReportRow(
            binding_id=binding_id,
            group_id=group_id,
            location=location,
            world_name=world_name[:WORLD_NAME_MAX],
            state=state,
            created_at=self._now(),
        )
        try:
            return report_from_row(await self._add(row))
        except IntegrityError:
            return None

    async def instance_report(self, report_id: int) -> InstanceReport | None:
        return await self._get(InstanceReportRow, report_id, report_from_row)

    async def instance_reports(
        self, binding_ids: Iterable[int], states: Iterable[ReportState] | None = None
    ) -> list[InstanceReport]:
        """The reports of these bindings (in these states), oldest first."""
        r = InstanceReportRow
        stmt = select(r).where(r.binding_id.in_(list(binding_ids))).order_by(r.id)
        if states is not None:
            stmt = stmt.where(r.state.in_(list(states)))
        return await self._all(stmt, report_from_row)

    async def set_report_message(self, report_id: int, channel_id: int, message_id: int) -> None:
        """The report is posted: its message, and the state `reported` (from `pending` only)."""
        r = InstanceReportRow
        await self._update(
            r, [r.id == report_id], channel_id=channel_id, message_id=message_id, state="reported"
        )

    async def move_instance_report(
        self,
        report_id: int,
        from_states: Iterable[ReportState],
        to_state: ReportState,
        *,
        by_discord_id: int | None = None,
    ) -> bool:
        """Move the report from one of `from_states` to `to_state`; False when it was in none of them
        (someone else moved it first: two moderators clicking Close at once close it once)."""
        r = InstanceReportRow
        values: dict[str, object] = {"state": to_state}
        if to_state in ("closed", "gone"):
            values.update(handled_at=self._now(), handled_by_discord_id=by_discord_id)
        return bool(await self._update(r, [r.id == report_id, r.state.in_(list(from_states))], **values))

    async def prune_instance_reports(self, before: datetime) -> int:
        """Forget reports made before `before` (instance IDs carry a nonce: an old one never returns)."""
        return await self._delete(InstanceReportRow, InstanceReportRow.created_at < before)
