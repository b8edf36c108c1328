"""Group wakes: a counter per group, moved each time something is done in the group through the bot
(a moderator's command, a decided join request), in whichever process it was done.

The process that polls the group reads the counters of its groups every second or so (bot.activity's
WakeRelay) and looks at a group whose counter moved at the usual pace again. A counter rather than a
timestamp or a log of events: it is compared only for change, so it needs neither synchronised clocks
between hosts nor an order between concurrent commits, and it stays one small row per group.

Beside it, each group may have a second counter (`asked_wake`), moved in the same transaction as work
written for the group's holder to pick up (a role-sync ask, bot.store.role_sync_asks): the holder reads
that work only when the counter moved, in the same read, rather than looking for it at every tick.

On PostgreSQL each move also wakes the relays through the wake bus (bot.store.wake_bus) once it
commits: the holder reads at once rather than within its second, which stays the fallback.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store._base import StoreBase, chunked, ids_list, table
from bot.store.models import GroupWakeRow
from bot.store.wake_bus import GROUP_WAKE, announce


def asked_wake(group_id: str) -> str:
    """The counter of work asked of the group's holder by another process (a group id has no '#')."""
    return f"{group_id}#asked"


class WakeOps(StoreBase):
    async def wake_groups(self, group_ids: Iterable[str]) -> dict[str, int]:
        """Move each group's counter on by one; returns the counters as they are now."""
        keys = ids_list(group_ids)
        if not keys:
            return {}
        async with self._sessions.begin() as session:
            return await self._move_wakes(session, keys)

    async def _move_wakes(self, session: AsyncSession, keys: Iterable[str]) -> dict[str, int]:
        """Move these counters on by one, in the caller's transaction; the counters as they are now."""
        wanted = sorted(ids_list(keys))  # one lock order for every process: no deadlocks
        now = self._now()
        wakes = table(GroupWakeRow)
        counts: dict[str, int] = {}
        for chunk in chunked(wanted):
            insert = self._insert(wakes).values([{"group_id": g, "wakes": 1, "woken_at": now} for g in chunk])
            stmt = insert.on_conflict_do_update(
                index_elements=[wakes.c.group_id],
                set_={"wakes": wakes.c.wakes + 1, "woken_at": insert.excluded.woken_at},
            ).returning(wakes.c.group_id, wakes.c.wakes)
            counts.update({g: int(n) for g, n in (await session.execute(stmt)).all()})
        for key in wanted:
            await announce(session, GROUP_WAKE, key)
        return counts

    async def group_wakes(self, group_ids: Iterable[str]) -> dict[str, int]:
        """The counters of these groups (a group never woken, or purged since, is absent)."""
        rows = await self._rows_in(GroupWakeRow, GroupWakeRow.group_id, group_ids)
        return {r.group_id: r.wakes for r in rows}

    async def purge_group_wakes(self, older_than: timedelta) -> int:
        """Forget the counters of groups nobody touched for `older_than`."""
        return await self._delete(GroupWakeRow, GroupWakeRow.woken_at < self._now() - older_than)
