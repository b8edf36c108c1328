"""Services over the seeded VRChat simulator and a real SQLite store.

The seeded group is bound to GUILD with a feed and a requests channel; MOD_ROLE is its moderator
role. Actors: `maya` and `sam` hold MOD_ROLE, `eve` holds nothing, `ada` has Manage Server only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.services.registry import Actor, Services
from bot.store import ActionRecord, BindingIn, Store
from bot.vrchat import Politeness, VRChatClient
from tests.fixtures.vrchat_sim import SeededSim

GUILD = 800_000_000_000_000_001
OTHER_GUILD = 800_000_000_000_000_002
FEED = 900_000_000_000_000_001
REQUESTS = 900_000_000_000_000_002
MOD_ROLE = 700_000_000_000_000_001
USER_AGENT = "GroupBridge-tests/0.1 (tests@groupbridge.net)"
FAST = Politeness(requests_per_second=500, burst=50, base_backoff=0.01, timeout=5)
# An ID in the right format for a group the bot is allowed to manage but VRChat does not have.
GHOST_GROUP = "grp_00000000-0000-4000-8000-00000000dead"

MAYA = Actor(user_id=1001, name="maya", guild_id=GUILD, role_ids=frozenset({MOD_ROLE}), manage_guild=False)
SAM = Actor(user_id=1002, name="sam", guild_id=GUILD, role_ids=frozenset({MOD_ROLE}), manage_guild=False)
EVE = Actor(user_id=1003, name="eve", guild_id=GUILD, role_ids=frozenset({42}), manage_guild=False)
ADA = Actor(user_id=1004, name="ada", guild_id=GUILD, role_ids=frozenset(), manage_guild=True)


def make_config(*group_ids: str) -> Config:
    return Config.model_validate(
        {
            "vrchat": {"user_agent": USER_AGENT},
            "discord": {},
            "groups": [
                {"id": gid, "name": "Test Group" if i == 0 else None} for i, gid in enumerate(group_ids)
            ],
        }
    )


def writes(seeded: SeededSim) -> list[str]:
    """Every request that could have changed something in VRChat (logins aside), as 'METHOD path'."""
    return [
        f"{r.method} {r.path}"
        for r in seeded.sim.requests
        if r.method not in ("GET", "HEAD") and not r.path.startswith("/auth")
    ]


def gets(seeded: SeededSim, path_regex: str) -> int:
    return len(seeded.sim.requests_to("GET", path_regex))


ClientFactory = Callable[..., Awaitable[VRChatClient]]


@pytest.fixture
async def login(seeded_sim: SeededSim, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """Logged-in clients: the bot account by default, or username/password of another account."""
    made: list[VRChatClient] = []

    async def factory(username: str | None = None, password: str | None = None) -> VRChatClient:
        options: dict[str, Any] = {
            "base_url": seeded_sim.sim.base_url,
            "user_agent": USER_AGENT,
            "session_path": tmp_path / f"session-{len(made)}.json",
            "username": username or seeded_sim.username,
            "password": password or seeded_sim.password,
            "totp_secret": None if username else seeded_sim.totp_secret,
            "politeness": FAST,
        }
        client = VRChatClient(**options)
        await client.__aenter__()
        made.append(client)
        await client.login()
        return client

    yield factory
    for client in made:
        await client.close()


@pytest.fixture
async def vrc(login: ClientFactory) -> VRChatClient:
    return await login()


@pytest.fixture
async def bound(sqlite_store: Store, seeded_sim: SeededSim) -> Store:
    """The store with the seeded group bound to GUILD (feed + requests channel, MOD_ROLE)."""
    await sqlite_store.add_binding(
        BindingIn(
            group_id=seeded_sim.group.id,
            guild_id=GUILD,
            feed_channel_id=FEED,
            requests_channel_id=REQUESTS,
            moderator_role_ids=(MOD_ROLE,),
        )
    )
    return sqlite_store


@pytest.fixture
def config(seeded_sim: SeededSim) -> Config:
    return make_config(seeded_sim.group.id, GHOST_GROUP)


@pytest.fixture
def services(vrc: VRChatClient, bound: Store, config: Config) -> Services:
    return Services(vrc, bound, config)


async def actions(store: Store, **filters: Any) -> list[ActionRecord]:
    return await store.list_actions(limit=1000, **filters)
