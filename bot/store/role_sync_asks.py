"""Role-sync asks: a Discord member's roles changed in the process connected to Discord's gateway,
while another process holds the group and runs its role sync (bot.roles.loop).

The gateway writes an ask and moves the group's asked counter (bot.store.wakes); the holder, hearing
the counter move (bot.activity's WakeRelay), reads the asks of the bindings it holds at its next
tick, reconciles those members, and then deletes what it read. Read first and deleted after: a holder
that dies in between leaves the asks for the next holder, and reconciling a member twice changes
nothing the second time. No ordering between processes is needed, so neither are synchronised clocks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import select

from bot.store._base import from_row, ids_list
from bot.store.models import RoleSyncAskRow
from bot.store.wakes import WakeOps, asked_wake

ASKS_READ = 500  # at a time: a burst of member updates is read over a few ticks


@dataclass(frozen=True, slots=True)
class RoleSyncAsk:
    id: int
    binding_id: int
    vrchat_user_id: str


class RoleSyncAskOps(WakeOps):
    async def ask_role_sync(self, binding_id: int, group_id: str, vrchat_user_id: str) -> None:
        """Write the ask, and move the group's asked counter in the same transaction: the holder, which
        reads its asks only when that counter moved, cannot miss one for a crash in between."""
        async with self._sessions.begin() as session:
            session.add(
                RoleSyncAskRow(binding_id=binding_id, vrchat_user_id=vrchat_user_id, created_at=self._now())
            )
            await self._move_wakes(session, [asked_wake(group_id)])

    async def role_sync_asks(self, binding_ids: Iterable[int]) -> list[RoleSyncAsk]:
        """The oldest asks of these bindings, up to ASKS_READ."""
        wanted = ids_list(binding_ids)
        if not wanted:
            return []
        ask = RoleSyncAskRow
        stmt = select(ask).where(ask.binding_id.in_(wanted)).order_by(ask.id).limit(ASKS_READ)
        return await self._all(stmt, partial(from_row, RoleSyncAsk))

    async def drop_role_sync_asks(self, ask_ids: Iterable[int]) -> int:
        """Drop asks read by role_sync_asks: at most ASKS_READ, so one statement."""
        return await self._delete(RoleSyncAskRow, RoleSyncAskRow.id.in_(ids_list(ask_ids)))

    async def purge_role_sync_asks(self, older_than: timedelta) -> int:
        """Forget asks nobody read (their binding's role sync was switched off): the full reconcile
        covers what they asked for anyway."""
        return await self._delete(RoleSyncAskRow, RoleSyncAskRow.created_at < self._now() - older_than)
