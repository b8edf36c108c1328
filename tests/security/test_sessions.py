"""The running bot (its audit-log pollers, card sync and commands) when VRChat ends its session:
one re-login per interval at most, an alert and silence when only a person can log in, and no login
loop on 429. The client-level rules are in tests/vrchat/test_client_auth.py; these check that the bot
as a whole, with everything that calls VRChat at once, keeps to them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.bot import GroupBridgeBot
from bot.config import Config
from bot.feed.alerts import BACK_TITLE, TITLE
from bot.sandbox.discord.models import StandInMessage
from bot.sandbox.vrchat.faults import Fault
from bot.sandbox.vrchat.server import RecordedRequest
from bot.store import Store
from bot.vrchat import VRChatClient
from bot.vrchat.auth import SESSION_CHECK_INTERVAL
from tests.fixtures.bridge import running_bridge
from tests.fixtures.clocks import Monotonic
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID
from tests.fixtures.vrchat_sim import bot_client
from tests.security.conftest import (
    OTHER_FEED_ID,
    World,
    answered,
    first_answer,
    reply_text,
    run_command,
)

pytestmark = pytest.mark.slow  # the bot with its feed and card loops running while VRChat ends the session

INTERVAL = 900.0


@asynccontextmanager
async def session_client(world: World, tmp_path: Path, **overrides: object) -> AsyncIterator[VRChatClient]:
    """The bot's client after a login with TOTP saved the session (as `groupbridge login` leaves it)."""
    path = tmp_path / "session.json"
    async with bot_client(world.seeded, path) as first:
        await first.login()
    async with bot_client(world.seeded, path, relogin_interval=INTERVAL, **overrides) as client:
        await client.login()  # reuses the saved session
        yield client


@asynccontextmanager
async def running(
    world: World, store: Store, config: Config, tmp_path: Path, **overrides: object
) -> AsyncIterator[tuple[VRChatClient, GroupBridgeBot]]:
    """The bot with its feed pollers and card loop running, as `groupbridge run` has it, on the session
    `session_client` saved (`overrides` configure its client); yields the client and the bot."""
    async with (
        session_client(world, tmp_path, **overrides) as client,
        running_bridge(world.standin, config, client, store, run_feed=True) as bot,
    ):
        yield client, bot


async def everything_at_once(client: GroupBridgeBot, world: World) -> None:
    """What calls VRChat in a running bot, all at the same moment: polls, card syncs, commands."""
    cards = client.get_cog("JoinRequests")
    commands = [
        run_command(world.standin, "admin", "vrc requests", {"group": world.group_id}) for _ in range(3)
    ]
    await asyncio.gather(
        *(client.feed.run_once() for _ in range(3)),  # type: ignore[union-attr]
        *(cards.sync_cards() for _ in range(3)),  # type: ignore[union-attr]
        *commands,
    )


def password_logins(world: World) -> list[RecordedRequest]:
    return [
        r
        for r in world.seeded.sim.requests
        if r.path == "/auth/user" and r.headers.get("Authorization", "").startswith("Basic ")
    ]


def alerts(world: World, channel_id: int) -> list:
    return [m for m in world.standin.messages(channel_id) if any(e.get("title") == TITLE for e in m.embeds)]


def titles_of(message: StandInMessage) -> list[str]:
    return [e.get("title") for e in message.embeds]


def titles(world: World, channel_id: int) -> list[str]:
    return [t for m in world.standin.messages(channel_id) for t in titles_of(m)]


async def test_a_401_storm_costs_one_relogin_per_interval(
    world: World, security_store: Store, security_config: Config, tmp_path: Path, auth_clock: Monotonic
) -> None:
    sim = world.seeded.sim
    async with running(world, security_store, security_config, tmp_path) as (client, bot):
        logins = len(password_logins(world))
        # The session itself refused too (GET /auth): a real expiry, not a call VRChat refused.
        storm = sim.faults.add(Fault(path=r"^/(groups/|auth$)", status=401))
        for _ in range(3):
            await everything_at_once(bot, world)
        assert len(password_logins(world)) == logins + 1
        assert client.session_blocked
        quiet_from = len(sim.requests)
        await everything_at_once(bot, world)
        assert sim.requests[quiet_from:] == []  # blocked: nothing reaches VRChat until the interval ends

        auth_clock.now += INTERVAL
        for _ in range(3):
            await everything_at_once(bot, world)
        assert len(password_logins(world)) == logins + 2  # the next interval: one more, not one per call

        sim.faults.clear()
        auth_clock.now += INTERVAL
        await everything_at_once(bot, world)
        assert len(password_logins(world)) == logins + 3
        assert not client.session_blocked  # VRChat answers again: back to normal
        assert storm.hits > 0


async def test_a_401_storm_on_calls_with_a_valid_session_costs_no_login(
    world: World, security_store: Store, security_config: Config, tmp_path: Path, auth_clock: Monotonic
) -> None:
    sim = world.seeded.sim
    async with running(world, security_store, security_config, tmp_path) as (client, bot):
        logins = len(password_logins(world))
        checks = len(sim.requests_to("GET", r"^/auth$"))
        sim.faults.add(Fault(path=r"^/groups/", status=401))  # VRChat refuses calls, not the session
        for _ in range(3):
            await everything_at_once(bot, world)
        assert len(password_logins(world)) == logins  # not one login for a session that is fine
        assert not client.session_blocked
        assert len(sim.requests_to("GET", r"^/auth$")) == checks + 1  # one look per check interval
        auth_clock.now += SESSION_CHECK_INTERVAL
        await everything_at_once(bot, world)
        assert len(sim.requests_to("GET", r"^/auth$")) == checks + 2
        assert alerts(world, FEED_CHANNEL_ID) == []


async def test_without_a_totp_secret_the_bot_alerts_once_and_stops_calling_vrchat(
    world: World,
    security_store: Store,
    security_config: Config,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = world.seeded.sim
    async with running(world, security_store, security_config, tmp_path, totp_secret=None) as (client, bot):
        logins = len(password_logins(world))
        sim.expire_sessions(forget_devices=True)
        await bot.feed.run_once()  # type: ignore[union-attr]
        assert client.session_blocked
        silent_from = len(sim.requests)
        caplog.clear()
        for _ in range(3):  # several poll intervals' worth of everything that calls VRChat
            await everything_at_once(bot, world)
        # Each round says it in a line; a traceback a minute would bury the logs until someone acts.
        card_lines = [r for r in caplog.records if r.name == "bot.requests.loop"]
        assert card_lines and all(r.levelname == "WARNING" and not r.exc_info for r in card_lines)
        asked = await run_command(world.standin, "admin", "vrc instances", {})
        await asked.wait_for(answered, timeout=10)
        told = await run_command(world.standin, "admin", "vrc requests", {"group": world.group_id})
        await told.wait_for(answered, timeout=10)
        assert sim.requests[silent_from:] == []
        assert len(password_logins(world)) == logins  # never tried the password: a person must log in
        assert [len(alerts(world, c)) for c in (FEED_CHANNEL_ID, OTHER_FEED_ID)] == [1, 1]

        async def operator(methods: list[str]) -> tuple[str, str]:
            return "totp", world.seeded.totp_now()

        await client.login(operator, force=True)  # someone logs in: the episode is over
        await bot.feed.run_once()  # type: ignore[union-attr]
        await bot.feed.run_once()  # type: ignore[union-attr]  # the end is told once
        assert [titles(world, c)[-2:] for c in (FEED_CHANNEL_ID, OTHER_FEED_ID)] == [[TITLE, BACK_TITLE]] * 2
        status = await run_command(world.standin, "admin", "bridge status", {})
        said = reply_text(first_answer(status))
        # The session field and the newest of the recent problems tell the end, not the alarm.
        assert re.search(r"VRChat session OK \(usr_[^)]+\)\nback \d+ s ago after a new login", said), said
        newest = said.split("Recent problems (newest first)")[1].split("\n")[0]
        assert "The VRChat session is back" in newest, said
        sim.expire_sessions(forget_devices=True)  # ...and a new one begins
        await bot.feed.run_once()  # type: ignore[union-attr]
    assert len(alerts(world, FEED_CHANNEL_ID)) == 2  # one per episode
    assert titles(world, FEED_CHANNEL_ID).count(BACK_TITLE) == 1
    for channel_id in (FEED_CHANNEL_ID, OTHER_FEED_ID):
        alert = alerts(world, channel_id)[0]
        back = next(m for m in world.standin.messages(channel_id) if BACK_TITLE in titles_of(m))
        for notice in (alert, back):
            assert notice.allowed_mentions == {"parse": []}
            text = str(notice.embeds)
            assert "@everyone" not in text and "<@" not in text
        assert "groupbridge login" in str(alert.embeds)
    assert "groupbridge login" in reply_text(told.followups[0].body if told.followups else told.callback.data)


async def test_a_429_on_login_is_not_retried_in_a_loop(
    world: World, security_store: Store, security_config: Config, tmp_path: Path, auth_clock: Monotonic
) -> None:
    sim = world.seeded.sim
    async with running(world, security_store, security_config, tmp_path) as (client, bot):
        logins = len(password_logins(world))
        sim.expire_sessions()
        sim.faults.add(Fault(method="GET", path=r"^/auth/user$", status=429, retry_after=0))
        for _ in range(3):
            await everything_at_once(bot, world)
        assert len(password_logins(world)) == logins + 1
        assert client.session_blocked
        auth_clock.now += INTERVAL  # the next interval brings exactly one more attempt
        for _ in range(3):
            await everything_at_once(bot, world)
        assert len(password_logins(world)) == logins + 2
