"""The bot's VRChat accounts: [vrchat] is the primary one, each ``[[accounts]]`` table adds one more.

Extra accounts are a top-level array of tables, like [[groups]] and [[bindings]], rather than
``[[vrchat.accounts]]``: [vrchat] stays a plain table whose every key the environment can override, and
an account block can never swallow [vrchat] keys written after it. Like the other arrays, [[accounts]]
cannot come from ``GROUPBRIDGE_<SECTION>__<KEY>`` variables, so an account's secrets can be *named*
instead: ``password_env = "BOT2_PASSWORD"`` reads that variable when the configuration is loaded, and the
file then holds no secret at all.

Checked here, with key and line: each account has its own session file (it holds that account's
login) and its own username; a secret is not given both ways; a named variable is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.config.checks import check_totp_secret
from bot.config.locate import KeyLines
from bot.config.models import ENV_NAME_RE, AccountConfig, Config, VRChatConfig
from bot.config.problems import Problem

#: Each secret of an [[accounts]] table and the key that may name its environment variable instead.
SECRET_REFS: tuple[tuple[str, str], ...] = (("password", "password_env"), ("totp_secret", "totp_secret_env"))

_DEFAULT_SESSION_FILE: Path = VRChatConfig.model_fields["session_file"].default


@dataclass(frozen=True, slots=True)
class AccountLogin:
    """What building one account's VRChatClient needs, with [vrchat]'s defaults filled in.

    ``name`` is what operators see and type (`groupbridge login --account NAME`, /bridge status): the
    username, which is not a secret.
    """

    name: str
    username: str | None
    password: SecretStr | None = field(repr=False)
    totp_secret: SecretStr | None = field(repr=False)
    session_file: Path
    requests_per_second: float
    burst: int
    primary: bool


def vrchat_accounts(config: Config) -> tuple[AccountLogin, ...]:
    """[vrchat] first, then each [[accounts]] table, rates it leaves out taken from [vrchat]."""
    vrc = config.vrchat
    primary = _login(vrc, vrc.username or "(primary)", vrc, primary=True)
    return (primary, *(_login(a, a.username, vrc, primary=False) for a in config.accounts))


def _login(
    account: VRChatConfig | AccountConfig, name: str, vrc: VRChatConfig, *, primary: bool
) -> AccountLogin:
    return AccountLogin(
        name=name,
        username=account.username,
        password=account.password,
        totp_secret=account.totp_secret,
        session_file=account.session_file,
        requests_per_second=account.requests_per_second or vrc.requests_per_second,
        burst=account.burst or vrc.burst,
        primary=primary,
    )


def _account_tables(data: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    tables = data.get("accounts")
    if isinstance(tables, list):
        yield from ((i, t) for i, t in enumerate(tables) if isinstance(t, dict))


def _given(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def secrets_from_env(
    data: dict[str, Any], env: Mapping[str, str], lines: KeyLines
) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """``data`` with the secrets that ``password_env`` / ``totp_secret_env`` name read from ``env``.

    Returns the new data (the input is not modified), the dotted keys filled from the environment, and
    the problems. Messages never quote the variable's name or value: a secret pasted into the wrong
    key must not be echoed back, and the line says which key is meant.
    """
    if not isinstance(data.get("accounts"), list):
        return data, [], []
    tables: list[Any] = list(data["accounts"])
    env_keys: list[str] = []
    problems: list[Problem] = []
    for i, table in _account_tables(data):
        table = dict(table)
        for setting, ref in SECRET_REFS:
            name = table.get(ref)
            if not isinstance(name, str) or not ENV_NAME_RE.fullmatch(name.strip()):
                continue  # absent, or not a variable name: validation reports the latter
            key, line = f"accounts[{i}].{ref}", lines.nearest(("accounts", i, ref))
            if _given(table.get(setting)):
                problems.append(Problem(key, f"is set together with {setting}: keep only one of them", line))
                continue
            value = env.get(name.strip(), "")
            if not value:
                problems.append(Problem(key, "names an environment variable that is not set", line))
                continue
            if setting == "totp_secret":
                try:
                    value = check_totp_secret(value)
                except ValueError as exc:
                    problems.append(Problem(key, f"the environment variable it names {exc}", line))
                    continue
            table[setting] = value
            env_keys.append(f"accounts[{i}].{setting}")
        tables[i] = table
    return {**data, "accounts": tables}, env_keys, problems


def account_problems(data: Mapping[str, Any], lines: KeyLines) -> list[Problem]:
    """Session files and usernames used twice across [vrchat] and [[accounts]]. Runs on the raw data,
    skipping values of the wrong type (validation reports those)."""
    vrchat = data.get("vrchat")
    vrchat = vrchat if isinstance(vrchat, dict) else {}
    files: dict[str, str] = {}
    users: dict[str, str] = {}
    primary_file = vrchat.get("session_file", str(_DEFAULT_SESSION_FILE))
    if isinstance(primary_file, str) and primary_file.strip():
        files[_same_file(primary_file)] = "vrchat.session_file"
    primary_user = vrchat.get("username")
    if isinstance(primary_user, str) and primary_user.strip():
        users[primary_user.strip().casefold()] = "vrchat.username"
    problems = []
    for i, table in _account_tables(data):
        session_file, username = table.get("session_file"), table.get("username")
        if isinstance(session_file, str) and session_file.strip():
            seen = files.setdefault(_same_file(session_file), f"accounts[{i}].session_file")
            if seen != f"accounts[{i}].session_file":
                problems.append(
                    Problem(
                        f"accounts[{i}].session_file",
                        f"is the same file as {seen}: each account needs a session file of its own "
                        "(it holds that account's login)",
                        lines.nearest(("accounts", i, "session_file")),
                    )
                )
        if isinstance(username, str) and username.strip():
            seen = users.setdefault(username.strip().casefold(), f"accounts[{i}].username")
            if seen != f"accounts[{i}].username":
                problems.append(
                    Problem(
                        f"accounts[{i}].username",
                        f"is the same VRChat account as {seen}: list each account once",
                        lines.nearest(("accounts", i, "username")),
                    )
                )
    return problems


def _same_file(path: str) -> str:
    # Relative paths are relative to the working directory (see config.example.toml), as here.
    return os.path.abspath(path.strip())
