"""A moderator's click cut short by a crash after its claim and before its VRChat call
(bot.requests.claims): after the restart the card's buttons work again at once, the same card, and
VRChat hears of the decision once, from the click made after the restart."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from pathlib import Path

import pytest

from bot.crashpoints import ENV_VAR
from bot.sandbox.world import SandboxWorld, WorldSettings
from tests.reliability.cards import Requesters, card_user
from tests.reliability.test_card_crashes import CLOSED, OPEN, cards_of

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]


def card_state(world: SandboxWorld, user_id: str) -> str | None:
    """The request's card row as the bot's database has it (read while the bot runs)."""
    with contextlib.closing(sqlite3.connect(f"file:{world.database_path}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT state FROM request_cards WHERE user_id = ?", (user_id,)).fetchone()
    return row[0] if row else None


def decisions(world: SandboxWorld) -> int:
    return len(world.sim.requests_to("PUT", r"/requests/usr_"))


async def test_a_click_killed_after_its_claim_leaves_a_card_that_works_after_the_restart(
    tmp_path: Path,
) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=0.5)) as world:
        people = Requesters(world, random.Random(7))
        bot = world.bot_process()
        point = "requests.after_claim"
        await bot.start(env={ENV_VAR: f"{point}:1"})
        asker = people.ask()
        await world.wait_for(lambda: cards_of(world, asker) == [OPEN], "the card", 30, process=bot)
        (card,) = [c for c in world.cards() if card_user(c) == asker]
        await world.click(card, "Approve")
        assert await bot.wait_exit(30) == -9, bot.log()[-3000:]
        assert f"crash point {point} reached" in bot.log()
        assert card_state(world, asker) == "accepted" and decisions(world) == 0  # claimed, never sent

        await bot.start()
        await world.wait_for(
            lambda: card_state(world, asker) == "pending", "the claim released", 30, process=bot
        )
        assert cards_of(world, asker) == [OPEN] and decisions(world) == 0
        (card,) = [c for c in world.cards() if card_user(c) == asker]
        await world.click(card, "Approve")
        await world.wait_for(lambda: cards_of(world, asker) == [CLOSED], "the card closed", 30, process=bot)
        assert await bot.stop() == 0
        assert decisions(world) == 1 and world.sim.state.is_member(world.community.group.id, asker)
        assert card_state(world, asker) == "accepted"
