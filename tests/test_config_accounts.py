"""Several VRChat accounts in the configuration: [vrchat] is the primary, [[accounts]] adds more.

Each mistake is reported with its key and line, and no message repeats a secret or the name of the
variable that should hold one.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, Problem, load_config, load_config_text
from bot.config.accounts import vrchat_accounts

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"

TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
PRIMARY_PASSWORD = "primary-horse-battery"
SECOND_PASSWORD = "second-staple-w0rd"
TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOTP_SPACED = "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp"

PRIMARY = f"""\
[vrchat]
username = "PrimaryBot"
password = "{PRIMARY_PASSWORD}"
user_agent = "GroupBridge/0.1 (ops@bridge.gg)"
session_file = "primary-session.json"
requests_per_second = 2
burst = 4

[discord]
token = "{TOKEN}"
"""


def account(username: str, session_file: str, *extra: str) -> str:
    return "\n".join(
        ["", "[[accounts]]", f'username = "{username}"', f'session_file = "{session_file}"', *extra]
    )


def line_of(text: str, needle: str, occurrence: int = 0) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(needle)]
    return hits[occurrence]


def problems_of(text: str, env: dict[str, str] | None = None) -> dict[str, Problem]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env=env or {})
    assert all(SECOND_PASSWORD not in p.message for p in info.value.problems)
    return {p.key: p for p in info.value.problems}


def test_a_single_account_config_is_exactly_the_primary() -> None:
    config = load_config_text(PRIMARY, env={})
    assert config.accounts == []
    (only,) = vrchat_accounts(config)
    assert (only.name, only.username, only.primary) == ("PrimaryBot", "PrimaryBot", True)
    assert (only.session_file, only.requests_per_second, only.burst) == (Path("primary-session.json"), 2, 4)
    assert only.password is not None and only.password.get_secret_value() == PRIMARY_PASSWORD


def test_extra_accounts_inherit_the_rate_they_leave_out() -> None:
    text = (
        PRIMARY
        + account("SecondBot", "second.json", f'password = "{SECOND_PASSWORD}"', f'totp_secret = "{TOTP}"')
        + account("ThirdBot", "third.json", "requests_per_second = 0.5", "burst = 1")
    )
    config = load_config_text(text, env={})
    primary, second, third = vrchat_accounts(config)
    assert [a.name for a in (primary, second, third)] == ["PrimaryBot", "SecondBot", "ThirdBot"]
    assert [a.primary for a in (primary, second, third)] == [True, False, False]
    assert (second.requests_per_second, second.burst) == (2, 4)  # from [vrchat]
    assert (third.requests_per_second, third.burst) == (0.5, 1)
    assert second.session_file == Path("second.json")
    assert second.totp_secret is not None and second.totp_secret.get_secret_value() == TOTP
    assert SECOND_PASSWORD in config.secret_values() and TOTP in config.secret_values()
    assert SECOND_PASSWORD not in repr(config) and SECOND_PASSWORD not in repr(second)


def test_session_file_is_required_for_an_extra_account() -> None:
    text = PRIMARY + '\n[[accounts]]\nusername = "SecondBot"\n'
    problems = problems_of(text)
    assert set(problems) == {"accounts[0].session_file"}
    assert problems["accounts[0].session_file"].message == "is required"
    assert problems["accounts[0].session_file"].line == line_of(text, "[[accounts]]")


def test_each_account_needs_its_own_session_file() -> None:
    text = (
        PRIMARY
        + account("SecondBot", "./primary-session.json")  # the same file, written differently
        + account("ThirdBot", "third.json")
        + account("FourthBot", "third.json")
    )
    problems = problems_of(text)
    assert set(problems) == {"accounts[0].session_file", "accounts[2].session_file"}
    second, fourth = problems["accounts[0].session_file"], problems["accounts[2].session_file"]
    assert "same file as vrchat.session_file" in second.message
    assert second.line == line_of(text, 'session_file = "./primary-session.json"')
    assert "same file as accounts[1].session_file" in fourth.message
    assert fourth.line == line_of(text, 'session_file = "third.json"', 1)


def test_the_default_primary_session_file_counts_too() -> None:
    text = PRIMARY.replace('session_file = "primary-session.json"\n', "") + account(
        "SecondBot", "groupbridge-session.json"
    )
    problems = problems_of(text)
    assert "same file as vrchat.session_file" in problems["accounts[0].session_file"].message


def test_each_account_is_listed_once() -> None:
    text = PRIMARY + account("primarybot", "second.json") + account("ThirdBot", "third.json")
    problems = problems_of(text)
    assert set(problems) == {"accounts[0].username"}
    assert "same VRChat account as vrchat.username" in problems["accounts[0].username"].message
    assert problems["accounts[0].username"].line == line_of(text, 'username = "primarybot"')


def test_an_extra_account_needs_a_username() -> None:
    text = PRIMARY + account("  ", "second.json")
    problems = problems_of(text)
    assert "needs its VRChat username" in problems["accounts[0].username"].message
    assert problems["accounts[0].username"].line == line_of(text, 'username = "  "')


def test_secrets_can_be_named_instead_of_written() -> None:
    text = PRIMARY + account(
        "SecondBot", "second.json", 'password_env = "SECOND_PW"', 'totp_secret_env = "SECOND_TOTP"'
    )
    config = load_config_text(text, env={"SECOND_PW": SECOND_PASSWORD, "SECOND_TOTP": TOTP_SPACED})
    (second,) = config.accounts
    assert second.password is not None and second.password.get_secret_value() == SECOND_PASSWORD
    assert second.totp_secret is not None and second.totp_secret.get_secret_value() == TOTP  # normalised
    assert {"accounts[0].password", "accounts[0].totp_secret"} <= set(config.env_keys)
    assert SECOND_PASSWORD in config.secret_values()
    assert SECOND_PASSWORD not in text


def test_a_named_variable_must_be_set() -> None:
    text = PRIMARY + account("SecondBot", "second.json", 'password_env = "SECOND_PW"')
    for env in ({}, {"SECOND_PW": ""}):
        problems = problems_of(text, env)
        assert set(problems) == {"accounts[0].password_env"}
        problem = problems["accounts[0].password_env"]
        assert problem.message == "names an environment variable that is not set"
        assert problem.line == line_of(text, "password_env =")


def test_a_secret_is_not_given_both_ways() -> None:
    text = PRIMARY + account(
        "SecondBot", "second.json", f'password = "{SECOND_PASSWORD}"', 'password_env = "SECOND_PW"'
    )
    problems = problems_of(text, {"SECOND_PW": "another"})
    assert "set together with password" in problems["accounts[0].password_env"].message
    assert problems["accounts[0].password_env"].line == line_of(text, "password_env =")


def test_a_bad_totp_secret_from_the_environment_is_reported_without_its_value() -> None:
    text = PRIMARY + account("SecondBot", "second.json", 'totp_secret_env = "SECOND_TOTP"')
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={"SECOND_TOTP": "ABCDEFGH"})
    (problem,) = info.value.problems
    assert problem.key == "accounts[0].totp_secret_env"
    assert "too short for a TOTP secret" in problem.message and "ABCDEFGH" not in str(info.value)


def test_a_secret_pasted_as_a_variable_name_is_not_echoed() -> None:
    leaked = "hunter2 with spaces!"
    text = PRIMARY + account("SecondBot", "second.json", f'password_env = "{leaked}"')
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    assert leaked not in str(info.value)
    (problem,) = info.value.problems
    assert problem.key == "accounts[0].password_env" and "name of an environment variable" in problem.message


def test_accounts_cannot_come_from_the_environment() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(PRIMARY, env={"GROUPBRIDGE_ACCOUNTS__PASSWORD": SECOND_PASSWORD})
    (problem,) = info.value.problems
    assert problem.key == "GROUPBRIDGE_ACCOUNTS__PASSWORD"
    assert "only be written in the config file" in problem.message and "password_env" in problem.message
    assert SECOND_PASSWORD not in str(info.value)


def test_accounts_must_be_tables() -> None:
    text = PRIMARY.replace("[vrchat]", 'accounts = "SecondBot"\n\n[vrchat]')
    problems = problems_of(text)
    assert problems["accounts"].message == "must be written as [[accounts]] tables"
    assert problems["accounts"].line == line_of(text, "accounts =")


def test_an_unknown_key_in_an_account_suggests_the_right_one() -> None:
    text = PRIMARY + account("SecondBot", "second.json", 'pasword_env = "X"')
    problems = problems_of(text)
    assert problems["accounts[0].pasword_env"].message == "unknown key (did you mean password_env?)"
    assert problems["accounts[0].pasword_env"].line == line_of(text, "pasword_env =")


def test_the_commented_example_is_valid_once_uncommented(tmp_path: Path) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    start = example.index("# [[accounts]]")
    block = []
    for line in example[start:].splitlines():
        if not line.startswith("# "):
            break
        block.append(line[2:])
    uncommented = "\n".join(block)
    assert tomllib.loads(uncommented)["accounts"][0]["username"] == "my-second-bot"
    variables = re.findall(r'_env = "([A-Z_]+)"', uncommented)
    env = dict(zip(variables, (SECOND_PASSWORD, TOTP), strict=True))
    path = tmp_path / "config.toml"
    path.write_text(PRIMARY + "\n" + uncommented + "\n", encoding="utf-8")
    config = load_config(path, env=env)
    assert [a.name for a in vrchat_accounts(config)] == ["PrimaryBot", "my-second-bot"]
