"""Issue #16: the real bot process (`groupbridge run`) and a 401 from VRChat.

The bot has no password or TOTP secret (as when the operator keeps them off the host): a lost
session needs a person. A 401 on one call while the session is still valid must not stop it; when
it does block, `groupbridge login` (the real command) must wake it even if it finds the session
valid, and the feed channel and `/bridge status` must say that the session is back.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.feed.alerts import BACK_TITLE, TITLE
from bot.sandbox.vrchat import Fault
from bot.sandbox.world import BotProcess, SandboxWorld, WorldSettings
from bot.vrchat import Politeness
from tests.fixtures.vrchat_sim import world_client

# `groupbridge run` and `groupbridge login` as real processes.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

WAIT = 45.0  # for each thing that must happen; generous for a busy machine
AUDIT = r"^/groups/[^/]+/auditLogs$"
SETTINGS = WorldSettings(poll_interval=0.5, backfill="all", post_backfill=True)


async def first_login(world: SandboxWorld) -> None:
    """What `groupbridge login` left behind earlier: a saved session (one password login)."""
    polite = Politeness(requests_per_second=50, burst=10)
    async with world_client(world, world.session_path, polite) as client:
        await client.login()


def add_entries(world: SandboxWorld, count: int, label: str) -> None:
    group, bot = world.community.group.id, world.community.bot.id
    for n in range(count):
        world.sim.state.add_audit_entry(group, "group.update", bot, group, f"{label} {n}")


def all_delivered(world: SandboxWorld) -> bool:
    return set(world.expected_audit_ids()) <= set(world.feed_audit_ids())


def titles(world: SandboxWorld) -> list[str]:
    return [str(e.get("title")) for m in world.feed_messages() for e in m.embeds]


def session_checks(world: SandboxWorld) -> int:
    return len(world.sim.requests_to("GET", r"^/auth$"))


def session_field(status: dict[str, Any]) -> str:
    return next(str(f["value"]) for f in status["fields"] if f["name"] == "VRChat session")


async def started(world: SandboxWorld) -> BotProcess:
    """The bot running on a saved session, with no password or TOTP secret in its config (nor in
    that of `groupbridge login`), its first entries in the feed."""
    await first_login(world)
    without_secrets = re.sub(r"^(password|totp_secret) = .*\n", "", world.config_text(), flags=re.MULTILINE)
    assert "password" not in without_secrets
    world.config_path.write_text(without_secrets, encoding="utf-8")
    bot = world.bot_process()
    await bot.start()
    add_entries(world, 3, "before")
    await world.wait_for(lambda: all_delivered(world), "the first entries in the feed", WAIT, process=bot)
    return bot


async def test_a_401_on_a_call_while_the_session_is_valid_does_not_stop_the_bot(tmp_path: Path) -> None:
    async with SandboxWorld(tmp_path, SETTINGS) as world:
        bot = await started(world)
        try:
            checks = session_checks(world)
            refused = world.sim.faults.add(Fault(method="GET", path=AUDIT, status=401, times=2))
            await world.wait_for(lambda: refused.hits == 2, "two refused polls", WAIT, process=bot)
            add_entries(world, 3, "after")
            await world.wait_for(lambda: all_delivered(world), "the feed to carry on", WAIT, process=bot)
            status = await world.status()
        finally:
            code = await bot.stop()
        log = bot.log()
        assert code == 0, log[-3000:]
        assert "only that call was refused" in log
        assert "session is blocked" not in log and TITLE not in titles(world)
        assert session_checks(world) == checks + 1  # one look at the session for both refusals
        assert world.sim.password_logins == 1  # the first login only
        assert session_field(status).startswith("OK (usr_")


async def test_groupbridge_login_wakes_a_bot_blocked_on_a_session_that_is_still_valid(tmp_path: Path) -> None:
    async with SandboxWorld(tmp_path, SETTINGS) as world:
        bot = await started(world)
        try:
            # VRChat refuses a poll and, this once, the session check too: the bot cannot tell that
            # the session is fine, so it stops calling VRChat and says so in the feed channel.
            world.sim.faults.add(Fault(method="GET", path=r"^/auth$", status=401, times=1))
            world.sim.faults.add(Fault(method="GET", path=AUDIT, status=401, times=1))
            await world.wait_for(lambda: TITLE in titles(world), "the session alert", WAIT, process=bot)
            add_entries(world, 3, "while blocked")

            # The README's remedy, as the operator runs it: the same config and environment.
            login = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "login",
                "-c",
                str(world.config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(login.communicate(), WAIT)
            assert login.returncode == 0, err.decode()
            assert "still valid" in out.decode()

            await world.wait_for(lambda: BACK_TITLE in titles(world), "the notice", WAIT, process=bot)
            await world.wait_for(lambda: all_delivered(world), "the feed to catch up", WAIT, process=bot)
            status = await world.status()
        finally:
            code = await bot.stop()
        log = bot.log()
        assert code == 0, log[-3000:]
        notices = [t for t in titles(world) if t in (TITLE, BACK_TITLE)]
        assert notices == [TITLE, BACK_TITLE]  # the last word in the channel is not the alarm
        assert "The VRChat session is back after `groupbridge login`" in log
        value = session_field(status)
        assert value.startswith("OK (usr_") and "groupbridge login" in value and "back" in value, value
        assert world.sim.password_logins == 1  # nobody logged in with the password again


async def test_a_bot_restarted_while_blocked_says_the_session_is_back_after_the_login(
    tmp_path: Path,
) -> None:
    """The channels that heard the alarm are in the database: the first life after the operator's
    login whose poll goes through says the session is back, although another process sounded it."""
    async with SandboxWorld(tmp_path, SETTINGS) as world:
        bot = await started(world)
        world.sim.expire_sessions()
        await world.wait_for(lambda: TITLE in titles(world), "the session alert", WAIT, process=bot)
        assert await bot.stop() == 0

        # Started again before anyone logged in, it cannot start (no password here) and posts nothing.
        still_expired = world.bot_process("still-expired")
        await still_expired.start()
        assert await still_expired.wait_exit(WAIT) == 1
        assert "Cannot start" in still_expired.log()

        await first_login(world)  # the operator logs in while the bot is down
        add_entries(world, 2, "after login")
        back = world.bot_process("back")
        await back.start()
        try:
            await world.wait_for(lambda: BACK_TITLE in titles(world), "the back notice", WAIT, process=back)
            await world.wait_for(lambda: all_delivered(world), "the feed to catch up", WAIT, process=back)
            await asyncio.sleep(SETTINGS.poll_interval * 4)  # room for a second notice, were one coming
        finally:
            assert await back.stop() == 0
        notices = [t for t in titles(world) if t in (TITLE, BACK_TITLE)]
        assert notices == [TITLE, BACK_TITLE]
