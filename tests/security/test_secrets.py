"""Known secrets through login, 2FA, errors with tracebacks and DEBUG logging, then a search of every
place they could end up: each log line (formatted unredacted, tracebacks included), what the bot
printed, every request and gateway frame the Discord stand-in received, every row of the database,
and what VRChat itself was sent. The session file must be 0600."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyotp
import pytest

from bot.app import login_interactive
from bot.bot import GroupBridgeBot
from bot.config import Config, load_config_text
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.faults import Fault
from bot.store import Store
from bot.vrchat.auth import basic_auth_header
from tests.discord.conftest import post_cards
from tests.fixtures.discord_gateway import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    REQUESTS_CHANNEL_ID,
    TOKEN,
    connected_bot,
)
from tests.fixtures.logs import SecretLogCapture
from tests.security.conftest import GROUP_MOD_ROLE_ID, World, answered, config_text, db_snapshot, run_command

pytestmark = pytest.mark.slow  # logins, 2FA, failures and DEBUG logging through the whole bot, then a sweep

# Spaces, "%", "/" and non-ASCII: URL-encoded and base64 forms differ from the raw text.
PASSWORD = "Gb pa$$ w0rd/%Ünï-7Qx"
WRONG_PASSWORD = "Gb wrong-pa$$/%4Zk"
WRONG_TOTP = pyotp.random_base32()
DEBUG_LOGGERS = (
    "",
    "bot",
    "aiohttp",
    "discord",
    "discord.http",
    "discord.gateway",
    "sqlalchemy",
    "sqlalchemy.engine",
)
COOKIE = re.compile(r"(auth|twoFactorAuth)=([^;\s]+)")


def full_config(world: World, tmp_path: Path, **vrchat: str | float | None) -> Config:
    """The whole configuration a deployment has, bindings included; fast enough for a test."""
    binding = {
        "group_id": world.group_id,
        "guild_id": GUILD_ID,
        "feed_channel_id": FEED_CHANNEL_ID,
        "requests_channel_id": REQUESTS_CHANNEL_ID,
        "moderator_role_ids": [GROUP_MOD_ROLE_ID],
    }
    vrchat = {"requests_per_second": 10, "burst": 20, **vrchat}
    return load_config_text(config_text(world, tmp_path, vrchat=vrchat, bindings=[binding]))


def forms(secret: str) -> set[str]:
    """The ways a secret can travel: as is, URL-encoded (VRChat's Basic auth), base64."""
    return {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}


def standin_texts(standin: DiscordStandIn) -> Iterator[tuple[str, str]]:
    """Everything the bot sent to Discord, except the two places its token must go."""
    own_auth = f"Bot {TOKEN}"
    for r in standin.requests:
        headers = {k: v for k, v in r.headers.items() if not (k.lower() == "authorization" and v == own_auth)}
        where = f"{r.method} {r.path}"
        yield where, f"{r.path} {r.query} {headers} {json.dumps(r.json, default=str)}"
        for file in r.files:
            yield f"{where} file {file.filename}", file.data.decode("utf-8", "replace")
    for connection in standin.gateway.connections:
        for frame in connection.received:
            frame = json.loads(json.dumps(frame))
            if frame.get("op") in (2, 6):  # IDENTIFY / RESUME carry the token by design
                frame["d"].pop("token", None)
            yield f"gateway op {frame.get('op')}", json.dumps(frame)


def leaks(places: list[tuple[str, str]], secrets: dict[str, set[str]]) -> list[str]:
    """Where which secret shows up, named without echoing it."""
    return [
        f"{name} in {where}"
        for where, text in places
        for name, variants in secrets.items()
        if any(v and v in text for v in variants)
    ]


async def test_no_secret_reaches_a_log_discord_or_the_database(
    world: World,
    tmp_path: Path,
    secret_log_capture: SecretLogCapture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)  # the capture puts every level back afterwards
    seeded, sim = world.seeded, world.seeded.sim
    seeded.bot.password = PASSWORD
    issued: set[str] = set()

    def remember_cookies() -> None:
        sessions = sim._sessions  # the cookie values the simulator handed out are secrets too
        issued.update(sessions.sessions, sessions.devices)

    # `groupbridge login`: a wrong password, then a 2FA code VRChat refuses, then the right ones.
    assert await login_interactive(full_config(world, tmp_path, password=WRONG_PASSWORD)) == 1
    assert (
        await login_interactive(full_config(world, tmp_path, password=PASSWORD, totp_secret=WRONG_TOTP)) == 1
    )
    remember_cookies()
    config = full_config(world, tmp_path, password=PASSWORD)
    assert await login_interactive(config) == 0
    remember_cookies()

    async with connected_bot(world.standin, GroupBridgeBot(config)) as client:
        assert client.feed is not None
        await client.feed.run_once()
        await post_cards(client)
        for path, options in [
            ("bridge status", {}),
            ("vrc instances", {}),
            ("vrc profile show", {}),
            ("vrc invite", {"user": seeded.outsider.id, "group": world.group_id}),  # an action-log row
        ]:
            await run_command(world.standin, "admin", path, options)
        # A VRChat 500 inside a command and inside the card loop (logged with its traceback).
        sim.faults.add(Fault(method="GET", path=r"/requests$", status=500, times=2))
        await run_command(world.standin, "admin", "vrc requests", {"group": world.group_id})
        await post_cards(client)
        # A body the client cannot read: a bug as far as the command knows, so a logged traceback.
        sim.faults.add(Fault(method="GET", path=r"^/auth/user$", body='{"displayName": 5}', times=1))
        shown = await run_command(world.standin, "admin", "vrc profile show", {})
        await shown.wait_for(answered, timeout=10)
        # The session ends mid-run: the bot logs in again by itself (password and TOTP).
        remember_cookies()
        logins = sim.password_logins
        sim.expire_sessions(forget_devices=True)
        await client.feed.run_once()
        assert sim.password_logins == logins + 1
        await run_command(world.standin, "admin", "vrc requests", {"group": world.group_id})
        remember_cookies()
    assert "Traceback" in secret_log_capture.text()  # the error paths above really ran

    for request in sim.requests:
        issued.update(value for _, value in COOKIE.findall(request.headers.get("Cookie", "")))
    assert issued, "no session cookie was seen: the scan would prove nothing"
    secrets: dict[str, set[str]] = {
        "Discord token": {TOKEN},
        "password": forms(PASSWORD) | {basic_auth_header(seeded.username, PASSWORD).split()[1]},
        "wrong password": forms(WRONG_PASSWORD),
        "TOTP secret": {seeded.totp_secret, WRONG_TOTP},
        **{f"cookie #{n}": {value} for n, value in enumerate(sorted(issued))},
    }

    printed = capsys.readouterr()
    store = await Store.open(config.database.url)
    try:
        rows = await db_snapshot(store)
    finally:
        await store.close()
    places = [
        ("the log", secret_log_capture.text()),
        ("stdout", printed.out),
        ("stderr", printed.err),
        *standin_texts(world.standin),
        *((f"table {table}", repr(table_rows)) for table, table_rows in rows.items()),
    ]
    assert rows["bindings"] and rows["action_log"], "the database scan would prove nothing"
    assert not leaks(places, secrets)

    # VRChat gets the password only in the login's Basic header and cookies only as cookies; never
    # the TOTP secret (only codes) and never the Discord token.
    to_vrchat = []
    for r in sim.requests:
        headers = {k: v for k, v in r.headers.items() if k.lower() not in ("authorization", "cookie")}
        to_vrchat.append((f"VRChat {r.method} {r.path}", f"{r.path} {r.query} {headers} {r.body!r}"))
        if r.headers.get("Authorization"):
            assert r.path == "/auth/user", f"credentials sent to {r.path}"
    assert not leaks(to_vrchat, secrets)

    session_file = config.vrchat.session_file
    assert stat.S_IMODE(os.stat(session_file).st_mode) == 0o600
    with open(session_file, encoding="utf-8") as handle:  # noqa: ASYNC230 - a few hundred bytes
        saved = handle.read()
    assert not leaks([("the session file", saved)], {k: v for k, v in secrets.items() if "cookie" not in k})


def test_every_secret_form_is_searched_for() -> None:
    """The scan looks for the encodings the password actually travels in, not just the raw text."""
    sent = basic_auth_header("bot", PASSWORD).split()[1]
    assert base64.b64decode(sent).decode() == f"bot:{quote(PASSWORD, safe='')}"
    assert quote(PASSWORD, safe="") != PASSWORD
    assert leaks([("x", f"user:{quote(PASSWORD, safe='')}")], {"password": forms(PASSWORD)}) == [
        "password in x"
    ]
