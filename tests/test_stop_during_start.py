"""A stop (SIGTERM, Ctrl-C) that arrives while the bot is still starting ends the start: nothing is
opened or started after close() has closed everything.

Before, the start carried on after close(): it opened the store and started the lease, outbox and
card loops on it, which nothing closed any more; their SQLite connections were later garbage
collected ("The garbage collector is trying to clean up non-checked-in connection", in whichever test
ran then) and the stop waited out a 10 s timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

import bot
from bot import app
from bot.config import load_config
from bot.sandbox.discord import DiscordStandIn
from tests.fixtures.vrchat_sim import SeededSim
from tests.test_run_process import write_config

pytestmark = pytest.mark.slow  # stops the bot at each step of its start, waiting for each loop to settle

BOT = Path(bot.__file__).parent


def moments(seeded: SeededSim, database: Path) -> dict[str, Callable[[], bool]]:
    return {
        # While the store opens and migrates (the file appears as it is created).
        "store": lambda: database.exists() and database.stat().st_size > 0,
        # While the VRChat login is answered.
        "login": lambda: any(r.path.startswith("/auth") for r in seeded.sim.requests),
        # Once the mirror polls: setup_hook is about done, then waiting for the gateway.
        "poll": lambda: any(r.path.endswith("/auditLogs") for r in seeded.sim.requests),
    }


@pytest.mark.parametrize("moment", ["store", "login", "poll"])
async def test_a_stop_during_the_start_leaves_nothing_running(
    seeded_sim: SeededSim, gateway_standin: DiscordStandIn, tmp_path: Path, moment: str
) -> None:
    config = load_config(write_config(seeded_sim, gateway_standin, tmp_path))
    reached = moments(seeded_sim, tmp_path / "bot.db")[moment]
    stop = asyncio.Event()

    async def stop_at_the_moment() -> None:
        try:
            async with asyncio.timeout(30):
                # Polling what the bot did: nothing in it can signal this test.
                while not reached():  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
        finally:
            stop.set()

    stopper = asyncio.create_task(stop_at_the_moment())
    assert await app.run_bot(config, stop=stop) == 0
    await stopper  # raises TimeoutError if the moment never came
    # No lease renewals, no outbox worker, no card loop on an orphaned store. (The stand-ins' server
    # tasks and discord.py's own, such as its wait for the guilds after READY, are not ours to end.)
    ours = {
        f"{t.get_name()}: {t.get_coro()!r}"
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task()
        and getattr(t.get_coro(), "cr_code", None) is not None
        and Path(t.get_coro().cr_code.co_filename).is_relative_to(BOT)  # type: ignore[union-attr]
    }
    assert ours == set()
