"""Feed tests: the simulator's group log, a real SQLite store, and a logged-in client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import BindingIn, Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim, bot_client

FEED_CHANNEL = 900_000_000_000_000_001
GUILD = 800_000_000_000_000_001


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'feed.db'}")
    await store.upgrade()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def vrc(seeded_sim: SeededSim, tmp_path: Path) -> AsyncIterator[VRChatClient]:
    client = bot_client(seeded_sim, tmp_path / "session.json")
    async with client:
        await client.login()
        yield client


async def bind(store: Store, group_id: str, channel_id: int = FEED_CHANNEL) -> None:
    await store.add_binding(BindingIn(group_id=group_id, guild_id=GUILD, feed_channel_id=channel_id))


def seed_history(
    seeded: SeededSim, count: int, *, start: datetime | None = None, step: float = 3600.0
) -> list[str]:
    """`count` audit entries `step` seconds apart (oldest first), by default an hour apart and ending
    an hour ago, i.e. older than any overlap window; returns their ids."""
    start = start or datetime.now(UTC) - timedelta(seconds=step * count)
    ids = []
    for i in range(count):
        entry = seeded.sim.state.add_audit_entry(
            seeded.group.id,
            "group.update",
            seeded.bot.id,
            seeded.group.id,
            f"history {i}",
            created_at=start + timedelta(seconds=i * step),
        )
        ids.append(entry.id)
    return ids
