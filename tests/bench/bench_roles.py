"""Role sync of a 5,000-member group: one reconcile in a child process (tests.bench.roles_child) at
VRChat's default rate, against the simulator and the Discord stand-in in this process.

The world: 5,000 linked members, 2,000 of them holding the ordinary "Verified" role in VRChat; in
Discord, 1,500 of those already hold "Verified", 500 others hold it without VRChat's, and 4,000 hold
the membership role. The real differences: 500 Verified to give, 500 to take, 1,000 membership roles
to give — 2,000 Discord writes is the floor, and one page of members per 100 (plus the look at the
group's member count) is VRChat's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bot.sandbox.world import (
    BOT_PASSWORD,
    BOT_USERNAME,
    FEED_CHANNEL_ID,
    GUILD_ID,
    TOKEN,
    USER_AGENT,
    SandboxWorld,
    WorldSettings,
)
from bot.store import BindingIn, Store
from bot.store.models import DiscordLinkRow
from tests.bench.support import Report

MEMBERSHIP_D = 1_400_000_000_000_000_030
FIRST_DISCORD_ID = 1_700_000_000_000_000_000


async def _seed(world: SandboxWorld, members: int) -> tuple[dict[str, object], int]:
    roles = world.seed_identity()
    world.discord.add_role(GUILD_ID, MEMBERSHIP_D, "Group member", position=1)
    verified_n = members * 2 // 5
    crowd = world.players.crowd(verified_n, name="Verified", role_ids=[roles.vrchat_verified.id])
    crowd += world.players.crowd(members - verified_n, name="Player")
    expected = 0
    pairs = []
    for i, user in enumerate(crowd):
        discord_id = FIRST_DISCORD_ID + i
        in_vrchat = i < verified_n
        has_verified = (i < verified_n * 3 // 4) or (verified_n <= i < verified_n + members // 10)
        has_member = i < members * 4 // 5
        held = tuple(
            r for r, on in ((roles.discord_verified, has_verified), (MEMBERSHIP_D, has_member)) if on
        )
        world.discord.add_member(GUILD_ID, discord_id, f"p{i}", held)
        expected += (in_vrchat != has_verified) + (not has_member)
        pairs.append((discord_id, user.id))
    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    try:
        await store.upgrade()
        binding = await store.add_binding(
            BindingIn(group_id=world.community.group.id, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
        )
        mapping = await store.add_role_mapping(
            binding.id, roles.vrchat_verified.id, roles.discord_verified, "vrchat_to_discord", "vrchat",
            allow_management=False, created_by=1,
        )  # fmt: skip
        # Links as /link makes them, written at once: 5,000 verifications are not what is measured.
        now = datetime.now(UTC)
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(DiscordLinkRow),
                [{"discord_user_id": d, "vrchat_user_id": v, "linked_at": now} for d, v in pairs],
            )
    finally:
        await store.close()
    spec = {
        "vrchat_base": world.sim.base_url,
        "user_agent": USER_AGENT,
        "session_file": str(world.session_path),
        "username": BOT_USERNAME,
        "password": BOT_PASSWORD,
        "totp_secret": world.community.totp_secret,
        "database_url": f"sqlite+aiosqlite:///{world.database_path}",
        "discord_base": world.discord.base_url,
        "token": TOKEN,
        "membership_role": MEMBERSHIP_D,
        "mapping_id": mapping.id,
        "vrchat_role": roles.vrchat_verified.id,
        "discord_role": roles.discord_verified,
        "list_members": True,
    }
    return spec, expected


async def run(report: Report, tmp: Path, *, members: int = 5000) -> dict[str, float]:
    async with SandboxWorld(tmp / "roles-world", WorldSettings(validate=False)) as world:
        spec, expected = await _seed(world, members)
        before = len(world.discord.requests)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.bench.roles_child",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write((json.dumps(spec) + "\n").encode())
        await process.stdin.drain()
        line = await asyncio.wait_for(process.stdout.readline(), timeout=900)
        await process.wait()
        result = json.loads(line)
        sent = world.discord.requests[before:]
        writes = sum(1 for r in sent if r.method in ("PUT", "DELETE") and "/roles/" in r.path)
        reads = sum(1 for r in sent if r.method == "GET" and "/members" in r.path)
    pages = -(-(members + len(world.community.members)) // 100)  # with the community's own members
    report.note(
        f"Role sync: one reconcile of {members:,} linked members (mapping + membership role) in a child "
        "process at VRChat's default rate (1 request/s, bursts of 3), Server Members intent on (Discord "
        "members listed 1,000 a request); peak RSS is that child's (VmHWM)."
    )
    label = f"{members:,}-member reconcile"
    floor = f"floor {pages} pages + 1 member count"
    report.add("roles", f"{label}: VRChat requests", result["vrchat_requests"], "requests", floor,
               key="roles.vrchat_requests")  # fmt: skip
    report.add("roles", f"{label}: Discord writes", writes, "writes", f"floor {expected:,} real differences",
               key="roles.discord_writes")  # fmt: skip
    report.add(
        "roles",
        f"{label}: Discord reads",
        reads,
        "requests",
        "both runs (the second finds nothing)",
        key="roles.discord_reads",
    )
    report.add("roles", f"{label}: wall time", result["wall_s"], "s", key="roles.wall_s")
    report.add("roles", f"{label}: peak RSS", result["peak_kib"] / 1024, "MiB", key="roles.peak_rss_mib")
    if writes != expected or result["second_changes"] or result["failed"] or result["held_back"]:
        report.problem(
            f"role sync: {writes} Discord writes for {expected} differences; second run planned "
            f"{result['second_changes']}, failed {result['failed']}, held back {result['held_back']}"
        )
    return result
