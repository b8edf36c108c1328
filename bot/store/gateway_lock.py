"""Which process is the Discord gateway, decided in seconds on PostgreSQL.

The gateway lease alone made a standby wait out a dead gateway's lease (26–30 s at the defaults)
while slash commands and buttons failed. A session-level advisory lock is released by the server the
moment the holder's connection dies, and a killed process's connection dies with it; so the process
holding the lock knows the previous gateway is gone and may take the gateway lease at once (the
lease still guards the case the lock cannot see: a live gateway cut off from the database steps down
when it finds its lease taken). SQLite needs none: one process per file.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Any constant works; the same in every process, and unlike the start-up lock's.
GATEWAY_LOCK_KEY = 0x6762_6761_7465_7761  # "gbgatewa"


class GatewayLock:
    """The advisory lock, on a connection of its own that is kept open while the lock is held."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self.held = False

    async def try_acquire(self) -> bool:
        """Take the lock if no live connection holds it; never waits. A broken connection (the
        database restarted) is dropped and the next try opens a new one."""
        if self.held:
            return True
        try:
            if self._conn is None:
                self._conn = await self._engine.connect()
            got = (await self._conn.execute(select(func.pg_try_advisory_lock(GATEWAY_LOCK_KEY)))).scalar_one()
            await self._conn.commit()  # ends the implicit transaction; a session-level lock outlives it
        except Exception:
            await self._drop()
            raise
        self.held = bool(got)
        return self.held

    async def release(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn, self.held = self._conn, None, False
        if conn is None:
            return
        try:
            # Closed, not returned to the pool: a pooled connection would keep the lock.
            await conn.invalidate()
            await conn.close()
        except Exception as exc:  # the server frees the lock with the connection anyway
            log.debug("Closing the gateway lock's connection: %r", exc)
