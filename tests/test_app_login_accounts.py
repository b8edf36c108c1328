"""`groupbridge login` with several VRChat accounts: every account in turn, or one by --account.

Only the terminal is replaced (input/getpass); the CLI, config loader, clients and simulator are real.
"""

from __future__ import annotations

import asyncio
import builtins
import getpass
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from bot import app, logs
from bot.cli import main
from bot.config import Config, load_config_text
from bot.vrchat.session_file import load_session
from tests.fixtures.configs import toml
from tests.fixtures.vrchat_accounts import (
    ALPHA,
    BRAVO,
    PASSWORDS,
    TwoAccounts,
    alpha_vrchat,
    by_account,
)


@pytest.fixture(autouse=True)
def reset_logging() -> Iterator[None]:
    yield
    logs.reset_logging()
    logs.clear_secrets()


def config_text(two: TwoAccounts, tmp_path: Path) -> str:
    # Alpha can log in unattended; Bravo's password and 2FA code come from the person at the terminal.
    # Both at the rate the other tests use, not the default second or more between calls.
    return toml(
        vrchat=alpha_vrchat(two, tmp_path / "alpha.json", requests_per_second=10),
        discord={},
        accounts=[{"username": BRAVO, "session_file": tmp_path / "bravo.json", "requests_per_second": 10}],
    )


def config_of(two: TwoAccounts, tmp_path: Path) -> Config:
    return load_config_text(config_text(two, tmp_path), env={}, required=())


class Terminal:
    """Answers Bravo's prompts (its password and an authenticator code); records every prompt."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, two: TwoAccounts) -> None:
        self.prompts: list[str] = []
        self._two = two
        monkeypatch.setattr(builtins, "input", self._answer)
        monkeypatch.setattr(getpass, "getpass", self._answer)

    def _answer(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        if "password" in prompt:
            return PASSWORDS[BRAVO]
        if "[1-" in prompt:
            return "1"
        if "authenticator" in prompt:
            return pyotp.TOTP(self._two.totp[BRAVO]).now()
        raise AssertionError(f"unexpected prompt {prompt!r}")


def session_of(path: Path, username: str) -> str | None:
    saved = load_session(path, username)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return saved.user_id if saved else None


async def test_login_logs_every_account_in_turn(
    two: TwoAccounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal(monkeypatch, two)
    assert await app.login_interactive(config_of(two, tmp_path)) == 0
    out = capsys.readouterr().out
    assert out.index(f"VRChat account {ALPHA}:") < out.index(f"VRChat account {BRAVO}:")
    assert "Logged in as Alpha Bot" in out and "Logged in as Bravo Bot" in out
    assert session_of(tmp_path / "alpha.json", ALPHA) == two.alpha.id
    assert session_of(tmp_path / "bravo.json", BRAVO) == two.bravo.id
    assert len(terminal.prompts) == 3  # Bravo's password, the 2FA choice, the code; Alpha none
    assert all(secret not in out for secret in (*PASSWORDS.values(), *two.totp.values()))


async def test_login_account_logs_in_only_that_one(
    two: TwoAccounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Terminal(monkeypatch, two)
    path = tmp_path / "config.toml"
    path.write_text(config_text(two, tmp_path), encoding="utf-8")
    # The real command line, with its own event loop in a thread; the simulator runs on this one.
    code = await asyncio.to_thread(main, ["login", "-c", str(path), "--account", BRAVO.upper()])
    assert code == 0
    assert session_of(tmp_path / "bravo.json", BRAVO) == two.bravo.id
    assert not (tmp_path / "alpha.json").exists()
    assert set(by_account(two.sim)) == {two.bravo.id}


async def test_login_refuses_an_account_the_config_does_not_have(
    two: TwoAccounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Terminal(monkeypatch, two)
    assert await app.login_interactive(config_of(two, tmp_path), account="bot-charlie") == 2
    err = capsys.readouterr().err
    assert "no account 'bot-charlie'" in err and ALPHA in err and BRAVO in err
    assert two.sim.requests == []


async def test_login_account_confirms_only_that_accounts_session(
    two: TwoAccounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal(monkeypatch, two)
    assert await app.login_interactive(config_of(two, tmp_path)) == 0
    terminal.prompts.clear()
    capsys.readouterr()
    # Both sessions are still valid; the operator runs `login` for Bravo, whose bot blocked.
    assert await app.login_interactive(config_of(two, tmp_path), account=BRAVO) == 0
    assert "still valid" in capsys.readouterr().out and terminal.prompts == []
    alpha, bravo = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("alpha", "bravo"))
    assert "confirmed_at" in bravo and "confirmed_at" not in alpha  # only Bravo's file wakes anything
