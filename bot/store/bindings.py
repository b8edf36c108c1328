"""Bindings: which VRChat group's audit log goes to which Discord channel, and who may moderate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypedDict, Unpack

from sqlalchemy import select

from bot.store._base import StoreBase, binding_from_row, equal_where_given, fields_of
from bot.store.models import BindingRow
from bot.store.types import Binding, BindingIn, BindingSource, ConfigSyncResult, DuplicateBindingError


def _columns(b: BindingIn) -> dict[str, Any]:
    """The row's columns, the tuples as the JSON lists they are stored as."""
    return fields_of(b) | {
        "moderator_role_ids": [int(r) for r in b.moderator_role_ids],
        "event_families": [str(f) for f in b.event_families],
    }


class BindingFilters(TypedDict, total=False):
    """What list_bindings matches on; each left out (or None) matches every binding."""

    guild_id: int | None
    group_id: str | None
    channel_id: int | None  # the feed channel
    source: BindingSource | None


class BindingOps(StoreBase):
    async def add_binding(self, binding: BindingIn, *, source: BindingSource = "command") -> Binding:
        """Create a binding; DuplicateBindingError if the group already posts to that channel."""
        row = BindingRow(**_columns(binding), paused=False, source=source, created_at=self._now())
        conflict = DuplicateBindingError(
            f"group {binding.group_id} is already bound to channel {binding.feed_channel_id}"
        )
        return binding_from_row(await self._add_unique(row, conflict))

    async def remove_binding(self, binding_id: int) -> bool:
        """Delete a binding. Its queued outbox rows go with it (ON DELETE CASCADE)."""
        return bool(await self._delete(BindingRow, BindingRow.id == binding_id))

    async def get_binding(self, binding_id: int) -> Binding | None:
        return await self._get(BindingRow, binding_id, binding_from_row)

    async def list_bindings(self, **where: Unpack[BindingFilters]) -> list[Binding]:
        b = BindingRow
        columns = {
            "guild_id": b.guild_id,
            "group_id": b.group_id,
            "channel_id": b.feed_channel_id,
            "source": b.source,
        }
        given = [(column, where.get(name)) for name, column in columns.items()]
        stmt = select(b).where(*equal_where_given(given)).order_by(b.id)
        return await self._all(stmt, binding_from_row)

    async def set_event_families(self, binding_id: int, families: Iterable[str]) -> Binding | None:
        """Replace a binding's event-family filter (empty = everything). None if no such binding."""
        async with self._sessions.begin() as session:
            row = await session.get(BindingRow, binding_id)
            if row is None:
                return None
            row.event_families = list(dict.fromkeys(str(f) for f in families))
        return binding_from_row(row)

    async def apply_config_bindings(
        self, bindings: Sequence[BindingIn], *, prune: bool = False
    ) -> ConfigSyncResult:
        """Make the config file's bindings exist, keyed by (group_id, feed_channel_id). Idempotent.

        A matching binding created by a command is adopted (source becomes 'config'). Runtime state
        (paused, paused_reason, created_at) is never touched. With prune=True, config-sourced bindings
        that are no longer in the list are removed, together with their queued outbox rows.
        """
        wanted: dict[tuple[str, int], BindingIn] = {}
        for b in bindings:
            wanted[(b.group_id, b.feed_channel_id)] = b  # last one wins, like a dict in the config
        added = updated = unchanged = removed = 0
        now = self._now()
        async with self._sessions.begin() as session:
            existing = {
                (r.group_id, r.feed_channel_id): r
                for r in (await session.execute(select(BindingRow))).scalars()
            }
            for key, b in wanted.items():
                row = existing.get(key)
                values = _columns(b)
                if row is None:
                    session.add(BindingRow(**values, paused=False, source="config", created_at=now))
                    added += 1
                    continue
                values["source"] = "config"
                if all(getattr(row, name) == value for name, value in values.items()):
                    unchanged += 1
                    continue
                for name, value in values.items():
                    setattr(row, name, value)
                updated += 1
            if prune:
                for key, row in existing.items():
                    if row.source == "config" and key not in wanted:
                        await session.delete(row)
                        removed += 1
        return ConfigSyncResult(added=added, updated=updated, unchanged=unchanged, removed=removed)
