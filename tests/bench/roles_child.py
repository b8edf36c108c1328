"""The process whose figures bench_roles reports: `python -m tests.bench.roles_child`.

One role-sync reconcile of a binding, as the bot runs it (bot.roles.sync.RoleSyncEngine with the real
VRChat client at the default rate, discord.py's HTTP client and a SQLite store), against a simulator
and a Discord stand-in that live in the parent process, so only the reconcile's memory is counted.
Then a second reconcile, which must find nothing to do.

The parent writes the spec as one JSON line on stdin; the child answers one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import discord

from bot.roles.discord_side import DiscordRoleAccess
from bot.roles.plan import SyncRule
from bot.roles.sync import RoleSyncEngine
from bot.sandbox.discord import pointed_at
from bot.store import Store
from bot.store.role_sync import MEMBERSHIP
from bot.vrchat import Politeness, VRChatClient


def peak_kib() -> int:
    """This address space's high-water mark (VmHWM; see tests.bench.rss_child for why not ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def main() -> int:
    spec: dict[str, Any] = json.loads(await asyncio.to_thread(sys.stdin.readline))
    client = VRChatClient(
        base_url=spec["vrchat_base"],
        user_agent=spec["user_agent"],
        session_path=Path(spec["session_file"]),
        username=spec["username"],
        password=spec["password"],
        totp_secret=spec["totp_secret"],
        politeness=Politeness(),  # the default rate: 1 request/s, bursts of 3
    )
    store = await Store.open(spec["database_url"])
    rules = [
        SyncRule(MEMBERSHIP, None, spec["membership_role"]),
        SyncRule(
            spec["mapping_id"], spec["vrchat_role"], spec["discord_role"], "vrchat_to_discord", "vrchat"
        ),
    ]
    with pointed_at(spec["discord_base"]):
        discord_client = discord.Client(intents=discord.Intents.none())
        try:
            async with client:
                await client.login()
                await discord_client.login(spec["token"])
                (binding,) = await store.list_bindings()
                engine = RoleSyncEngine(
                    client, store, DiscordRoleAccess(discord_client, list_members=spec["list_members"])
                )
                before = client.request_count
                started = time.perf_counter()
                first = await engine.run(binding, rules, apply=True)
                wall = time.perf_counter() - started
                requests = client.request_count - before
                second = await engine.run(binding, rules, apply=True)
        finally:
            await discord_client.close()
            await store.close()
    print(
        json.dumps(
            {
                "wall_s": wall,
                "vrchat_requests": requests,
                "planned": len(first.plan.changes),
                "applied": first.applied,
                "failed": first.failed,
                "held_back": first.plan.held_back,
                "second_changes": len(second.plan.changes),
                "peak_kib": peak_kib(),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
