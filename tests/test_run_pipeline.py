"""Issue #17: join requests in seconds through VRChat's pipeline, with the real bot process.

`groupbridge run` against the simulator and the Discord stand-in (bot.sandbox.world). The pipeline
only ever shortens the wait: when it is down, silent or refused, the cards still come by polling;
its reconnects are spaced out; a session VRChat really ended goes the usual way, with no login.
"""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import pytest

from bot.feed.alerts import TITLE
from bot.sandbox.vrchat.pipeline import MSG_NOT_ACTIVE, PipelineAttempt
from bot.sandbox.world import BotProcess, SandboxWorld, WorldSettings
from tests.test_run_session import first_login, session_checks, titles

# `groupbridge run` as a real process, timed against the pipeline.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

WAIT = 45.0  # for each thing that must happen by polling; generous for a busy machine
# The poll interval of the first test: neither the audit-log poller (60 s ± 25 %) nor the cards'
# full round (60 s ± 20 %) can come again within LIVE_WAIT of the start, so only the pipeline can
# bring a card that soon.
SLOW_POLLS = 60.0
LIVE_WAIT = 20.0
FAST_POLLS = 1.0


def requesters(world: SandboxWorld) -> list[str]:
    return [str(m.embeds[0].get("title", "")).removeprefix("Join request: ") for m in world.cards()]


async def running(world: SandboxWorld, *, wait_pipeline: bool = True) -> BotProcess:
    bot = world.bot_process()
    await bot.start()
    group = world.community.group.id
    for path, what in ((r"/requests$", "the first card round"), (r"/auditLogs$", "the first poll")):
        await world.wait_for(
            lambda path=path: bool(world.sim.requests_to("GET", rf"^/groups/{group}{path}")),
            what,
            WAIT,
            process=bot,
        )
    if wait_pipeline:
        await world.wait_for(
            lambda: world.sim.pipeline.open_connections == 1, "the pipeline", WAIT, process=bot
        )
    return bot


def ask_to_join(world: SandboxWorld, name: str) -> str:
    state = world.sim.state
    user = state.add_user(name, bio="Hello!")
    state.request_to_join(world.community.group.id, user.id)
    return user.id


def assert_spaced(attempts: list[PipelineAttempt]) -> None:
    """The bot's back-off: the k-th attempt after the first comes at least 2**k - 1 seconds later
    (delays of 1-2, 2-4, 4-8 ... seconds), so a refusing pipeline sees a handful, never a loop."""
    assert attempts
    elapsed = attempts[-1].at - attempts[0].at
    assert len(attempts) <= math.log2(elapsed + 1) + 1, [round(a.at - attempts[0].at, 2) for a in attempts]


async def test_a_join_request_becomes_a_card_before_any_poll_could_find_it(tmp_path: Path) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=SLOW_POLLS)) as world:
        bot = await running(world)
        try:
            quinn = ask_to_join(world, "Quinn")
            await world.wait_for(lambda: bool(world.cards()), "Quinn's card", LIVE_WAIT, process=bot)
            # The group is active: its audit log is read now too, so the feed shows the request.
            await world.wait_for(
                lambda: set(world.expected_audit_ids()) <= set(world.feed_audit_ids()),
                "the request in the feed",
                LIVE_WAIT,
                process=bot,
            )
            card = world.card_for("Quinn")
            exchange = await world.click(card, "Approve")
            await exchange.wait_for(lambda x: bool(x.events), 15.0, "the reply to the click")
            await world.wait_for(
                lambda: world.sim.state.is_member(world.community.group.id, quinn),
                "Quinn a member",
                WAIT,
                process=bot,
            )
        finally:
            code = await bot.stop()
        log = bot.log()
        assert code == 0, log[-3000:]
        assert requesters(world) == ["Quinn"]  # one card: the pipeline's round and polling agree
        assert world.sim.pipeline.notifications[-1].delivered == 1
        assert len(world.sim.pipeline.attempts) == 1 and world.sim.violations == []
        assert "Listening to VRChat's pipeline for new join requests." in log
        assert world.sim.password_logins == 1
        assert not re.search(r"authcookie_[0-9a-f-]{8,}", log)  # the token in the URL is never logged


@pytest.mark.parametrize("trouble", ["down", "silent"])
async def test_cards_still_arrive_by_polling_when_the_pipeline_is_down_or_silent(
    tmp_path: Path, trouble: str
) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=FAST_POLLS)) as world:
        if trouble == "down":
            world.sim.pipeline.refuse(503)
        else:
            world.sim.pipeline.go_silent()
        bot = await running(world, wait_pipeline=trouble == "silent")
        try:
            ask_to_join(world, "Rowan")
            await world.wait_for(lambda: bool(world.cards()), "Rowan's card by polling", WAIT, process=bot)
            await asyncio.sleep(2.0)
        finally:
            code = await bot.stop()
        assert code == 0, bot.log()[-3000:]
        assert requesters(world) == ["Rowan"]
        assert world.sim.pipeline.notifications[-1].delivered == 0
        attempts = world.sim.pipeline.attempts
        if trouble == "down":
            assert all(a.outcome == "refused" for a in attempts) and len(attempts) >= 2
            assert_spaced(attempts)
        else:
            assert len(attempts) == 1  # a silent pipeline looks healthy: nothing to reconnect for


async def test_an_err_and_a_close_are_answered_with_spaced_reconnects_not_a_loop(tmp_path: Path) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=FAST_POLLS)) as world:
        bot = await running(world)
        pipeline = world.sim.pipeline
        try:
            checks = session_checks(world)
            # As when the pipeline sees another address than the one that logged in: every connection
            # is refused, though the session itself is fine.
            pipeline.reject_with(MSG_NOT_ACTIVE)
            assert await pipeline.send_error(MSG_NOT_ACTIVE) == 1
            await world.wait_for(lambda: len(pipeline.attempts) >= 4, "three reconnects", WAIT, process=bot)
            ask_to_join(world, "Sage")
            await world.wait_for(lambda: bool(world.cards()), "Sage's card by polling", WAIT, process=bot)
        finally:
            code = await bot.stop()
        log = bot.log()
        assert code == 0, log[-3000:]
        assert requesters(world) == ["Sage"]
        refused = pipeline.attempts[1:]
        assert all(a.outcome == "err" for a in refused)
        assert_spaced(pipeline.attempts)
        assert session_checks(world) == checks + 1  # one GET /auth, however many refusals
        assert log.count("one account, one egress") == 1
        assert world.sim.password_logins == 1 and "session is blocked" not in log


async def test_a_session_vrchat_ended_takes_the_usual_way_and_the_pipeline_waits_for_the_next(
    tmp_path: Path,
) -> None:
    async with SandboxWorld(tmp_path, WorldSettings(poll_interval=0.5)) as world:
        # No password or TOTP secret: a lost session needs a person (as in test_run_session).
        await first_login(world)
        without = re.sub(r"^(password|totp_secret) = .*\n", "", world.config_text(), flags=re.MULTILINE)
        world.config_path.write_text(without, encoding="utf-8")
        bot = await running(world)
        pipeline = world.sim.pipeline
        try:
            world.sim.expire_sessions()
            assert await pipeline.send_error(MSG_NOT_ACTIVE) == 1
            await world.wait_for(lambda: TITLE in titles(world), "the session alert", WAIT, process=bot)
            await asyncio.sleep(3.0)  # a back-off's worth and more: no attempt with the dead token
            assert len(pipeline.attempts) == 1 and world.sim.password_logins == 1  # `first_login`'s

            await first_login(world)  # what `groupbridge login` does: a new session in the file
            await world.wait_for(
                lambda: pipeline.open_connections == 1, "the pipeline again", WAIT, process=bot
            )
            ask_to_join(world, "Tove")
            await world.wait_for(lambda: bool(world.cards()), "Tove's card", WAIT, process=bot)
        finally:
            code = await bot.stop()
        log = bot.log()
        assert code == 0, log[-3000:]
        assert len(pipeline.attempts) == 2 and world.sim.password_logins == 2  # both the test's own
        assert "the pipeline waits for a new session" in log
        assert requesters(world) == ["Tove"]
