"""Set-aside entries: audit entries the mirror keeps, with the reason, instead of posting them.

An entry is set aside when it cannot be read (the poller gets something that is not an audit entry),
stored (the database refuses it), rendered (the renderer raises) or sent (Discord answers 400 for the
message carrying it and only for it). It stays in the database: for the first two as a placeholder
row in audit_entries (its id, its time, its type when readable), for the last two as itself, and
always with a set_aside_entries row holding the stage, the reason and what VRChat sent. Its outbox
rows stay too, so the feed posts a short notice with its audit id in its place: in order, exactly
once, through the same nonce machinery as any entry, and everything after it keeps flowing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store._base import StoreBase, from_row, table
from bot.store.models import SetAsideRow
from bot.store.types import UNKNOWN_EVENT_TYPE, AuditEntryIn, SetAside, SetAsideIn, SetAsideStage

MAX_REASON = 500
MAX_RAW = 100_000  # characters of what VRChat sent that are kept
MAX_PLACEHOLDER_TYPE = 100


def storable(text: str, limit: int | None = None) -> str:
    """Text that every backend stores: no lone surrogates (written as \\udxxx), no NUL, clipped."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def raw_json(value: Any) -> str:
    """What VRChat sent as ASCII JSON text, which any text column takes; clipped to MAX_RAW."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = json.dumps(f"[not representable as JSON: {type(value).__name__}]")
    return text if len(text) <= MAX_RAW else text[: MAX_RAW - 1] + "…"


def describe(exc: BaseException) -> str:
    """An exception as one storable line: its type and the first line of its message (for a
    database error, the driver's message, not the SQL and parameters SQLAlchemy appends)."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(inner).strip().splitlines()
    first = lines[0] if lines else ""
    return storable(f"{type(inner).__name__}: {first}" if first else type(inner).__name__, MAX_REASON)


def may_be_the_data(exc: BaseException) -> bool:
    """Whether a failed insert may be the entries' fault rather than the database's: lost connections,
    locks, full disks and the like (OperationalError, InterfaceError) are the database's."""
    if isinstance(exc, OperationalError | InterfaceError):
        return False
    return not (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def placeholder_for(entry: AuditEntryIn, reason: str) -> AuditEntryIn:
    """What is kept in audit_entries of an entry the database refused: its id, time and type."""
    event_type = storable(entry.event_type, MAX_PLACEHOLDER_TYPE) or UNKNOWN_EVENT_TYPE
    return AuditEntryIn(
        id=entry.id,
        created_at=entry.created_at,
        event_type=event_type,
        set_aside=SetAsideIn("store", reason, raw_json(asdict(entry))),
    )


def set_aside_from_row(row: SetAsideRow) -> SetAside:
    return from_row(SetAside, row)


class SetAsideOps(StoreBase):
    async def _record_set_aside(
        self, session: AsyncSession, group_id: str, entries: list[tuple[str, SetAsideIn]], now: datetime
    ) -> None:
        if not entries:
            return
        rows = [
            {
                "entry_id": entry_id,
                "group_id": group_id,
                "stage": aside.stage,
                "reason": storable(aside.reason, MAX_REASON),
                "raw": storable(aside.raw, MAX_RAW) if aside.raw is not None else None,
                "created_at": now,
            }
            for entry_id, aside in entries
        ]
        stmt = self._insert(table(SetAsideRow)).on_conflict_do_nothing(index_elements=["entry_id"])
        await session.execute(stmt, rows)

    async def set_aside(self, entry_id: str, group_id: str, stage: SetAsideStage, reason: str) -> bool:
        """Set a stored entry aside (it cannot be rendered or sent); False if it already was. From
        then on its outbox rows carry a notice in its place."""
        async with self._sessions.begin() as session:
            known = await session.get(SetAsideRow, entry_id)
            if known is not None:
                return False
            await self._record_set_aside(
                session, group_id, [(entry_id, SetAsideIn(stage, reason))], self._now()
            )
        return True

    async def list_set_aside(self, group_id: str | None = None, *, limit: int = 100) -> list[SetAside]:
        """Set-aside entries, oldest first."""
        stmt = select(SetAsideRow).order_by(SetAsideRow.created_at, SetAsideRow.entry_id).limit(limit)
        if group_id is not None:
            stmt = stmt.where(SetAsideRow.group_id == group_id)
        return await self._all(stmt, set_aside_from_row)
