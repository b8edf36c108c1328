"""Alerts on runaway moderators: per-binding thresholds, the episodes alerted on, their delivery.

Plain values only (the watchdog, bot.watchdog, decides what an episode is). Delivery follows the
outbox's life (bot.store.outbox): 'pending' -> claim_alert ('sending', with a nonce, attempts + 1,
only while the caller holds the group's lease) -> mark_alert_sent. A crash between claim and mark
leaves the row in 'sending', and the sender posts it again with the same nonce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, select

from bot.store._base import StoreBase, entry_from_row, fields_of, from_row, ids_list, table, update_rows
from bot.store.leases import LeaseFence, lease_held
from bot.store.models import AlertSettingsRow, AuditEntryRow, ModeratorAlertRow
from bot.store.types import StoredEntry

AlertState = Literal["pending", "sending", "sent", "failed"]
Resolution = Literal["dismissed", "roles_removed"]
ENTRY_IDS_KEPT = 100  # an episode keeps its first entries' ids; the counts cover all of them


@dataclass(frozen=True, slots=True)
class AlertSettingsRecord:
    binding_id: int
    enabled: bool
    window_minutes: int
    max_kicks: int
    max_bans: int
    max_role_removals: int
    alert_channel_id: int | None
    ping_role_id: int | None
    auto_kill_switch: bool
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActorEpisode:
    """Who ran away, in which binding and group, and from when to when: what an episode is, whether
    being written (EpisodeWrite) or read back with its delivery (ModeratorAlert)."""

    binding_id: int
    group_id: str
    actor_key: str
    actor_vrchat_id: str | None
    actor_discord_id: int | None
    actor_name: str | None
    started_at: datetime
    last_entry_at: datetime


@dataclass(frozen=True, slots=True)
class EpisodeWrite(ActorEpisode):
    """An episode to insert (`new`) or extend (matched by binding, actor and start)."""

    counts: Mapping[str, int]
    entry_ids: Sequence[str]
    channel_id: int
    new: bool


@dataclass(frozen=True, slots=True)
class ModeratorAlert(ActorEpisode):
    id: int
    counts: dict[str, int]
    entry_ids: tuple[str, ...]
    channel_id: int
    state: AlertState
    attempts: int
    nonce: str | None
    message_id: int | None
    last_error: str | None
    resolution: Resolution | None
    resolved_by: int | None
    resolution_note: str | None
    resolved_at: datetime | None
    created_at: datetime
    revision: int = 0  # +1 each time the episode grew after it was recorded
    shown_revision: int = 0  # the revision its message shows

    @property
    def behind(self) -> bool:
        """Posted, and the episode has grown since its message was last written."""
        return self.state == "sent" and self.message_id is not None and self.shown_revision < self.revision


def settings_from_row(row: AlertSettingsRow) -> AlertSettingsRecord:
    return from_row(AlertSettingsRecord, row)


def alert_from_row(row: ModeratorAlertRow) -> ModeratorAlert:
    return from_row(
        ModeratorAlert,
        row,
        counts={str(k): int(v) for k, v in (row.counts or {}).items()},
        entry_ids=tuple(str(i) for i in row.entry_ids or ()),
    )


class ModeratorAlertOps(StoreBase):
    # -- settings ----------------------------------------------------------------------------------

    async def alert_settings(self, binding_ids: Iterable[int]) -> dict[int, AlertSettingsRecord]:
        """The stored settings of these bindings (a binding without a row has alerts off)."""
        rows = await self._rows_in(AlertSettingsRow, AlertSettingsRow.binding_id, binding_ids)
        return {row.binding_id: settings_from_row(row) for row in rows}

    async def put_alert_settings(self, settings: AlertSettingsRecord) -> AlertSettingsRecord:
        """Insert or replace a binding's settings."""
        values = fields_of(settings)
        del values["binding_id"], values["updated_at"]
        updated_at = await self._put_binding_settings(AlertSettingsRow, settings.binding_id, **values)
        return replace(settings, updated_at=updated_at)

    async def delete_alert_settings(self, binding_id: int) -> bool:
        return bool(await self._delete(AlertSettingsRow, AlertSettingsRow.binding_id == binding_id))

    # -- what the watchdog counts ------------------------------------------------------------------

    async def entries_of_types(
        self, group_id: str, event_types: Sequence[str], since: datetime, *, limit: int = 5000
    ) -> list[StoredEntry]:
        """The group's entries of these exact types created at or after `since`, oldest first; the
        newest `limit` of them when there are more (the newest are the ones a check must not miss)."""
        stmt = (
            select(AuditEntryRow)
            .where(
                AuditEntryRow.group_id == group_id,
                AuditEntryRow.event_type.in_(list(event_types)),
                AuditEntryRow.created_at >= since,
            )
            .order_by(AuditEntryRow.created_at.desc(), AuditEntryRow.id.desc())
            .limit(limit)
        )
        newest_first = await self._all(stmt, entry_from_row)
        return newest_first[::-1]

    async def latest_alerts(self, binding_id: int, actor_keys: Iterable[str]) -> dict[str, ModeratorAlert]:
        """Each actor's most recent episode in this binding (the one a new entry may extend)."""
        keys = ids_list(actor_keys)
        if not keys:
            return {}
        stmt = (
            select(ModeratorAlertRow)
            .where(ModeratorAlertRow.binding_id == binding_id, ModeratorAlertRow.actor_key.in_(keys))
            .order_by(ModeratorAlertRow.started_at)
        )
        async with self._sessions() as session:
            return {row.actor_key: alert_from_row(row) for row in (await session.execute(stmt)).scalars()}

    async def record_episodes(self, episodes: Sequence[EpisodeWrite]) -> list[int]:
        """Insert the new episodes and extend the others, in one transaction; returns the ids of the
        episodes inserted now (one a concurrent or repeated check inserted first is not among them)."""
        inserted: list[int] = []
        now = self._now()
        async with self._sessions.begin() as session:
            for ep in episodes:
                values: dict[str, Any] = {
                    "last_entry_at": ep.last_entry_at,
                    "counts": dict(ep.counts),
                    "entry_ids": list(ep.entry_ids)[:ENTRY_IDS_KEPT],
                }
                if ep.new:
                    row = fields_of(ep) | values | {"state": "pending", "attempts": 0, "created_at": now}
                    del row["new"]  # what to do with it, not a column
                    stmt = (
                        self._insert(table(ModeratorAlertRow))
                        .values(row)
                        .on_conflict_do_nothing(index_elements=["binding_id", "actor_key", "started_at"])
                        .returning(table(ModeratorAlertRow).c.id)
                    )
                    inserted.extend((await session.execute(stmt)).scalars())
                else:
                    same_episode = [
                        ModeratorAlertRow.binding_id == ep.binding_id,
                        ModeratorAlertRow.actor_key == ep.actor_key,
                        ModeratorAlertRow.started_at == ep.started_at,
                    ]
                    await update_rows(
                        session,
                        ModeratorAlertRow,
                        same_episode,
                        **values,
                        revision=ModeratorAlertRow.revision + 1,
                    )
        return inserted

    # -- delivery ----------------------------------------------------------------------------------

    async def get_alert(self, alert_id: int) -> ModeratorAlert | None:
        return await self._get(ModeratorAlertRow, alert_id, alert_from_row)

    async def undelivered_alerts(self, group_ids: Iterable[str] | None = None) -> list[ModeratorAlert]:
        """Alerts not yet confirmed posted ('pending', and 'sending' ones a crash left), oldest first."""
        conditions = [ModeratorAlertRow.state.in_(("pending", "sending"))]
        if group_ids is not None:
            conditions.append(ModeratorAlertRow.group_id.in_(list(group_ids)))
        stmt = select(ModeratorAlertRow).where(*conditions).order_by(ModeratorAlertRow.id)
        return await self._all(stmt, alert_from_row)

    async def claim_alert(self, alert_id: int, nonce: str, *, fence: LeaseFence | None = None) -> bool:
        """'pending' or 'sending' -> 'sending' with this nonce, only while `fence` (when given) still
        holds its lease; False when the alert is sent already or the lease was lost."""
        conditions = [ModeratorAlertRow.id == alert_id, ModeratorAlertRow.state.in_(("pending", "sending"))]
        if fence is not None:
            conditions.append(lease_held(fence, self._now()))
        attempts = ModeratorAlertRow.attempts + 1
        return bool(
            await self._update(ModeratorAlertRow, conditions, state="sending", nonce=nonce, attempts=attempts)
        )

    async def mark_alert_sent(self, alert_id: int, message_id: int, *, shown_revision: int = 0) -> None:
        """Posted as `message_id`, showing the episode as it was at `shown_revision` (one statement: a
        crash cannot leave it sent without what its message shows)."""
        ma = ModeratorAlertRow
        shown = case((ma.shown_revision < shown_revision, shown_revision), else_=ma.shown_revision)
        sent = {"state": "sent", "message_id": message_id, "last_error": None}
        await self._update(ma, [ma.id == alert_id], **sent, shown_revision=shown)

    async def alerts_behind(self) -> list[ModeratorAlert]:
        """Posted alerts whose episode grew since their message was written, oldest first."""
        ma = ModeratorAlertRow
        stmt = (
            select(ma)
            .where(ma.state == "sent", ma.message_id.is_not(None), ma.shown_revision < ma.revision)
            .order_by(ma.id)
        )
        return await self._all(stmt, alert_from_row)

    async def mark_alert_shown(self, alert_id: int, revision: int) -> None:
        """Its message now shows `revision` (never moved back by a slower, older edit)."""
        ma = ModeratorAlertRow
        await self._update(ma, [ma.id == alert_id, ma.shown_revision < revision], shown_revision=revision)

    async def mark_alert_failed(self, alert_id: int, error: str, *, give_up: bool = False) -> None:
        """A send failed: back to 'pending' for another try, or 'failed' for good."""
        await self._set_alert(alert_id, state="failed" if give_up else "pending", last_error=error[:500])

    async def _set_alert(self, alert_id: int, **values: object) -> None:
        await self._update(ModeratorAlertRow, [ModeratorAlertRow.id == alert_id], **values)

    async def resolve_alert(
        self, alert_id: int, resolution: Resolution, by: int | None, note: str | None = None
    ) -> bool:
        """Close the alert once: True for the first resolution, False when it was resolved already."""
        unresolved = [ModeratorAlertRow.id == alert_id, ModeratorAlertRow.resolution.is_(None)]
        return bool(
            await self._update(
                ModeratorAlertRow,
                unresolved,
                resolution=resolution,
                resolved_by=by,
                resolution_note=note,
                resolved_at=self._now(),
            )
        )

    async def reopen_alert(self, alert_id: int, note: str) -> None:
        """Undo a resolution that did not happen after all (the automatic kill switch failed): the
        buttons come back, with why."""
        await self._set_alert(
            alert_id, resolution=None, resolved_by=None, resolved_at=None, resolution_note=note[:1000]
        )

    async def note_alert(self, alert_id: int, note: str) -> None:
        """What the kill switch did, once it is done (shown on the alert)."""
        await self._set_alert(alert_id, resolution_note=note[:1000])

    async def purge_resolved_alerts(self, before: datetime) -> int:
        """Retention (feed.decided_retention_days): forget the alerts resolved before `before` whose
        burst ended before it too, once their message shows the episode as it is (or was given up on).
        An unresolved alert, one still to be posted, and one whose message is behind stay."""
        ma = ModeratorAlertRow
        shown = (ma.state == "failed") | ((ma.state == "sent") & (ma.shown_revision >= ma.revision))
        resolved = (ma.resolution.is_not(None), ma.resolved_at < before, ma.last_entry_at < before)
        return await self._delete_in_batches(ma, *resolved, shown)
