"""The wake bus: on PostgreSQL, a row written for another process wakes that process at once.

Processes sharing one database tell each other things only through tables they poll (the outbox, the
VRChat calls handed to an account's holder, ...). A transaction that writes such a row also sends
`NOTIFY groupbridge_wake, '<kind>:<key>'` (`announce`); PostgreSQL delivers it only if and when the
transaction commits, so a listener never looks before the row is there. Each process listens on one
connection of its own and calls the listeners subscribed to the notice's kind, which set the asyncio
events their loops already wait on for wakes from within the process.

A notification is a hint, never the message: it is lost when nobody listens, while the connection is
down, or if the server drops it, so every loop keeps its polling and the bus only cuts the wait. After
each (re)connection every listener is called once with key None ("look now"): what was written
while nobody listened is found then, not at the next poll.

On SQLite (one process only) the bus does nothing. Nothing here logs the database URL: the password
in it must never reach a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from bot.store.set_aside import describe

log = logging.getLogger(__name__)

CHANNEL = "groupbridge_wake"
OUTBOX = "outbox"  # key: the feed channel's ID, whose queue got rows
VRCHAT_CALL = "vrchat-call"  # key: the account whose holder has a call to take
GROUP_WAKE = "group"  # key: a group wake counter that moved (bot.store.wakes), "<group ID>[#asked]"
PIPELINE = "pipeline"  # key: "<group ID>:<requester's user ID or nothing>", a join-request notice
RETRY_AFTER = 1.0  # seconds before the first reconnection; doubles up to RETRY_CAP
RETRY_CAP = 30.0
PING_EVERY = 30.0  # seconds between checks of an idle listening connection (a half-open TCP link)
PING_TIMEOUT = 10.0

# listener(key): key None after a (re)connection, when anything may have been missed.
WakeListener = Callable[[str | None], None]


def _notify(kind: str, key: object) -> Select[tuple[Any]]:
    return select(func.pg_notify(CHANNEL, f"{kind}:{key}"))


async def announce(session: AsyncSession, kind: str, key: object) -> None:
    """Within `session`'s transaction: wake the listeners of `kind` in every process once it commits
    (nothing on SQLite, where the writer's own process is the only one)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_notify(kind, key))


class WakeBus:
    """One process's listening end. `subscribe` any time; `start` once the process runs loops that
    other processes feed; `stop` (Store.close does it) ends the listening."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retry_after: float = RETRY_AFTER,
        retry_cap: float = RETRY_CAP,
        ping_every: float = PING_EVERY,
    ) -> None:
        self._engine, self._url = engine, engine.url
        self.enabled = engine.dialect.name == "postgresql"
        self._retry_after, self._retry_cap, self._ping_every = retry_after, retry_cap, ping_every
        self._listeners: dict[str, list[WakeListener]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.backend_pid: int | None = None  # the listening connection's server process, while up
        self.connections = 0  # how many times the listening connection was (re)established
        self.heard = 0  # notifications received

    @property
    def listening(self) -> bool:
        return self.backend_pid is not None

    def subscribe(self, kind: str, listener: WakeListener) -> Callable[[], None]:
        """Call `listener(key)` for each notice of `kind`; returns what unsubscribes it."""
        listeners = self._listeners.setdefault(kind, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    async def send(self, kind: str, key: object) -> None:
        """Wake the listeners of `kind` in every listening process, this one included, with nothing
        written: for news whose only fallback is the listeners' own polling (nothing on SQLite)."""
        if self.enabled:
            async with self._engine.begin() as connection:
                await connection.execute(_notify(kind, key))

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="wake bus")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _tell(self, kind: str, key: str | None) -> None:
        for listener in list(self._listeners.get(kind, ())):
            try:
                listener(key)
            except Exception:  # one broken listener must not silence the others
                log.exception("A wake-bus listener for %r failed", kind)

    def _tell_everyone(self) -> None:
        for kind in list(self._listeners):
            self._tell(kind, None)

    def _on_notice(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.heard += 1
        kind, _, key = payload.partition(":")
        self._tell(kind, key)

    def _on_terminated(self, _connection: Any) -> None:
        self._lost.set()

    async def _run(self) -> None:
        # Its own engine without a pool: the listening connection is never lent to anything else, and
        # the URL's options (SSL and the like) apply as they do to the store's connections.
        engine = create_async_engine(self._url, poolclass=NullPool)
        self._lost = asyncio.Event()  # of this task's loop (a Store may outlive an event loop in tests)
        wait = self._retry_after
        failing = False
        try:
            while True:
                try:
                    async with engine.connect() as connection:
                        await self._listen(connection)
                        if failing:
                            log.info("Listening for other processes' wakes again.")
                        failing, wait = False, self._retry_after
                        await self._until_lost(connection)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database is away: polling carries on meanwhile
                    if not failing:
                        log.warning(
                            "Not listening for other processes' wakes (%s); polling only, retrying.",
                            describe(exc),
                        )
                    failing = True
                finally:
                    self.backend_pid = None
                await asyncio.sleep(wait)
                wait = min(2 * wait, self._retry_cap)
        finally:
            await engine.dispose()

    async def _listen(self, connection: AsyncConnection) -> None:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        self._lost.clear()
        driver.add_termination_listener(self._on_terminated)
        await driver.add_listener(CHANNEL, self._on_notice)
        self.backend_pid = driver.get_server_pid()
        self.connections += 1
        self._tell_everyone()  # what was written while nobody listened

    async def _until_lost(self, connection: AsyncConnection) -> None:
        """Return when the listening connection is gone; raise if a ping fails (it is then invalidated)."""
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        while not self._lost.is_set() and not driver.is_closed():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ping_every):
                    await self._lost.wait()
            if self._lost.is_set() or driver.is_closed():
                break
            try:
                async with asyncio.timeout(PING_TIMEOUT):
                    await driver.execute("SELECT 1")
            except BaseException:
                await connection.invalidate()
                raise
        await connection.invalidate()  # not handed back for a reset: it is dead
        raise ConnectionError("the listening connection was closed")
