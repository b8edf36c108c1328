"""Watchlists: per binding, the VRChat groups its admins want flagged on join-request cards.

A watchlist belongs to one binding and goes with it (ON DELETE CASCADE); nothing here ever reads
another binding's list unless asked for that binding by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.store._base import StoreBase, from_row
from bot.store.models import WatchlistRow
from bot.store.types import StoreError

NOTE_MAX = 200


class DuplicateWatchError(StoreError):
    """This binding already watches that group."""


@dataclass(frozen=True, slots=True)
class WatchEntry:
    id: int
    binding_id: int
    group_id: str
    note: str
    added_by_discord_id: int
    added_at: datetime


def watch_from_row(row: WatchlistRow) -> WatchEntry:
    return from_row(WatchEntry, row)


class WatchlistOps(StoreBase):
    async def add_watch(self, binding_id: int, group_id: str, note: str, added_by: int) -> WatchEntry:
        """Watch a group for one binding; DuplicateWatchError if it already does."""
        if len(note) > NOTE_MAX:
            raise ValueError(f"a watchlist note is at most {NOTE_MAX} characters")
        row = WatchlistRow(
            binding_id=binding_id,
            group_id=group_id,
            note=note,
            added_by_discord_id=added_by,
            added_at=self._now(),
        )
        conflict = DuplicateWatchError(f"binding {binding_id} already watches {group_id}")
        return watch_from_row(await self._add_unique(row, conflict))

    async def remove_watch(self, binding_id: int, group_id: str) -> bool:
        wl = WatchlistRow
        return bool(await self._delete(wl, wl.binding_id == binding_id, wl.group_id == group_id))

    async def list_watch(self, binding_ids: Iterable[int]) -> list[WatchEntry]:
        """The watchlist entries of these bindings, oldest first."""
        rows = await self._rows_in(WatchlistRow, WatchlistRow.binding_id, binding_ids)
        return sorted((watch_from_row(row) for row in rows), key=lambda e: e.id)
