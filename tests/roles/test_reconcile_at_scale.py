"""A 5,000-member group reconciled by the role-sync engine, in this process, against the VRChat
simulator and the Discord stand-in: VRChat is read at its floor (a page per 100 members and one look at
the member count), Discord gets exactly one write per real difference, and a second reconcile finds
nothing. `make bench` times the same at VRChat's default rate; here the client is fast and the count
is what is checked. Few differences are seeded so the run stays short: the member count is the point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest
from sqlalchemy import insert

from bot.roles.discord_side import DiscordRoleAccess
from bot.roles.sync import RoleSyncEngine, rules_of
from bot.sandbox.discord import pointed_at
from bot.sandbox.world import FEED_CHANNEL_ID, GUILD_ID, TOKEN, SandboxWorld, WorldSettings
from bot.store import BindingIn, Store
from bot.store.models import DiscordLinkRow
from bot.vrchat import Politeness
from bot.vrchat.paging import MAX_PAGE
from tests.fixtures.discord_standin import fail_on_violations
from tests.fixtures.vrchat_sim import world_client

pytestmark = pytest.mark.slow

MEMBERS = 5000
EACH_KIND = 60  # differences of each kind: Verified to give, Verified to take, membership to give
VERIFIED_IN_VRCHAT = 2000
MEMBERSHIP_D = 1_400_000_000_000_000_040
FIRST_FAN = 1_800_000_000_000_000_000


@dataclass
class Seeded:
    binding_id: int
    verified_d: int
    # Discord user -> (should hold Verified, should hold the membership role) once reconciled.
    wanted: dict[int, tuple[bool, bool]]
    differences: int


async def seed(world: SandboxWorld, store: Store) -> Seeded:
    """5,000 linked members; the first 2,000 hold Verified in VRChat. In Discord every one of them
    agrees with VRChat except EACH_KIND missing Verified, EACH_KIND holding it without VRChat's, and
    EACH_KIND missing the membership role."""
    roles = world.seed_identity()
    world.discord.add_role(GUILD_ID, MEMBERSHIP_D, "Group member", position=1)
    crowd = world.players.crowd(VERIFIED_IN_VRCHAT, name="Verified", role_ids=[roles.vrchat_verified.id])
    crowd += world.players.crowd(MEMBERS - VERIFIED_IN_VRCHAT, name="Player")
    lacks_verified = range(0, EACH_KIND)
    extra_verified = range(VERIFIED_IN_VRCHAT, VERIFIED_IN_VRCHAT + EACH_KIND)
    lacks_membership = range(MEMBERS - EACH_KIND, MEMBERS)
    wanted: dict[int, tuple[bool, bool]] = {}
    for i in range(MEMBERS):
        fan = FIRST_FAN + i
        verified_now = (i < VERIFIED_IN_VRCHAT and i not in lacks_verified) or i in extra_verified
        held = [roles.discord_verified] if verified_now else []
        if i not in lacks_membership:
            held.append(MEMBERSHIP_D)
        world.discord.add_member(GUILD_ID, fan, f"fan{i}", tuple(held))
        wanted[fan] = (i < VERIFIED_IN_VRCHAT, True)
    await store.upgrade()
    binding = await store.add_binding(
        BindingIn(group_id=world.community.group.id, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
    )
    await store.add_role_mapping(
        binding.id, roles.vrchat_verified.id, roles.discord_verified, "vrchat_to_discord", "vrchat",
        allow_management=False, created_by=1,
    )  # fmt: skip
    await store.set_role_sync_settings(binding.id, "on", MEMBERSHIP_D)
    # Links written at once, as /link leaves them: 5,000 verifications are not what is tested here.
    now = datetime.now(UTC)
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(DiscordLinkRow),
            [
                {"discord_user_id": FIRST_FAN + i, "vrchat_user_id": user.id, "linked_at": now}
                for i, user in enumerate(crowd)
            ],
        )
    return Seeded(binding.id, roles.discord_verified, wanted, 3 * EACH_KIND)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SandboxWorld]:
    # Discord's own limit on other routes, raised: the writes are counted here, not paced.
    async with SandboxWorld(tmp_path / "world", WorldSettings(validate=False)) as started:
        started.discord.other_rate_limit = (1000, 1.0)
        yield started
    fail_on_violations(started.discord)
    assert not started.sim.violations


def role_writes(world: SandboxWorld, since: int) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in world.discord.requests[since:]
        if r.method in ("PUT", "DELETE") and "/roles/" in r.path
    ]


async def test_five_thousand_members_cost_the_page_floor_and_one_write_per_difference(
    world: SandboxWorld, tmp_path: Path
) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    fast = Politeness(requests_per_second=1000, burst=100, base_backoff=0.01, timeout=10)
    vrchat = world_client(world, tmp_path / "session.json", fast)
    try:
        seeded = await seed(world, store)
        (binding,) = await store.list_bindings()
        settings = await store.role_sync_settings(binding.id)
        rules = rules_of(settings, await store.role_mappings(binding.id))
        with pointed_at(world.discord):
            bot = discord.Client(intents=discord.Intents.none())
            try:
                async with vrchat:
                    await vrchat.login()
                    await bot.login(TOKEN)
                    engine = RoleSyncEngine(vrchat, store, DiscordRoleAccess(bot, list_members=True))
                    vrchat_before, discord_before = len(world.sim.requests), len(world.discord.requests)
                    first = await engine.run(binding, rules, apply=True)
                    vrchat_sent = world.sim.requests[vrchat_before:]
                    writes = role_writes(world, discord_before)
                    discord_between = len(world.discord.requests)
                    second = await engine.run(binding, rules, apply=True)
                    again = role_writes(world, discord_between)
            finally:
                await bot.close()

        # VRChat: the group's members (the bot's account is never listed) a full page at a time, and
        # one GET of the group for its member count, which tells a whole listing from a partial one.
        listed = len(world.sim.state.members(binding.group_id)) - 1
        assert listed == MEMBERS + len(world.community.members)
        pages = [r for r in vrchat_sent if r.path.endswith("/members")]
        assert len(pages) == -(-listed // MAX_PAGE) == 51
        assert len(vrchat_sent) == len(pages) + 1 == first.vrchat_requests
        assert [r.path for r in vrchat_sent if r not in pages] == [f"/groups/{binding.group_id}"]

        # Discord: one write per difference seeded, none twice, nothing held back or failed.
        assert len(writes) == len(set(writes)) == seeded.differences == len(first.plan.changes)
        assert (first.applied, first.failed, first.refused, first.plan.held_back) == (
            seeded.differences, 0, 0, 0,
        )  # fmt: skip
        for fan, (verified, member) in seeded.wanted.items():
            holds = world.discord.member(GUILD_ID, fan).role_ids
            assert (seeded.verified_d in holds, MEMBERSHIP_D in holds) == (verified, member), fan

        # The second reconcile reads the same and finds nothing to do.
        assert second.plan.changes == () and again == []
        assert second.vrchat_requests == first.vrchat_requests
        assert await store.role_writes(binding.id) == []
        logged = await store.list_actions(limit=10 * seeded.differences)
        assert len(logged) == seeded.differences
    finally:
        await store.close()
