"""The pages of a `/vrc history` reply seen so far (HistoryPagerRow), so that its ◂ Prev / Next ▸
buttons, which carry only the row's id and a page number, keep working after a restart.

A pager keeps the history cursor (bot.store.history) each page is read with, the first None, and the
next page's once a page shows there is one. A pager not used for PAGER_KEPT is forgotten: a new one
deletes those on its way in, and one not deleted yet reads as forgotten too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store._base import StoreBase, delete_rows, from_row
from bot.store.models import HistoryPagerRow

PAGER_KEPT = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class HistoryPager:
    id: int
    guild_id: int
    group_id: str
    user_id: str  # the VRChat user whose history it pages
    opener_discord_id: int
    cursors: tuple[str | None, ...]  # cursors[n - 1] reads page n
    created_at: datetime
    used_at: datetime


def _encoded(cursors: Sequence[str | None]) -> str:
    return json.dumps(list(cursors), separators=(",", ":"))


def pager_from_row(row: HistoryPagerRow) -> HistoryPager:
    return from_row(HistoryPager, row, cursors=tuple(json.loads(row.cursors)))


class HistoryPagerOps(StoreBase):
    async def open_history_pager(
        self,
        *,
        guild_id: int,
        group_id: str,
        user_id: str,
        opener_discord_id: int,
        cursors: Sequence[str | None],
        now: datetime,
    ) -> HistoryPager:
        """A new pager with the cursors known so far; the pagers not used for PAGER_KEPT go."""
        p = HistoryPagerRow
        row = p(
            guild_id=guild_id,
            group_id=group_id,
            user_id=user_id,
            opener_discord_id=opener_discord_id,
            cursors=_encoded(cursors),
            created_at=now,
            used_at=now,
        )
        async with self._sessions.begin() as session:
            await delete_rows(session, p, p.used_at < now - PAGER_KEPT)
            session.add(row)
        return pager_from_row(row)

    async def history_pager(self, pager_id: int, *, now: datetime) -> HistoryPager | None:
        """The pager, unless it is unknown or was not used for PAGER_KEPT (then it is as good as gone)."""
        pager = await self._get(HistoryPagerRow, pager_id, pager_from_row)
        return pager if pager is not None and pager.used_at >= now - PAGER_KEPT else None

    async def history_page_seen(
        self, pager_id: int, *, seen: Sequence[str | None], cursors: Sequence[str | None], now: datetime
    ) -> bool:
        """A page was shown: the pager was used `now` and knows `cursors`, unless another click changed
        its cursors since they were `seen` (then that click's stand); False when nothing changed."""
        p = HistoryPagerRow
        where = [p.id == pager_id, p.cursors == _encoded(seen)]
        return await self._update(p, where, cursors=_encoded(cursors), used_at=now) == 1
