"""The bot process whose peak RSS bench_rss reports: `python -m tests.bench.rss_child`.

It runs GroupBridgeBot the way `groupbridge run` does (the store opened from the config with its
bindings, the audit-log mirror and the join-request cards running), against a simulator and a
Discord stand-in that live in the parent process, so their memory is not counted here.

Protocol, one JSON object per line: the parent writes the spec on stdin; the child answers
{"event": "ready", ...} once the bot is connected, waits for "stop" on stdin, closes the bot and
answers {"event": "done", "peak_kib": ...}.

The peak is VmHWM from /proc/self/status, not ru_maxrss: Linux carries the forking process's RSS
over into the child's ru_maxrss at exec (a child of a 300 MiB process reports 300 MiB before it
has done anything), whereas VmHWM belongs to the new address space. Both are reported.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_kib() -> int:
    """This address space's high-water mark (VmHWM, KiB); ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


AT_START_KIB = peak_kib()  # before the bot's imports: the interpreter alone

import asyncio  # noqa: E402 - imports are what the second reading measures
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from bot.bot import GroupBridgeBot  # noqa: E402
from bot.config import load_config_text  # noqa: E402
from bot.discord_endpoint import pointed_at  # noqa: E402
from bot.memory import limit_malloc_arenas  # noqa: E402
from bot.vrchat import Politeness, VRChatClient  # noqa: E402

AFTER_IMPORTS_KIB = peak_kib()


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def read_line() -> str:
    return await asyncio.to_thread(sys.stdin.readline)


async def main() -> int:
    limit_malloc_arenas()  # as `groupbridge run` does first (bot.app.run_bot)
    spec = json.loads(await read_line())
    config = load_config_text(spec["config"])
    vrc = config.vrchat
    # Generous politeness: with 50 groups polled every few seconds, 1 request/s would make this a
    # measurement of the rate limiter's queue instead of the bot's memory.
    client = VRChatClient(
        base_url=vrc.base_url,
        user_agent=vrc.user_agent,
        session_path=vrc.session_file,
        username=vrc.username,
        password=vrc.password.get_secret_value() if vrc.password else None,
        totp_secret=vrc.totp_secret.get_secret_value() if vrc.totp_secret else None,
        politeness=Politeness(requests_per_second=500, burst=100, timeout=30),
    )
    token = config.discord.token
    assert token is not None, "the spec's config has a token"
    # The bot lowers the 30 s poll floor itself for a loopback vrchat.base_url, as for the demo.
    with pointed_at(spec["discord_base"], gateway=spec["gateway"]):
        async with client:
            await client.login()
            bot = GroupBridgeBot(config, client, None, run_feed=True, guild_ready_timeout=0.05)
            runner = asyncio.create_task(bot.start(token.get_secret_value()))
            try:
                ready = asyncio.create_task(bot.wait_until_ready())
                await asyncio.wait({runner, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
                if not ready.done():
                    ready.cancel()
                    say(event="failed", error="the bot was not ready within 60 s")
                    return 1
                say(event="ready", pollers=len(bot.feed.pollers) if bot.feed else 0, rss_kib=peak_kib())
                while (await read_line()).strip() not in ("stop", ""):
                    pass
            finally:
                await bot.close()
                await asyncio.gather(runner, return_exceptions=True)
    say(
        event="done",
        peak_kib=peak_kib(),
        ru_maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        at_start_kib=AT_START_KIB,
        after_imports_kib=AFTER_IMPORTS_KIB,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
