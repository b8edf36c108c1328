"""Role sync (bot.roles): per binding, the mappings between VRChat group roles and Discord roles, the
membership role and mode, what both sides last agreed on, and the journal of the bot's own writes.

IDs and times only. The caller passes the plan's results in; the store decides nothing about roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import select

from bot.store._base import StoreBase, action_row, chunked, delete_rows, from_row, ids_list, table
from bot.store.models import (
    RoleMappingRow,
    RoleSyncHeldRow,
    RoleSyncSettingsRow,
    RoleSyncWriteRow,
)
from bot.store.types import ActionIn, StoreError

SyncMode = Literal["off", "shadow", "on"]
Direction = Literal["vrchat_to_discord", "discord_to_vrchat", "both"]
Side = Literal["vrchat", "discord"]
WriteOp = Literal["add", "remove"]
WriteState = Literal["pending", "refused"]
SYNC_MODES: tuple[SyncMode, ...] = ("off", "shadow", "on")
DIRECTIONS: tuple[Direction, ...] = ("vrchat_to_discord", "discord_to_vrchat", "both")
SIDES: tuple[Side, ...] = ("vrchat", "discord")
MEMBERSHIP = 0  # the mapping_id of the membership role in role_sync_held
HELD_CHUNK = 400  # rows per INSERT: 5 columns each, under SQLite's bound-parameter limit


class MappingConflict(StoreError):
    """One of the two roles is already in another mapping of this binding."""


@dataclass(frozen=True, slots=True)
class RoleMapping:
    id: int
    binding_id: int
    vrchat_role_id: str
    discord_role_id: int
    direction: Direction
    source_of_truth: Side
    allow_management: bool
    created_by: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RoleSyncSettings:
    binding_id: int
    mode: SyncMode = "off"
    membership_role_id: int | None = None


@dataclass(frozen=True, slots=True)
class HeldKey:
    mapping_id: int
    vrchat_user_id: str
    discord_user_id: int


@dataclass(frozen=True, slots=True)
class RoleWrite:
    id: int
    binding_id: int
    side: Side
    op: WriteOp
    user_id: str
    role_id: str
    state: WriteState
    details: Mapping[str, Any] | None
    created_at: datetime


def mapping_from_row(row: RoleMappingRow) -> RoleMapping:
    return from_row(RoleMapping, row, allow_management=bool(row.allow_management))


def write_from_row(row: RoleSyncWriteRow) -> RoleWrite:
    return from_row(RoleWrite, row)


def _held_values(binding_id: int, key: HeldKey, held: bool, now: datetime) -> dict[str, Any]:
    """The role_sync_held row recording that the two sides agree on `key` (`held`: the role is held)."""
    return {
        "binding_id": binding_id,
        "mapping_id": key.mapping_id,
        "vrchat_user_id": key.vrchat_user_id,
        "discord_user_id": key.discord_user_id,
        "held": held,
        "updated_at": now,
    }


class RoleSyncOps(StoreBase):
    # ------------------------------------------------------------------ settings

    async def role_sync_settings(self, binding_id: int) -> RoleSyncSettings:
        row = await self._row(RoleSyncSettingsRow, binding_id)
        if row is None:
            return RoleSyncSettings(binding_id)
        return RoleSyncSettings(binding_id, cast(SyncMode, row.mode), row.membership_role_id)

    async def set_role_sync_settings(
        self, binding_id: int, mode: SyncMode, membership_role_id: int | None
    ) -> RoleSyncSettings:
        if mode not in SYNC_MODES:
            raise ValueError(f"unknown role sync mode {mode!r}")
        await self._put_binding_settings(
            RoleSyncSettingsRow, binding_id, mode=mode, membership_role_id=membership_role_id
        )
        return RoleSyncSettings(binding_id, mode, membership_role_id)

    async def role_synced_bindings(self) -> list[int]:
        """Bindings whose role sync is not off."""
        async with self._sessions() as session:
            stmt = select(RoleSyncSettingsRow.binding_id).where(RoleSyncSettingsRow.mode != "off")
            return sorted((await session.execute(stmt)).scalars())

    # ------------------------------------------------------------------ mappings

    async def add_role_mapping(
        self,
        binding_id: int,
        vrchat_role_id: str,
        discord_role_id: int,
        direction: Direction,
        source_of_truth: Side,
        *,
        allow_management: bool,
        created_by: int,
    ) -> RoleMapping:
        if direction not in DIRECTIONS or source_of_truth not in SIDES:
            raise ValueError(f"unknown direction {direction!r} or source {source_of_truth!r}")
        row = RoleMappingRow(
            binding_id=binding_id,
            vrchat_role_id=vrchat_role_id,
            discord_role_id=discord_role_id,
            direction=direction,
            source_of_truth=source_of_truth,
            allow_management=allow_management,
            created_by=created_by,
            created_at=self._now(),
        )
        conflict = MappingConflict(f"{vrchat_role_id} or {discord_role_id} is mapped already")
        return mapping_from_row(await self._add_unique(row, conflict))

    async def remove_role_mapping(self, binding_id: int, mapping_id: int) -> RoleMapping | None:
        """Delete the mapping and what was agreed under it; the mapping that was, if any."""
        async with self._sessions.begin() as session:
            row = await session.get(RoleMappingRow, mapping_id)
            if row is None or row.binding_id != binding_id:
                return None
            removed = mapping_from_row(row)
            await session.delete(row)
            rh = RoleSyncHeldRow
            await delete_rows(session, rh, rh.binding_id == binding_id, rh.mapping_id == mapping_id)
        return removed

    async def role_mappings(self, binding_id: int) -> list[RoleMapping]:
        stmt = select(RoleMappingRow).where(RoleMappingRow.binding_id == binding_id)
        return sorted(await self._all(stmt, mapping_from_row), key=lambda m: m.id)

    # ------------------------------------------------------------------ what both sides agreed on

    async def role_sync_held(self, binding_id: int) -> dict[HeldKey, bool]:
        rh = RoleSyncHeldRow
        async with self._sessions() as session:
            rows = (await session.execute(select(rh).where(rh.binding_id == binding_id))).scalars()
            return {HeldKey(r.mapping_id, r.vrchat_user_id, r.discord_user_id): bool(r.held) for r in rows}

    async def update_role_sync_held(
        self, binding_id: int, agreed: Mapping[HeldKey, bool], forget: Iterable[tuple[int, str]] = ()
    ) -> None:
        """Record what the two sides now agree on (replacing an older row of the same mapping and VRChat
        user, whichever Discord user it named), and forget (mapping_id, vrchat_user_id) pairs."""
        rh = RoleSyncHeldRow
        now = self._now()
        gone = {(k.mapping_id, k.vrchat_user_id) for k in agreed} | set(forget)
        async with self._sessions.begin() as session:
            by_mapping: dict[int, list[str]] = {}
            for mapping_id, user in gone:
                by_mapping.setdefault(mapping_id, []).append(user)
            for mapping_id, users in by_mapping.items():
                mapped = (rh.binding_id == binding_id, rh.mapping_id == mapping_id)
                for chunk in chunked(ids_list(users)):
                    await delete_rows(session, rh, *mapped, rh.vrchat_user_id.in_(chunk))
            rows = [_held_values(binding_id, key, held, now) for key, held in agreed.items()]
            for chunk_rows in chunked(rows, HELD_CHUNK):
                await session.execute(self._insert(table(rh)), list(chunk_rows))

    # ------------------------------------------------------------------ the journal of writes

    async def begin_role_write(
        self, binding_id: int, side: Side, op: WriteOp, user_id: str, role_id: str, details: Mapping[str, Any]
    ) -> RoleWrite:
        """Journal a write before it is sent: a crash after sending leaves this row for the next
        reconcile to confirm."""
        row = RoleSyncWriteRow(
            binding_id=binding_id,
            side=side,
            op=op,
            user_id=user_id,
            role_id=role_id,
            state="pending",
            details=dict(details),
            created_at=self._now(),
        )
        return write_from_row(await self._add(row))

    async def finish_role_write(
        self, write_id: int, action: ActionIn | None, agreed: tuple[int, HeldKey, bool | None] | None = None
    ) -> bool:
        """The write is settled: drop its journal row and, in the same transaction, add its action-log
        line and what both sides now agree on (held None: forget the pair). False (nothing written) when
        another run settled it."""
        async with self._sessions.begin() as session:
            rw = RoleSyncWriteRow
            if not await delete_rows(session, rw, rw.id == write_id, rw.state == "pending"):
                return False
            if action is not None:
                session.add(action_row(action, self._now()))
            if agreed is not None:
                binding_id, key, held = agreed
                rh = RoleSyncHeldRow
                same = (
                    rh.binding_id == binding_id,
                    rh.mapping_id == key.mapping_id,
                    rh.vrchat_user_id == key.vrchat_user_id,
                )
                # None: forget the pair's agreement, only if it still names this Discord user.
                gone = same if held is not None else (*same, rh.discord_user_id == key.discord_user_id)
                await delete_rows(session, rh, *gone)
                if held is not None:
                    session.add(RoleSyncHeldRow(**_held_values(binding_id, key, held, self._now())))
        return True

    async def refuse_role_write(self, write_id: int, reason: str) -> bool:
        """Turn a pending write into a refusal (the role cannot be changed by the bot). True when this
        is the first refusal of that role on that side in the binding: the one to report."""
        async with self._sessions.begin() as session:
            row = await session.get(RoleSyncWriteRow, write_id)
            if row is None:
                return False
            rw = RoleSyncWriteRow
            earlier = (
                await session.execute(
                    select(rw.id).where(
                        rw.binding_id == row.binding_id,
                        rw.side == row.side,
                        rw.role_id == row.role_id,
                        rw.state == "refused",
                    )
                )
            ).first()
            if earlier is not None:
                await session.delete(row)
                return False
            row.state = "refused"
            row.details = {**(row.details or {}), "reason": reason}
        return True

    async def role_writes(self, binding_id: int, state: WriteState | None = None) -> list[RoleWrite]:
        rw = RoleSyncWriteRow
        stmt = select(rw).where(rw.binding_id == binding_id)
        if state is not None:
            stmt = stmt.where(rw.state == state)
        return await self._all(stmt.order_by(rw.id), write_from_row)

    async def clear_role_refusals(self, binding_id: int, role_ids: Iterable[str] | None = None) -> int:
        """Forget refusals (all of the binding's, or those of these roles): they are tried again."""
        rw = RoleSyncWriteRow
        refused = [rw.binding_id == binding_id, rw.state == "refused"]
        if role_ids is not None:
            refused.append(rw.role_id.in_(ids_list(role_ids)))
        return await self._delete(rw, *refused)
