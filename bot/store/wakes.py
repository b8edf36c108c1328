"""Group wakes: a counter per group, moved each time something is done in the group through the bot
(a moderator's command, a decided join request), in whichever process it was done.

The process that polls the group reads the counters of its groups every second or so (bot.activity's
WakeRelay) and looks at a group whose counter moved at the usual pace again. A counter rather than a
timestamp or a log of events: it is compared only for change, so it needs neither synchronised clocks
between hosts nor an order between concurrent commits, and it stays one small row per group.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from bot.store._base import StoreBase, chunked, ids_list, table
from bot.store.models import GroupWakeRow


class WakeOps(StoreBase):
    async def wake_groups(self, group_ids: Iterable[str]) -> dict[str, int]:
        """Move each group's counter on by one; returns the counters as they are now."""
        wanted = sorted(ids_list(group_ids))  # one lock order for every process: no deadlocks
        if not wanted:
            return {}
        now = self._now()
        wakes = table(GroupWakeRow)
        counts: dict[str, int] = {}
        async with self._sessions.begin() as session:
            for chunk in chunked(wanted):
                insert = self._insert(wakes).values(
                    [{"group_id": g, "wakes": 1, "woken_at": now} for g in chunk]
                )
                stmt = insert.on_conflict_do_update(
                    index_elements=[wakes.c.group_id],
                    set_={"wakes": wakes.c.wakes + 1, "woken_at": insert.excluded.woken_at},
                ).returning(wakes.c.group_id, wakes.c.wakes)
                counts.update({g: int(n) for g, n in (await session.execute(stmt)).all()})
        return counts

    async def group_wakes(self, group_ids: Iterable[str]) -> dict[str, int]:
        """The counters of these groups (a group never woken, or purged since, is absent)."""
        rows = await self._rows_in(GroupWakeRow, GroupWakeRow.group_id, group_ids)
        return {r.group_id: r.wakes for r in rows}

    async def purge_group_wakes(self, older_than: timedelta) -> int:
        """Forget the counters of groups nobody touched for `older_than`."""
        return await self._delete(GroupWakeRow, GroupWakeRow.woken_at < self._now() - older_than)
