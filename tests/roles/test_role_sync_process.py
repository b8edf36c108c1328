"""Role sync in the real bot process (`groupbridge run` on the offline world): a link gives the
membership role, a VRChat role given in the game reaches Discord within a poll, a Discord role reaches
VRChat (Server Members intent on), and a SIGKILL in the middle of a reconcile changes nothing twice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.discord.intents import GUILD_MEMBERS
from bot.sandbox.identity import ORDINARY_PERMISSIONS, IdentityRoles
from bot.sandbox.world import ADMIN_ID, GUILD_ID, MEMBER_ID, MOD_ID, SandboxWorld, WorldSettings
from bot.store import Store
from tests.discord.conftest import answered, first_reply
from tests.fixtures.discord_standin import fail_on_violations
from tests.store.helpers import link_directly

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

MEMBERSHIP_D = 1_400_000_000_000_000_020
HELPER_D = 1_400_000_000_000_000_021
CODE = re.compile(r"`(GB-[^`]+)`")
CROWD = 24


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SandboxWorld]:
    settings = WorldSettings(env={"GROUPBRIDGE_DISCORD__SERVER_MEMBERS_INTENT": "true"})
    async with SandboxWorld(tmp_path / "world", settings) as started:
        started.discord.state.privileged_intents |= GUILD_MEMBERS  # the Developer Portal switch
        yield started
    fail_on_violations(started.discord)
    assert not started.sim.violations


def holds(world: SandboxWorld, user_id: int, role_id: int) -> bool:
    return role_id in world.discord.member(GUILD_ID, user_id).role_ids


async def admin(world: SandboxWorld, sub: str, **options: object) -> str:
    exchange = await world.command("rolesync", sub, dict(options), who=ADMIN_ID)
    await exchange.wait_for(answered, 15, f"the answer to /rolesync {sub}")
    return str(first_reply(exchange))


async def started(world: SandboxWorld, env: dict[str, str] | None = None):
    bot = world.bot_process()
    await bot.start(env=env)
    await world.wait_for(
        lambda: bool(world.discord.synced_commands(GUILD_ID)), "commands synced", 60, process=bot
    )
    return bot


async def seed_links(world: SandboxWorld, pairs: list[tuple[int, str]]) -> None:
    """Links made before the bot starts (what /link does is tested elsewhere)."""
    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    try:
        await store.upgrade()
        for discord_id, vrchat_id in pairs:
            await link_directly(store, discord_id, vrchat_id)
    finally:
        await store.close()


async def test_link_vrchat_role_and_discord_role_reach_the_other_side(world: SandboxWorld) -> None:
    roles: IdentityRoles = world.seed_identity()
    world.discord.add_role(GUILD_ID, MEMBERSHIP_D, "Group member", position=1)
    ben, chidi = world.players.named("Ben"), world.players.named("Chidi")
    await seed_links(world, [(MOD_ID, chidi.id)])
    bot = await started(world)
    assert "Linked members" in await admin(
        world, "membership", role=world.discord.state.guilds[GUILD_ID].roles[MEMBERSHIP_D]
    )
    verified = world.discord.state.guilds[GUILD_ID].roles[roles.discord_verified]
    mapped = await admin(world, "map", vrchat_role="Verified", discord_role=verified, direction="both")
    assert "Mapped" in mapped
    assert "Role sync is on" in await admin(world, "mode", mode="on")
    await world.wait_for(
        lambda: holds(world, MOD_ID, MEMBERSHIP_D), "Chidi's membership role", 30, process=bot
    )

    # Linking: /link start, the code in the bio, Verify -> the membership role.
    exchange = await world.command("link", "start", {"user": ben.id}, who=MEMBER_ID)
    await exchange.wait_for(lambda x: x.callback is not None, 15, "the link code")
    assert exchange.callback is not None and exchange.callback.message is not None
    found = CODE.search(exchange.callback.body["data"]["content"])
    assert found
    world.players.edit_profile(ben, bio=f"hello {found[1]}")
    await world.click(exchange.callback.message, "Verify", who=MEMBER_ID)
    await world.wait_for(
        lambda: holds(world, MEMBER_ID, MEMBERSHIP_D), "Ben's membership role", 30, process=bot
    )

    # In the game, Aiko gives Ben "Verified": it reaches Discord from the audit log (one poll: 1 s here).
    world.players.give_role(ben, roles.vrchat_verified, by="Aiko")
    await world.wait_for(
        lambda: holds(world, MEMBER_ID, roles.discord_verified), "Discord Verified", 30, process=bot
    )

    # In Discord, a moderator gives Chidi "Verified": with the Server Members intent it reaches VRChat.
    await world.discord.give_role(GUILD_ID, MOD_ID, roles.discord_verified)
    group = world.community.group.id

    def chidi_verified() -> bool:
        membership = world.sim.state.membership(group, chidi.id)
        return membership is not None and roles.vrchat_verified.id in membership.role_ids

    await world.wait_for(chidi_verified, "Chidi's VRChat role", 30, process=bot)
    # The feed credits the bot's assignment to role sync, as it credits moderators' actions.
    await world.wait_for(
        lambda: any("by role sync via GroupBridge" in str(m.embeds) for m in world.feed_messages()),
        "the feed entry of the bot's assignment",
        30,
        process=bot,
    )
    # None of it came back as a change to copy: one assignment each way, nothing taken.
    log = world.sim.state.audit(group)
    by_bot = [
        e
        for e in log
        if e.actor_id == world.community.bot.id and e.event_type.startswith("group.member.role")
    ]
    assert [(e.event_type, e.target_id) for e in by_bot] == [("group.member.role.assign", chidi.id)]
    puts = Counter(
        r.path for r in world.discord.requests if r.method in ("PUT", "DELETE") and "/roles/" in r.path
    )
    assert all(n == 1 for n in puts.values()) and not [
        r for r in world.discord.requests if r.method == "DELETE" and "/roles/" in r.path
    ]
    await bot.stop()


def took_on_each_side(
    world: SandboxWorld, pairs: list[tuple[int, str]], verified: int, helper: str
) -> tuple[int, int]:
    """Writes that took: fans with Discord's Verified, fans with VRChat's Helper."""
    group = world.community.group.id
    in_vrchat = (world.sim.state.membership(group, v) for _, v in pairs)
    return sum(holds(world, d, verified) for d, _ in pairs), sum(
        m is not None and helper in m.role_ids for m in in_vrchat
    )


def writes_per_target(requests: Iterable[Any], method: str, role_id: object) -> Counter[str]:
    """How often each member's `role_id` got `method`, from a stand-in's record of requests."""
    return Counter(r.path for r in requests if r.method == method and r.path.endswith(f"/roles/{role_id}"))


# The reconcile writes member by member, Discord's Verified then VRChat's Helper: the 7th write is a
# Discord one, the 8th a VRChat one. Killed with a write journalled but not sent (the restart drops the
# row and makes it once), or just after it took (the restart finds it done and logs it, once).
@pytest.mark.parametrize(
    ("crash_at", "took", "recovered"),
    [
        ("after_journal:7", (3, 3), None),
        ("after_journal:8", (4, 3), None),
        ("after_write:7", (4, 3), "role.discord.add"),
    ],
)
async def test_a_sigkill_in_the_middle_of_a_reconcile_changes_nothing_twice(
    world: SandboxWorld, crash_at: str, took: tuple[int, int], recovered: str | None
) -> None:
    roles = world.seed_identity()
    group = world.community.group.id
    # Verified goes VRChat -> Discord, Helper Discord -> VRChat: the reconcile writes on both sides.
    helper_v = world.sim.state.add_role(group, "Helper", permissions=ORDINARY_PERMISSIONS)
    world.discord.add_role(GUILD_ID, HELPER_D, "Helper", position=1)
    crowd = world.players.crowd(CROWD, role_ids=[roles.vrchat_verified.id])
    pairs = [(1_600_000_000_000_000_000 + i, user.id) for i, user in enumerate(crowd)]
    for discord_id, _ in pairs:
        world.discord.add_member(GUILD_ID, discord_id, f"fan{discord_id % 1000}", (HELPER_D,))
    await seed_links(world, pairs)
    bot = await started(world)
    guild_roles = world.discord.state.guilds[GUILD_ID].roles
    for vrchat_role, discord_role, direction in (
        ("Verified", roles.discord_verified, "vrchat_to_discord"),
        ("Helper", HELPER_D, "discord_to_vrchat"),
    ):
        mapped = await admin(
            world, "map", vrchat_role=vrchat_role, discord_role=guild_roles[discord_role], direction=direction
        )
        assert "Mapped" in mapped
    await bot.stop()
    # Switched on while stopped, so the first full reconcile after the start is the one that dies.
    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    try:
        (binding,) = await store.list_bindings()
        await store.set_role_sync_settings(binding.id, "on", None)
    finally:
        await store.close()
    await bot.start(env={"GROUPBRIDGE_CRASH_AT": f"roles.{crash_at}"})
    await world.wait_for(lambda: not bot.running, f"the crash at {crash_at}", 60)
    assert took_on_each_side(world, pairs, roles.discord_verified, helper_v.id) == took
    await bot.start()
    await world.wait_for(
        lambda: took_on_each_side(world, pairs, roles.discord_verified, helper_v.id) == (CROWD, CROWD),
        "every fan verified in Discord and a helper in VRChat",
        60,
        process=bot,
    )
    # The last write is settled (journal row gone, action logged) just after it is sent.
    await world.wait_for(
        lambda: "change(s) made" in bot.log().split("--- start 3 ---")[-1], "the round's end", 30
    )
    await bot.stop()
    # Each member's role written once on each side, and nothing ever taken.
    discord_puts = writes_per_target(world.discord.requests, "PUT", roles.discord_verified)
    vrchat_puts = writes_per_target(world.sim.requests, "PUT", helper_v.id)
    assert len(discord_puts) == len(vrchat_puts) == CROWD
    assert set(discord_puts.values()) == set(vrchat_puts.values()) == {1}
    assert not [r for r in world.discord.requests if r.method == "DELETE"]
    assert not [r for r in world.sim.requests if r.method == "DELETE"]
    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    try:
        fans = Counter(v for _, v in pairs)
        for action in ("role.discord.add", "role.assign"):
            logged = await store.list_actions(action=action, limit=1000)
            assert Counter(a.target_id for a in logged) == fans, action  # logged once each
        every = await store.list_actions(limit=1000)
        found_done = [a.action for a in every if (a.details or {}).get("recovered")]
        assert found_done == ([recovered] if recovered else [])
        assert await store.role_writes(binding.id) == []
    finally:
        await store.close()
