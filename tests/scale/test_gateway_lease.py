"""A gateway process that loses its lease steps down: only one process per token may answer
interactions, so the one whose lease lapsed (and was taken) disconnects and exits 1 for a restart
as a standby."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import _run_until
from bot.bot import GroupBridgeBot
from bot.lease_names import GATEWAY_LEASE, group_lease
from tests.fixtures.bridge import bot_config
from tests.fixtures.vrchat_sim import SeededSim


async def test_losing_the_gateway_lease_disconnects_and_exits_1(
    seeded_sim: SeededSim, tmp_path: Path
) -> None:
    bot = GroupBridgeBot(bot_config(seeded_sim, tmp_path), run_feed=False)
    stop = asyncio.Event()

    async def session() -> None:  # stands for bot.start(): it returns once the bot is closed
        while not bot.is_closed():  # noqa: ASYNC110 - the listener closes it from a task
            await asyncio.sleep(0.01)

    running = asyncio.create_task(_run_until(bot, session(), stop))
    await bot._watch_gateway_lease(frozenset(), frozenset({group_lease("grp_x")}))
    assert not bot.gateway_lost and not bot.is_closed()  # another lease lost: no reason to go
    await bot._watch_gateway_lease(frozenset(), frozenset({GATEWAY_LEASE}))
    assert bot.gateway_lost
    async with asyncio.timeout(10):
        status = await running
    assert status == 1 and bot.is_closed()
