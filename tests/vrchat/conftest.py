"""A VRChatClient pointed at the simulator, fast enough for tests but with the real rate limiter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.vrchat import Politeness, VRChatClient
from tests.fixtures.vrchat_sim import SeededSim

TEST_USER_AGENT = "GroupBridge-tests/0.1 (+https://groupbridge.invalid; tests@groupbridge.invalid)"
FAST = Politeness(requests_per_second=200, burst=20, base_backoff=0.05, timeout=5)

ClientFactory = Callable[..., VRChatClient]


@pytest.fixture
async def client_factory(seeded_sim: SeededSim, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """Build opened clients for the seeded bot account; all are closed after the test."""
    made: list[VRChatClient] = []

    async def factory(**overrides: Any) -> VRChatClient:
        options: dict[str, Any] = {
            "base_url": seeded_sim.sim.base_url,
            "user_agent": TEST_USER_AGENT,
            "session_path": tmp_path / "session.json",
            "username": seeded_sim.username,
            "password": seeded_sim.password,
            "totp_secret": seeded_sim.totp_secret,
            "politeness": FAST,
        }
        options.update(overrides)
        client = VRChatClient(**options)
        await client.__aenter__()
        made.append(client)
        return client

    yield factory  # type: ignore[misc]
    for client in made:
        await client.close()


@pytest.fixture
async def client(client_factory: ClientFactory) -> VRChatClient:
    """A client logged in as the seeded bot account (owner of the seeded group)."""
    vrc = await client_factory()
    await vrc.login()
    return vrc


@pytest.fixture
async def moderator_client(client_factory: ClientFactory, tmp_path: Path) -> VRChatClient:
    """A client logged in as the seeded moderator, Alice (moderation permissions, no 2FA)."""
    vrc = await client_factory(
        username="mod-alice", password="mod pass", totp_secret=None, session_path=tmp_path / "alice.json"
    )
    await vrc.login()
    return vrc
