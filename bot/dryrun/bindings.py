"""Which bindings the dry run shows: the database's when there is one, read-only; else the config's.

`groupbridge run` takes its bindings from the database (links made with `/bridge link` live only
there) after adding the config's [[bindings]] to it. So the dry run reads the same table, without
creating, migrating or locking anything: a SQLite file is opened read-only, and `immutable` when no
write-ahead log shows a running bot (then SQLite would otherwise leave -wal and -shm files behind,
owned by whoever ran the dry run); a PostgreSQL session is read-only. When there is no database yet
or it cannot be read, the config's [[bindings]] are shown and the reason is said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import aiosqlite
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from bot.config import BindingConfig, Config
from bot.events import EVENT_FAMILIES
from bot.logs import redact
from bot.store.engine import is_memory_sqlite, normalise_url
from bot.store.models import BindingRow

READ_TIMEOUT = 10.0  # seconds for connecting and reading: a dry run must not hang on a dead server

# Where a binding shown comes from: a config [[bindings]] block or a /bridge link command, as the
# database records it, or a config block the database does not have yet (the next start adds it).
Origin = Literal["config", "command", "config, not yet in the database"]


@dataclass(frozen=True, slots=True)
class ShownBinding:
    group_id: str
    feed_channel_id: int
    requests_channel_id: int | None
    events: tuple[str, ...]  # event families; all of them when the binding does not filter
    origin: Origin
    paused_reason: str | None = None  # set when the feed channel is paused

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None


@dataclass(frozen=True, slots=True)
class Bindings:
    bindings: tuple[ShownBinding, ...]
    source: str  # one sentence for the operator: where they were read
    from_database: bool


def _from_config(binding: BindingConfig, origin: Origin = "config") -> ShownBinding:
    return ShownBinding(
        binding.group_id,
        binding.feed_channel_id,
        binding.requests_channel_id,
        tuple(binding.events),
        origin,
    )


def _from_row(row: BindingRow) -> ShownBinding:
    families = tuple(str(f) for f in row.event_families or ()) or EVENT_FAMILIES  # () means all
    origin: Origin = "command" if row.source == "command" else "config"
    reason = (row.paused_reason or "no reason recorded") if row.paused else None
    return ShownBinding(
        row.group_id, row.feed_channel_id, row.requests_channel_id, tuple(families), origin, reason
    )


async def read_bindings(config: Config, *, timeout: float = READ_TIMEOUT) -> Bindings:  # noqa: ASYNC109
    """The bindings `run` would work with, and where they were read."""
    configured = tuple(_from_config(b) for b in config.bindings)
    file_name = config.path.name if config.path else "the configuration"
    url = normalise_url(config.database.url)

    def from_config(why: str) -> Bindings:
        return Bindings(configured, f"from {file_name} ({why})", from_database=False)

    opened = _open_read_only(config, url, timeout)
    if isinstance(opened, str):
        return from_config(opened)
    engine, where = opened
    try:
        async with asyncio.timeout(timeout):
            rows = await _binding_rows(engine)
    except Exception as exc:  # any driver's error: the dry run goes on with what the config says
        return from_config(f"could not read the database at {where}: {_reason(exc)}")
    finally:
        await engine.dispose()
    stored = tuple(_from_row(row) for row in rows)
    known = {(b.group_id, b.feed_channel_id) for b in stored}
    pending = tuple(
        _from_config(b, "config, not yet in the database")
        for b in config.bindings
        if (b.group_id, b.feed_channel_id) not in known
    )
    source = f"from the database at {where} (read-only)"
    if pending:
        source += f", and {len(pending)} from {file_name} that the next start adds to it"
    return Bindings(stored + pending, source, from_database=True)


def _open_read_only(config: Config, url: URL, timeout: float) -> tuple[AsyncEngine, str] | str:
    """An engine that can only read the database, and where that is; or why there is nothing to read."""
    if url.get_backend_name() != "sqlite":
        options: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            options = {"timeout": timeout, "server_settings": {"default_transaction_read_only": "on"}}
        return create_async_engine(url, connect_args=options), config.database.masked_url
    if is_memory_sqlite(url):
        return "the database is in memory"
    path = Path(url.database or "").expanduser()
    if not path.is_file():
        return f"there is no database at {path} yet"
    return _sqlite_read_only(path), str(path)


def _sqlite_read_only(path: Path) -> AsyncEngine:
    # A write-ahead log next to the file: a bot is running (or crashed) and recent writes may be only
    # there, so read through it; its -shm exists too, so nothing new is created. Without one, the
    # file holds everything and `immutable` keeps SQLite from creating anything beside it.
    live = path.with_name(path.name + "-wal").exists()
    target = f"file:{quote(str(path.resolve()))}?mode=ro" + ("" if live else "&immutable=1")

    async def connect() -> aiosqlite.Connection:
        return await aiosqlite.connect(target, uri=True)

    return create_async_engine("sqlite+aiosqlite://", async_creator=connect)


async def _binding_rows(engine: AsyncEngine) -> Sequence[BindingRow]:
    async with AsyncSession(engine) as session:
        return (await session.scalars(select(BindingRow).order_by(BindingRow.id))).all()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    original = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    first = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    if "no such table" in first or 'relation "bindings" does not exist' in first:
        return "it has no schema yet (the first `groupbridge run` or `groupbridge db upgrade` creates it)"
    return redact(first[:200])
