"""Hypothesis profiles for the hostile-input properties, and the Discord-side fixtures they reuse.

`hostile` keeps the whole folder well under a minute on two cores; `HYPOTHESIS_PROFILE=thorough`
selects `hostile-thorough` (eight times the examples). Neither profile has a deadline: how long an
example takes is not a property, and a shared CI machine would make it a flaky one.

`harness` is the real bot (tests/fixtures/bridge.py) wrapped for driving it example by example.

Every test in this folder is marked `slow`: each runs many examples, most through the real bot, so
`make check` leaves them to `make test` and CI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from bot.sandbox.discord import DiscordStandIn
from tests.fixtures.vrchat_sim import SeededSim
from tests.hostile.bot_driver import Harness

settings.register_profile("hostile", deadline=None, print_blob=True)
settings.register_profile("hostile-thorough", deadline=None, print_blob=True)


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
async def harness(
    make_bot: Any, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, tmp_path: Path
) -> AsyncIterator[Harness]:
    async with make_bot() as bot:
        yield Harness(bot, gateway_standin, seeded_sim, tmp_path / "bot.db")
