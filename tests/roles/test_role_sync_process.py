"""Role sync in the real bot process (`groupbridge run` on the offline world): a link gives the
membership role, a VRChat role given in the game reaches Discord within a poll, a Discord role reaches
VRChat (Server Members intent on), and a SIGKILL in the middle of a reconcile changes nothing twice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.sandbox.discord.intents import GUILD_MEMBERS
from bot.sandbox.identity import IdentityRoles
from bot.sandbox.world import ADMIN_ID, GUILD_ID, MEMBER_ID, MOD_ID, SandboxWorld, WorldSettings
from bot.store import Store
from tests.discord.conftest import answered, first_reply
from tests.fixtures.discord_standin import fail_on_violations

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

MEMBERSHIP_D = 1_400_000_000_000_000_020
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
        now = datetime.now(UTC)
        for discord_id, vrchat_id in pairs:
            code = await store.issue_link_code(
                discord_id,
                vrchat_id,
                "0" * 64,
                now=now,
                expires_at=now + timedelta(minutes=10),
                purge_before=now,
            )
            await store.complete_link(code.id, discord_id, vrchat_id, now=now)
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


async def test_a_sigkill_in_the_middle_of_a_reconcile_changes_nothing_twice(world: SandboxWorld) -> None:
    roles = world.seed_identity()
    crowd = world.players.crowd(CROWD, role_ids=[roles.vrchat_verified.id])
    pairs = [(1_600_000_000_000_000_000 + i, user.id) for i, user in enumerate(crowd)]
    for discord_id, _ in pairs:
        world.discord.add_member(GUILD_ID, discord_id, f"fan{discord_id % 1000}")
    await seed_links(world, pairs)
    bot = await started(world)
    verified = world.discord.state.guilds[GUILD_ID].roles[roles.discord_verified]
    await admin(world, "map", vrchat_role="Verified", discord_role=verified, direction="vrchat_to_discord")
    await bot.stop()
    # Switched on while stopped, so the first full reconcile after the start is the one that dies.
    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    try:
        (binding,) = await store.list_bindings()
        await store.set_role_sync_settings(binding.id, "on", None)
    finally:
        await store.close()
    await bot.start(env={"GROUPBRIDGE_CRASH_AT": "roles.after_write:7"})
    await world.wait_for(lambda: not bot.running, "the crash after the 7th write", 60)
    assert sum(holds(world, d, roles.discord_verified) for d, _ in pairs) == 7
    await bot.start()
    await world.wait_for(
        lambda: all(holds(world, d, roles.discord_verified) for d, _ in pairs),
        "every fan verified",
        60,
        process=bot,
    )
    # The last write is settled (journal row gone, action logged) just after Discord has it.
    await world.wait_for(
        lambda: "change(s) made" in bot.log().split("--- start 3 ---")[-1], "the round's end", 30
    )
    await bot.stop()
    puts = Counter(
        r.path
        for r in world.discord.requests
        if r.method == "PUT" and r.path.endswith(f"/roles/{roles.discord_verified}")
    )
    assert len(puts) == CROWD and set(puts.values()) == {1}  # each member's role written once
    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    try:
        logged = await store.list_actions(action="role.discord.add", limit=1000)
        assert Counter(a.target_id for a in logged) == Counter(v for _, v in pairs)  # logged once each
        assert sum(1 for a in logged if (a.details or {}).get("recovered")) == 1  # the one the kill cut
        assert await store.role_writes(binding.id) == []
    finally:
        await store.close()
