"""Feed tests: the simulator's group log, a real SQLite store, and a logged-in client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.feed.poller import AuditPoller, PollSettings
from bot.store import BindingIn, Store
from bot.vrchat import VRChatAPI, VRChatClient
from tests.fixtures.vrchat_sim import SeededSim

FEED_CHANNEL = 900_000_000_000_000_001
GUILD = 800_000_000_000_000_001


@pytest.fixture
def vrc(bot_vrchat: VRChatClient) -> VRChatClient:
    """The seeded bot account's client, logged in."""
    return bot_vrchat


async def bind(store: Store, group_id: str, channel_id: int = FEED_CHANNEL) -> None:
    await store.add_binding(BindingIn(group_id=group_id, guild_id=GUILD, feed_channel_id=channel_id))


async def started_poller(
    vrc: VRChatClient,
    store: Store,
    seeded: SeededSim,
    settings: PollSettings | None = None,
    *,
    source: VRChatAPI | None = None,
    channel_id: int | None = FEED_CHANNEL,
) -> AuditPoller:
    """The seeded group's poller after its first poll (the anchor, or the backfill): what comes next
    is new. The group is bound to `channel_id` first, unless that is None; `source` stands in for
    the client's audit-log call."""
    if channel_id is not None:
        await bind(store, seeded.group.id, channel_id)
    poller = AuditPoller(source or vrc, store, seeded.group.id, settings)
    await poller.poll_once()
    return poller


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
