"""A server with two linked VRChat groups, so "moderator of this binding" and "moderator of another
binding" are different people; the real GroupBridgeBot on the simulator, the Discord stand-in and a
SQLite file; helpers to act as each kind of person (a DM included) and to snapshot the database.

People (all in GUILD_ID): ADMIN_ID owns the server (Manage Server); GROUP_MOD_ID holds only the Test
Group binding's moderator role; OTHER_MOD_ID holds only the Other Group binding's moderator role;
MEMBER_ID holds nothing. The standard MOD_ID is left out on purpose: its role carries Manage Server,
so it is an admin in disguise.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy import Connection, MetaData, select

from bot.bot import GroupBridgeBot
from bot.config import Config, load_config_text
from bot.sandbox.discord import DiscordStandIn, InteractionExchange, slash_command
from bot.sandbox.vrchat import SimGroup, SimUser
from bot.store import BindingIn, Store
from bot.vrchat import VRChatClient
from tests.fixtures.bridge import running_bridge
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
    MEMBER_ID,
    REQUESTS_CHANNEL_ID,
)
from tests.fixtures.snapshots import HEARTBEAT_TABLES
from tests.fixtures.vrchat_sim import SeededSim

Role = Literal["admin", "moderator", "other_moderator", "member", "dm"]
ROLES: tuple[Role, ...] = ("admin", "moderator", "other_moderator", "member", "dm")

GROUP_MOD_ROLE_ID = 1_400_000_000_000_000_101
OTHER_MOD_ROLE_ID = 1_400_000_000_000_000_102
GROUP_MOD_ID = 1_500_000_000_000_000_101
OTHER_MOD_ID = 1_500_000_000_000_000_102
OTHER_FEED_ID = 1_300_000_000_000_000_101
SPARE_FEED_ID = 1_300_000_000_000_000_102

# The DM is the server owner writing to the bot directly: the most privileged person, outside a server.
ROLE_USER: dict[Role, int] = {
    "admin": ADMIN_ID,
    "moderator": GROUP_MOD_ID,
    "other_moderator": OTHER_MOD_ID,
    "member": MEMBER_ID,
    "dm": ADMIN_ID,
}


@dataclass
class World:
    seeded: SeededSim
    standin: DiscordStandIn
    other_group: SimGroup
    requesters: list[SimUser]  # one pending join request each in the Test Group
    joiner: SimUser  # member of many groups: /vrc user pages through them

    @property
    def group_id(self) -> str:
        return self.seeded.group.id


def config_text(world: World, tmp_path: Path, **tables: Any) -> str:
    """config.toml for the seeded bot account with both groups allowed; `tables` as config_toml takes
    them (vrchat= changes [vrchat] keys, None drops one)."""
    groups = [
        {"id": world.group_id, "name": "Test Group"},
        {"id": world.other_group.id, "name": "Other Group"},
    ]
    return config_toml(world.seeded, tmp_path, groups=groups, **tables)


@pytest.fixture
def world(seeded_sim: SeededSim, gateway_standin: DiscordStandIn) -> World:
    state = seeded_sim.sim.state
    other = state.add_group(
        "Other Group", short_code="OTHER", discriminator="5678", owner_id=seeded_sim.bot.id
    )
    requesters = [seeded_sim.requester]
    for name in ("Erin", "Frank"):
        user = state.add_user(name, bio="Please")
        state.add_join_request(seeded_sim.group.id, user.id)
        requesters.append(user)
    joiner = state.add_user("Grace")
    for number in range(12):
        extra = state.add_group(
            f"Club {number}", short_code=f"CLB{number:02d}", discriminator="0001", owner_id=seeded_sim.bot.id
        )
        state.add_member(extra.id, joiner.id)
    standin = gateway_standin
    standin.add_channel(OTHER_FEED_ID, guild_id=GUILD_ID, name="other-feed")
    standin.add_channel(SPARE_FEED_ID, guild_id=GUILD_ID, name="spare-feed")
    standin.add_role(GUILD_ID, GROUP_MOD_ROLE_ID, "Test Group mods")
    standin.add_role(GUILD_ID, OTHER_MOD_ROLE_ID, "Other Group mods")
    standin.add_member(GUILD_ID, GROUP_MOD_ID, "group-mod", (GROUP_MOD_ROLE_ID,))
    standin.add_member(GUILD_ID, OTHER_MOD_ID, "other-mod", (OTHER_MOD_ROLE_ID,))
    return World(seeded_sim, standin, other, requesters, joiner)


@pytest.fixture
async def security_store(sqlite_store: Store, world: World) -> Store:
    await sqlite_store.add_binding(
        BindingIn(world.group_id, GUILD_ID, FEED_CHANNEL_ID, REQUESTS_CHANNEL_ID, (GROUP_MOD_ROLE_ID,))
    )
    await sqlite_store.add_binding(
        BindingIn(world.other_group.id, GUILD_ID, OTHER_FEED_ID, None, (OTHER_MOD_ROLE_ID,))
    )
    return sqlite_store


@pytest.fixture
def security_config(world: World, tmp_path: Path) -> Config:
    return load_config_text(config_text(world, tmp_path))


@pytest.fixture
def make_security_bot(
    world: World, security_store: Store, bot_vrchat: VRChatClient, security_config: Config
) -> Callable[[], AbstractAsyncContextManager[GroupBridgeBot]]:
    """`async with make_security_bot() as bot:` the connected bot (no feed loops: nothing moves by itself)."""
    return lambda: running_bridge(world.standin, security_config, bot_vrchat, security_store)


# ------------------------------------------------------------------ acting as someone


def _as_direct_message(payload: dict[str, Any]) -> dict[str, Any]:
    """What Discord sends for the same action in the bot's DMs: a user instead of a member, no guild."""
    dm = copy.deepcopy(payload)
    user = dm.pop("member")["user"]
    for key in ("guild_id", "guild", "guild_locale"):
        dm.pop(key, None)
    dm.get("data", {}).pop("guild_id", None)
    dm["user"] = user
    dm["context"] = 1  # BOT_DM
    dm["authorizing_integration_owners"] = {"0": "0"}
    dm["channel"] = {"id": dm["channel_id"], "type": 1, "recipients": [user], "last_message_id": None}
    return dm


@contextmanager
def direct_messages(standin: DiscordStandIn) -> Iterator[None]:
    """Interactions dispatched meanwhile reach the bot as DM interactions.

    The stand-in does not model DMs, so it completes and books each interaction as the guild one it
    was built as (answers land, ephemeral, in that channel) and only what the bot receives changes.
    """
    gateway = standin.gateway
    original = gateway.dispatch

    async def dispatch(event: str, data: dict[str, Any], **kwargs: Any) -> int:
        if event == "INTERACTION_CREATE":
            data = _as_direct_message(data)
        return await original(event, data, **kwargs)

    gateway.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield
    finally:
        del gateway.dispatch


def answered(exchange: InteractionExchange) -> bool:
    """The person has seen something: a message, a modal, an update, or a follow-up after a deferral."""
    callback = exchange.callback
    if callback is None:
        return False
    return callback.body["type"] in (4, 7, 9) or bool(exchange.followups)


async def dispatch_as(standin: DiscordStandIn, role: Role, payload: dict[str, Any]) -> InteractionExchange:
    """Deliver `payload` (built for ROLE_USER[role]) as that person; `force`: Discord's client only hides
    commands by default_member_permissions, the bot must refuse on its own."""
    if role == "dm":
        with direct_messages(standin):
            return await standin.dispatch_interaction(payload, force=True)
    return await standin.dispatch_interaction(payload, force=True)


async def run_command(
    standin: DiscordStandIn, role: Role, path: str, options: dict[str, Any]
) -> InteractionExchange:
    """`/path options` used by `role` in the feed channel, once answered."""
    name, _, sub = path.partition(" ")
    member = standin.member(GUILD_ID, ROLE_USER[role])
    payload = slash_command(name, options, channel_id=FEED_CHANNEL_ID, member=member, subcommand=sub or None)
    exchange = await dispatch_as(standin, role, payload)
    await exchange.wait_for(answered, timeout=10, what="an answer")
    return exchange


def reply_text(body: dict[str, Any]) -> str:
    """Everything a person reads in a message body: content and the embeds' text."""
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name')} {f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(p for p in parts if p)


def first_answer(exchange: InteractionExchange) -> dict[str, Any]:
    """The first message the person sees (a modal counts as its own kind of answer)."""
    callback = exchange.callback
    assert callback is not None
    if callback.body["type"] in (4, 7, 9):
        return {"type": callback.body["type"], **(callback.body.get("data") or {})}
    return {"type": 4, **exchange.followups[0].body}


# ------------------------------------------------------------------ the database, whole


def _read_all(sync: Connection) -> dict[str, list[tuple[Any, ...]]]:
    meta = MetaData()
    meta.reflect(sync)  # from the database itself, so tables added later count too
    return {
        name: sorted((tuple(row) for row in sync.execute(select(table))), key=repr)
        for name, table in meta.tables.items()
    }


async def db_snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    async with store.engine.connect() as conn:
        return await conn.run_sync(_read_all)


def changed_tables(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    return sorted(
        name
        for name in (before.keys() | after.keys()) - HEARTBEAT_TABLES
        if before.get(name) != after.get(name)
    )
