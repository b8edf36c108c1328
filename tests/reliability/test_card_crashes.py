"""The card crashes the crash run found, each made to happen on purpose: a card posted but its message
id never stored (the request then decided in VRChat while the bot was down, or still pending), and a
request claimed as decided but its card never edited. After a restart each request has one card,
in the right state."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.crashpoints import ENV_VAR
from bot.sandbox.world import BotProcess, SandboxWorld, WorldSettings
from tests.reliability.cards import BUTTONS, Requesters, button_labels, card_user, outcome_fields

# SIGKILLs the real bot process in the join-request card flow.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

T = TypeVar("T")
OPEN, CLOSED = (BUTTONS, 0), (["History"], 1)  # (buttons, "Outcome" fields) of an open and a closed card


def cards_of(world: SandboxWorld, user_id: str) -> list[tuple[list[str], int]]:
    return [(button_labels(c), outcome_fields(c)) for c in world.cards() if card_user(c) == user_id]


def marked_closed(world: SandboxWorld, user_id: str) -> bool:
    """The card row says its message shows it closed (read from the bot's database while it runs)."""
    with contextlib.closing(sqlite3.connect(f"file:{world.database_path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT closed_at FROM request_cards WHERE user_id = ?", (user_id,)).fetchall()
    return bool(rows) and all(closed_at is not None for (closed_at,) in rows)


async def crash_at(bot: BotProcess, point: str, act: Callable[[], T]) -> T:
    """Start the bot armed at ``point``, do what brings it there, and see it die there."""
    said = f"crash point {point} reached"
    before = bot.log().count(said)
    await bot.start(env={ENV_VAR: f"{point}:1"})
    done = act()
    assert await bot.wait_exit(30) == -9, bot.log()[-3000:]
    assert bot.log().count(said) == before + 1
    return done


async def test_cards_cut_short_by_a_crash_end_up_once_and_right(tmp_path: Path) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=0.5)) as world:
        people = Requesters(world, random.Random(1))
        state, group, owner = world.sim.state, world.community.group.id, world.community.bot.id
        bot = world.bot_process()

        decided_while_down = await crash_at(bot, "cards.after_post", people.ask)
        state.respond_request(group, decided_while_down, owner, "reject")
        assert cards_of(world, decided_while_down) == [OPEN]  # up, open, and its id unknown to the bot

        pending = await crash_at(bot, "cards.after_post", people.ask)

        await bot.start()
        await world.wait_for(
            lambda: cards_of(world, decided_while_down) == [CLOSED],
            "the orphaned card closed",
            30,
            process=bot,
        )
        # The pending request's card went up again with the same nonce: still one card, now with its id.
        await world.wait_for(lambda: people.open_card() is not None, "the pending card", 30, process=bot)
        assert cards_of(world, pending) == [OPEN]
        assert await bot.stop() == 0

        await crash_at(
            bot, "cards.after_claim", lambda: state.respond_request(group, pending, owner, "accept")
        )
        assert cards_of(world, pending) == [OPEN]  # claimed in the database, never edited in Discord

        await bot.start()
        await world.wait_for(
            lambda: cards_of(world, pending) == [CLOSED], "the claimed card closed", 30, process=bot
        )
        await world.wait_for(lambda: marked_closed(world, pending), "the card marked closed", 30, process=bot)
        late = people.ask()
        await world.wait_for(lambda: cards_of(world, late) == [OPEN], "the next card", 30, process=bot)
        assert await bot.stop() == 0

        await crash_at(bot, "cards.after_close", lambda: state.respond_request(group, late, owner, "reject"))
        assert cards_of(world, late) == [CLOSED] and not marked_closed(world, late)  # edited, not recorded

        await bot.start()  # the first round looks at the card again: closed already, so only recorded
        await world.wait_for(lambda: marked_closed(world, late), "the closed card recorded", 30, process=bot)
        assert cards_of(world, late) == [CLOSED]  # one Outcome, not two
        assert await bot.stop() == 0
        assert not people.problems()
