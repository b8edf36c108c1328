"""`groupbridge login` and the session check of `run`, end to end against the VRChat simulator.

Only the terminal is replaced (input/getpass); the config loader, client and simulator are real.
"""

from __future__ import annotations

import asyncio
import builtins
import getpass
import json
import stat
from pathlib import Path

import pyotp
import pytest

from bot import app
from bot.config import Config, load_config_text
from tests.fixtures.configs import bot_account, sqlite_url, toml
from tests.fixtures.discord_standin import TOKEN
from tests.fixtures.vrchat_sim import SeededSim


def make_config(
    seeded: SeededSim,
    tmp_path: Path,
    *,
    password: str | None,
    totp: str | None = None,
    discord: str | None = None,
    gateway: str | None = None,
) -> Config:
    text = toml(
        vrchat=bot_account(
            seeded, tmp_path, password=password or "", totp_secret=totp or "", requests_per_second=10
        ),
        discord={
            "token": TOKEN,
            "api_base_url": discord or "http://127.0.0.1:9/api/v10",
            "gateway_url": gateway or "ws://127.0.0.1:9/gateway",
        },
        database={"url": sqlite_url(tmp_path)},
    )
    return load_config_text(text, required=())


class Terminal:
    """Scripted answers for input() and getpass(); records every prompt."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
        self.prompts: list[str] = []
        self.answers = answers
        monkeypatch.setattr(builtins, "input", self._answer)
        monkeypatch.setattr(getpass, "getpass", self._answer)

    def _answer(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        for key, value in self.answers.items():
            if key in prompt:
                return value() if callable(value) else value
        raise AssertionError(f"unexpected prompt {prompt!r}")


async def test_login_prompts_for_password_and_code_then_saves_the_session(
    seeded_sim: SeededSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    code = lambda: pyotp.TOTP(seeded_sim.totp_secret).now()  # noqa: E731
    terminal = Terminal(monkeypatch, {"password": seeded_sim.password, "[1-": "1", "authenticator": code})
    config = make_config(seeded_sim, tmp_path, password=None)

    assert await app.login_interactive(config) == 0
    out = capsys.readouterr().out
    assert "Logged in as GroupBridge Bot" in out and seeded_sim.password not in out
    session = tmp_path / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert any("password" in p for p in terminal.prompts)
    assert seeded_sim.sim.password_logins == 1

    # A second `login` finds the saved session valid and asks nothing.
    terminal.prompts.clear()
    assert await app.login_interactive(config) == 0
    assert terminal.prompts == [] and "still valid" in capsys.readouterr().out
    assert seeded_sim.sim.password_logins == 1


async def test_login_reports_a_wrong_password_plainly(
    seeded_sim: SeededSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    Terminal(monkeypatch, {})
    config = make_config(seeded_sim, tmp_path, password="not it")
    assert await app.login_interactive(config) == 1
    err = capsys.readouterr().err
    assert "Login failed" in err and "username or password" in err and "not it" not in err
    assert not (tmp_path / "session.json").exists()


async def test_run_reuses_the_session_without_a_password_login(
    seeded_sim: SeededSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, gateway_standin
) -> None:
    Terminal(monkeypatch, {})
    with_totp = make_config(seeded_sim, tmp_path, password=seeded_sim.password, totp=seeded_sim.totp_secret)
    assert await app.login_interactive(with_totp) == 0  # unattended: the TOTP secret answers 2FA
    assert seeded_sim.sim.password_logins == 1

    no_password = make_config(
        seeded_sim,
        tmp_path,
        password=None,
        discord=gateway_standin.base_url,
        gateway=gateway_standin.gateway_url,
    )
    seen = len(seeded_sim.sim.requests)
    stop = asyncio.Event()

    async def stop_once_the_session_was_checked() -> None:
        async with asyncio.timeout(20):
            # Polling what the simulator received; nothing in the bot can signal this test.
            while not any(r.path == "/auth" for r in seeded_sim.sim.requests[seen:]):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        stop.set()

    stopper = asyncio.create_task(stop_once_the_session_was_checked())
    assert await app.run_bot(no_password, stop=stop) == 0
    await stopper
    assert seeded_sim.sim.password_logins == 1  # the saved session was reused: no password login

    seeded_sim.sim.expire_sessions(forget_devices=True)
    assert await app.run_bot(no_password, stop=asyncio.Event()) == 1  # fails on its own, cleanly
    assert "groupbridge login" in capsys.readouterr().err


async def test_fresh_login_forgets_the_saved_session(
    seeded_sim: SeededSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Terminal(monkeypatch, {})
    config = make_config(seeded_sim, tmp_path, password=seeded_sim.password, totp=seeded_sim.totp_secret)
    assert await app.login_interactive(config) == 0
    assert await app.login_interactive(config, fresh=True) == 0
    assert seeded_sim.sim.password_logins == 2


async def test_a_fresh_login_that_fails_keeps_the_saved_session(
    seeded_sim: SeededSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    Terminal(monkeypatch, {})
    config = make_config(seeded_sim, tmp_path, password=seeded_sim.password, totp=seeded_sim.totp_secret)
    assert await app.login_interactive(config) == 0
    session = tmp_path / "session.json"
    before = session.read_bytes()

    typo = make_config(seeded_sim, tmp_path, password="correct horse!", totp=seeded_sim.totp_secret)
    assert await app.login_interactive(typo, fresh=True) == 1
    assert "username or password" in capsys.readouterr().err
    assert session.read_bytes() == before  # replaced only by a login that succeeded

    no_password = make_config(seeded_sim, tmp_path, password=None)
    assert await app.login_interactive(no_password) == 0  # and the old session still works
    assert "still valid" in capsys.readouterr().out


async def test_login_with_a_configured_password_reuses_a_valid_session_and_says_so(
    seeded_sim: SeededSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    Terminal(monkeypatch, {})
    config = make_config(seeded_sim, tmp_path, password=seeded_sim.password, totp=seeded_sim.totp_secret)
    assert await app.login_interactive(config) == 0
    assert "Logged in as GroupBridge Bot" in capsys.readouterr().out
    saved = json.loads((tmp_path / "session.json").read_text())

    assert await app.login_interactive(config) == 0
    assert "still valid" in capsys.readouterr().out
    assert seeded_sim.sim.password_logins == 1
    confirmed = json.loads((tmp_path / "session.json").read_text())
    # Rewritten, same cookies, with the stamp a blocked bot watching the file wakes up to.
    assert confirmed["cookies"] == saved["cookies"] and "confirmed_at" in confirmed
