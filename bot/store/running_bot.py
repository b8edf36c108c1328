"""Whether a bot process still works on a database: the check `db copy` and `db downgrade` make
before they touch it. A process holding an unexpired lease may write at any moment (and, for a
downgrade, into tables about to go). On SQLite the caller also takes the process lock
(bot.store.process_lock), which a running bot holds."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.models import LeaseRow

STOP_EVERY_PROCESS = "stop every process, wait for its leases to expire (feed.lease_seconds)"


async def running_bot(conn: AsyncConnection) -> str | None:
    """The owner of an unexpired lease (a bot process still at work), or None."""
    running = select(LeaseRow.owner).where(LeaseRow.expires_at > datetime.now(UTC)).limit(1)
    return (await conn.execute(running)).scalar_one_or_none()
