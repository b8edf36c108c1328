"""Configuration loading: the example file, environment overrides, and a precise message (key and
line) for every kind of mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyotp
import pytest
from pydantic import SecretStr

from bot.config import (
    EVENT_FAMILIES,
    REQUIRED_KEYS,
    Config,
    ConfigError,
    Problem,
    config_notes,
    load_config,
    load_config_text,
)
from bot.config.locate import KeyLines

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"

PASSWORD = "correct-horse-battery"
TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DB_PASSWORD = "db-pass-w0rd"
GROUP_A = "grp_0a1b2c3d-4e5f-6789-abcd-ef0123456789"
GROUP_B = "grp_11111111-2222-3333-4444-555555555555"
GROUP_UNLISTED = "grp_99999999-2222-3333-4444-555555555555"
PLACEHOLDER_GROUP = "grp_00000000-0000-0000-0000-000000000000"  # config.example.toml's

VALID = f"""\
[vrchat]
username = "ModBot"
password = "{PASSWORD}"
totp_secret = "{TOTP}"
user_agent = "GroupBridge/0.1 (admin@mygroup.net)"
requests_per_second = 2
burst = 5

[discord]
token = "{TOKEN}"
guild_ids = [111111111111111111, 222222222222222222]

[database]
url = "postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge"

[logging]
level = "debug"

[feed]
poll_interval_seconds = 45
backfill = "last"

[[groups]]
id = "{GROUP_A}"
name = "Group A"

[[groups]]
id = "{GROUP_B}"

[[bindings]]
group_id = "{GROUP_A}"
guild_id = 111111111111111111
feed_channel_id = 333333333333333333
moderator_role_ids = [444444444444444444]

[[bindings]]
group_id = "{GROUP_B}"
guild_id = 222222222222222222
feed_channel_id = 555555555555555555
requests_channel_id = 666666666666666666
events = ["requests", "moderation"]
"""

EXAMPLE_ENV = {
    "GROUPBRIDGE_VRCHAT__USERNAME": "ModBot",
    "GROUPBRIDGE_VRCHAT__PASSWORD": PASSWORD,
    "GROUPBRIDGE_VRCHAT__USER_AGENT": "GroupBridge/0.1 (https://github.com/mygroup/groupbridge)",
    "GROUPBRIDGE_DISCORD__TOKEN": TOKEN,
}


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(text: str, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env=env or {})
    return info.value.problems


def line_of(text: str, needle: str, occurrence: int = 0) -> int:
    """1-based line number of the ``occurrence``-th line that starts with ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(needle)]
    return hits[occurrence]


# --- the example file ----------------------------------------------------------------------------------


def test_example_config_reports_exactly_the_placeholders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no session file here
    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE, env={})
    text = EXAMPLE.read_text()
    by_key = {p.key: p for p in info.value.problems}
    # password: optional; the placeholder group is refused like the placeholder User-Agent
    assert set(by_key) == {"vrchat.username", "vrchat.user_agent", "discord.token", "groups[0].id"}
    assert by_key["groups[0].id"].line == line_of(text, 'id = "grp_00000000-0000-0000-0000-000000000000"')
    assert "is the example's placeholder" in by_key["groups[0].id"].message
    assert by_key["vrchat.username"].line == line_of(text, "username =")
    assert "GROUPBRIDGE_VRCHAT__USERNAME" in by_key["vrchat.username"].message
    assert by_key["vrchat.user_agent"].line == line_of(text, "user_agent =")
    assert "must include contact info" in by_key["vrchat.user_agent"].message
    assert by_key["discord.token"].line == line_of(text, "token =")
    assert "GROUPBRIDGE_DISCORD__TOKEN" in by_key["discord.token"].message
    assert (
        str(info.value)
        .splitlines()[0]
        .startswith(f"{EXAMPLE}:{line_of(text, 'username =')}: vrchat.username:")
    )


def test_example_config_with_secrets_from_env_loads_with_documented_defaults(tmp_path):
    # The one thing the environment cannot fill in: a real group instead of the placeholder.
    copy = write(tmp_path, EXAMPLE.read_text().replace(PLACEHOLDER_GROUP, GROUP_A))
    config = load_config(copy, env=EXAMPLE_ENV)
    assert config.path == copy
    assert set(config.env_keys) == {
        "vrchat.username",
        "vrchat.password",
        "vrchat.user_agent",
        "discord.token",
    }
    assert config.vrchat.password.get_secret_value() == PASSWORD
    assert config.vrchat.totp_secret is None  # empty in the example means "not set"
    assert config.vrchat.base_url == "https://api.vrchat.cloud/api/1"
    assert config.vrchat.session_file == Path("groupbridge-session.json")
    assert (config.vrchat.requests_per_second, config.vrchat.burst) == (1.0, 3)
    assert config.vrchat.max_backoff_seconds == 1800
    assert config.vrchat.relogin_interval_seconds == 900
    assert config.vrchat.request_timeout_seconds == 30
    assert config.discord.guild_ids == []
    assert config.discord.sync_commands_on_start is True
    assert config.database.url == "sqlite+aiosqlite:///groupbridge.db"
    assert (config.logging.level, config.logging.file) == ("INFO", None)
    feed = config.feed
    assert (feed.poll_interval_seconds, feed.backfill, feed.backfill_count) == (60, "none", 100)
    assert (feed.post_backfill, feed.retention_days) == (False, 0)
    # The bot's own records: the action log kept forever, decided prompts and alerts half a year.
    assert (feed.action_log_retention_days, feed.decided_retention_days) == (0, 180)
    assert [g.id for g in config.groups] == [GROUP_A]
    assert config.bindings == []


def test_the_example_group_is_refused_wherever_it_is_written():
    text = VALID.replace(GROUP_A, PLACEHOLDER_GROUP)  # in [[groups]] and in a [[bindings]] block
    problems = {(p.key, p.line): p.message for p in problems_of(text)}
    assert set(problems) == {
        ("groups[0].id", line_of(text, f'id = "{PLACEHOLDER_GROUP}"')),
        ("bindings[0].group_id", line_of(text, f'group_id = "{PLACEHOLDER_GROUP}"')),
    }
    assert all("is the example's placeholder" in message for message in problems.values())


def test_example_documents_every_setting():
    text = EXAMPLE.read_text()
    for section, model in Config.model_fields.items():
        assert f"[{section}]" in text or f"[[{section}]]" in text, section
        sub = model.annotation
        if hasattr(sub, "__args__"):
            sub = sub.__args__[0]
        for key in sub.model_fields:
            assert f"{key} =" in text, f"{section}.{key} is not documented in config.example.toml"


def test_defaults_without_optional_tables():
    config = load_config_text(
        f"""\
[vrchat]
username = "ModBot"
password = "{PASSWORD}"
user_agent = "GroupBridge/0.1 (ops@bridge.gg)"
[discord]
token = "{TOKEN}"
""",
        env={},
    )
    assert config.database.url == "sqlite+aiosqlite:///groupbridge.db"
    assert config.feed.backfill == "none"
    assert config.groups == [] and config.bindings == []


# --- a full valid file ---------------------------------------------------------------------------------


def test_valid_config_parses_every_section(tmp_path):
    config = load_config(write(tmp_path, VALID), env={})
    assert config.env_keys == ()
    assert config.vrchat.username == "ModBot"
    assert config.vrchat.totp_secret.get_secret_value() == TOTP
    assert (config.vrchat.requests_per_second, config.vrchat.burst) == (2.0, 5)
    assert config.discord.guild_ids == [111111111111111111, 222222222222222222]
    assert config.logging.level == "DEBUG"  # case-insensitive
    assert config.feed.poll_interval_seconds == 45
    assert config.group_ids == {GROUP_A, GROUP_B}
    assert config.group(GROUP_A).name == "Group A"
    assert config.group(GROUP_B).name is None
    first, second = config.bindings
    assert first.events == list(EVENT_FAMILIES)  # default: every family
    assert first.requests_channel_id is None
    assert first.moderator_role_ids == [444444444444444444]
    assert second.events == ["requests", "moderation"]
    assert second.requests_channel_id == 666666666666666666
    assert sorted(config.secret_values()) == sorted([PASSWORD, TOKEN, TOTP, DB_PASSWORD])


def test_totp_secret_is_normalised_and_usable_by_pyotp():
    text = VALID.replace(f'totp_secret = "{TOTP}"', 'totp_secret = "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp"')
    config = load_config_text(text, env={})
    secret = config.vrchat.totp_secret.get_secret_value()
    assert secret == TOTP
    assert len(pyotp.TOTP(secret).now()) == 6


def test_password_whitespace_is_preserved_but_plain_values_are_stripped():
    text = VALID.replace(f'password = "{PASSWORD}"', 'password = " spaced pass "').replace(
        '"ModBot"', '"  ModBot  "'
    )
    config = load_config_text(text, env={})
    assert config.vrchat.password.get_secret_value() == " spaced pass "
    assert config.vrchat.username == "ModBot"


def test_config_is_immutable():
    config = load_config_text(VALID, env={})
    with pytest.raises(ValueError):
        config.vrchat.username = "other"


# --- environment overrides -----------------------------------------------------------------------------


def test_environment_wins_over_file_and_is_reported_by_key():
    env = {
        "GROUPBRIDGE_VRCHAT__PASSWORD": "from-the-environment",
        "GROUPBRIDGE_DATABASE__URL": "sqlite+aiosqlite:///other.db",
        "GROUPBRIDGE_FEED__POLL_INTERVAL_SECONDS": "120",
        "GROUPBRIDGE_FEED__POST_BACKFILL": "true",
        "GROUPBRIDGE_DISCORD__SYNC_COMMANDS_ON_START": "false",
        "GROUPBRIDGE_LOGGING__LEVEL": "warning",
        "OTHER_VARIABLE": "ignored",
        "GROUPBRIDGE_CONFIG": "not a setting (no double underscore): ignored",
    }
    config = load_config_text(VALID, env=env)
    assert config.vrchat.password.get_secret_value() == "from-the-environment"
    assert config.database.url == "sqlite+aiosqlite:///other.db"
    assert config.feed.poll_interval_seconds == 120
    assert config.feed.post_backfill is True
    assert config.discord.sync_commands_on_start is False
    assert config.logging.level == "WARNING"
    assert set(config.env_keys) == {
        "vrchat.password",
        "database.url",
        "feed.poll_interval_seconds",
        "feed.post_backfill",
        "discord.sync_commands_on_start",
        "logging.level",
    }


@pytest.mark.parametrize("separator", [", ", ",", " "])
def test_list_settings_from_environment(separator):
    ids = ["111111111111111111", "222222222222222222", "888888888888888888"]
    for value in (separator.join(ids), f"[{', '.join(ids)}]"):
        config = load_config_text(VALID, env={"GROUPBRIDGE_DISCORD__GUILD_IDS": value})
        assert config.discord.guild_ids == [int(i) for i in ids]


def test_empty_environment_variable_counts_as_unset():
    config = load_config_text(VALID, env={"GROUPBRIDGE_VRCHAT__PASSWORD": ""})
    assert config.vrchat.password.get_secret_value() == PASSWORD
    assert config.env_keys == ()


def test_missing_secrets_can_come_from_environment_only():
    text = VALID.replace('username = "ModBot"\n', "").replace(f'token = "{TOKEN}"\n', "")
    text = text.replace(f'password = "{PASSWORD}"\n', "")
    problems = problems_of(text)
    assert {p.key for p in problems} == {"vrchat.username", "discord.token"}
    token = next(p for p in problems if p.key == "discord.token")
    assert "GROUPBRIDGE_DISCORD__TOKEN" in token.message
    assert token.line == line_of(text, "[discord]")  # the key is absent: point at its table
    config = load_config_text(
        text,
        env={
            "GROUPBRIDGE_VRCHAT__USERNAME": "ModBot",
            "GROUPBRIDGE_VRCHAT__PASSWORD": PASSWORD,
            "GROUPBRIDGE_DISCORD__TOKEN": TOKEN,
        },
    )
    assert config.discord.token.get_secret_value() == TOKEN
    assert config.vrchat.password.get_secret_value() == PASSWORD


def test_username_and_token_are_required_by_default_but_can_be_waived():
    assert REQUIRED_KEYS == ("vrchat.username", "discord.token")
    text = VALID.replace('username = "ModBot"\n', "").replace(f'password = "{PASSWORD}"', 'password = ""')
    text = text.replace(f'token = "{TOKEN}"\n', "")
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [
        ("vrchat.username", line_of(text, "[vrchat]")),  # absent: its table
        ("discord.token", line_of(text, "[discord]")),
    ]
    assert problems[0].message.startswith("is required: set it in the [vrchat] table or with the environment")

    config = load_config_text(text, env={}, required=())
    assert (config.vrchat.username, config.vrchat.password, config.discord.token) == (None, None, None)
    assert config.secret_values() == [TOTP, DB_PASSWORD]

    only_token = problems_of_required(text, ["discord.token"])
    assert [p.key for p in only_token] == ["discord.token"]

    # A caller may still insist on the password: present but empty points at its line.
    with_password = problems_of_required(text, ["vrchat.password"])
    assert [(p.key, p.line) for p in with_password] == [("vrchat.password", line_of(text, "password ="))]
    assert with_password[0].message == (
        "is empty: fill it in, or set the environment variable GROUPBRIDGE_VRCHAT__PASSWORD"
    )
    with pytest.raises(ValueError, match=r"vrchat\.totp_secret"):
        load_config_text(text, env={}, required=["vrchat.totp_secret"])


def test_password_is_optional_by_default():
    for text in (
        VALID.replace(f'password = "{PASSWORD}"\n', ""),
        VALID.replace(f'password = "{PASSWORD}"', 'password = ""'),
        VALID.replace(f'password = "{PASSWORD}"', 'password = "   "'),
    ):
        config = load_config_text(text, env={})
        assert config.vrchat.password is None
        assert PASSWORD not in config.secret_values()


def problems_of_required(text: str, required: list[str]) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={}, required=required)
    return info.value.problems


def test_bad_value_from_environment_names_the_variable_not_a_line():
    problems = problems_of(VALID, env={"GROUPBRIDGE_VRCHAT__BURST": "lots"})
    assert problems == [
        Problem(
            "vrchat.burst",
            "must be a whole number (from environment variable GROUPBRIDGE_VRCHAT__BURST)",
            None,
        )
    ]


def test_unknown_environment_variables_are_reported_with_suggestion():
    problems = problems_of(
        VALID,
        env={
            "GROUPBRIDGE_VRCHAT__PASWORD": "x",
            "GROUPBRIDGE_NOPE__THING": "1",
            "GROUPBRIDGE_BINDINGS__GUILD_ID": "1",
        },
    )
    by_key = {p.key: p.message for p in problems}
    assert set(by_key) == {
        "GROUPBRIDGE_VRCHAT__PASWORD",
        "GROUPBRIDGE_NOPE__THING",
        "GROUPBRIDGE_BINDINGS__GUILD_ID",
    }
    assert "did you mean GROUPBRIDGE_VRCHAT__PASSWORD?" in by_key["GROUPBRIDGE_VRCHAT__PASWORD"]
    assert "does not match any setting" in by_key["GROUPBRIDGE_NOPE__THING"]
    assert "[[bindings]]" in by_key["GROUPBRIDGE_BINDINGS__GUILD_ID"]
    assert all(p.line is None for p in problems)


# --- one precise problem per mistake -------------------------------------------------------------------

BAD_VALUES = [
    # (replace this line of VALID, with this, expected key, expected message fragment)
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        'user_agent = "GroupBridge/0.1"',
        "vrchat.user_agent",
        "must include contact info",
    ),
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        'user_agent = "GroupBridge/0.1 (contact)"',
        "vrchat.user_agent",
        "must include contact info",
    ),
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        'user_agent = "GroupBridge/0.1 (admin@example.com)"',
        "vrchat.user_agent",
        "placeholder",
    ),
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        'user_agent = "GroupBridge/0.1 (https://example.org/bot)"',
        "vrchat.user_agent",
        "placeholder",
    ),
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        'user_agent = "GroupBridge/0.1 (you@gmail.com)"',
        "vrchat.user_agent",
        "placeholder",
    ),
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        'user_agent = "GroupBridge/0.1 (CHANGEME admin@mygroup.net)"',
        "vrchat.user_agent",
        "replace the placeholder",
    ),
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        'user_agent = "GroupBridge/0.1\\t(admin@mygroup.net)"',
        "vrchat.user_agent",
        "printable ASCII",
    ),
    (
        'user_agent = "GroupBridge/0.1 (admin@mygroup.net)"',
        "user_agent = 12",
        "vrchat.user_agent",
        "must be a string",
    ),
    ('username = "ModBot"', 'username = ""', "vrchat.username", "GROUPBRIDGE_VRCHAT__USERNAME"),
    (f'token = "{TOKEN}"', 'token = "   "', "discord.token", "is empty"),
    (f'totp_secret = "{TOTP}"', 'totp_secret = "123456"', "vrchat.totp_secret", "base32"),
    (f'totp_secret = "{TOTP}"', 'totp_secret = "JBSWY3DP"', "vrchat.totp_secret", "too short"),
    ("requests_per_second = 2", "requests_per_second = 0", "vrchat.requests_per_second", "greater than 0"),
    ("requests_per_second = 2", "requests_per_second = 10.5", "vrchat.requests_per_second", "at most 10"),
    (
        "requests_per_second = 2",
        'requests_per_second = "fast"',
        "vrchat.requests_per_second",
        "must be a number",
    ),
    ("burst = 5", "burst = 0", "vrchat.burst", "at least 1"),
    ("burst = 5", "burst = true", "vrchat.burst", "not true/false"),
    ("burst = 5", "burst = 2.5", "vrchat.burst", "whole number"),
    ("burst = 5", "relogin_interval_seconds = 59", "vrchat.relogin_interval_seconds", "at least 60"),
    ("burst = 5", 'base_url = "ftp://api.vrchat.cloud"', "vrchat.base_url", "http:// or https://"),
    ("burst = 5", 'session_file = ""', "vrchat.session_file", "file path"),
    (f'token = "{TOKEN}"', 'token = "Bot abc.def.ghi"', "discord.token", 'without the "Bot " prefix'),
    (f'token = "{TOKEN}"', 'token = "0123456789abcdef0123456789abcdef"', "discord.token", "client secret"),
    (
        "guild_ids = [111111111111111111, 222222222222222222]",
        "guild_ids = 111111111111111111",
        "discord.guild_ids",
        "must be a list",
    ),
    (
        "guild_ids = [111111111111111111, 222222222222222222]",
        "guild_ids = [111111111111111111, 111111111111111111]",
        "discord.guild_ids",
        "more than once",
    ),
    (
        "guild_ids = [111111111111111111, 222222222222222222]",
        "guild_ids = [111111111111111111, -2]",
        "discord.guild_ids[1]",
        "not a valid Discord ID",
    ),
    (
        "guild_ids = [111111111111111111, 222222222222222222]",
        'guild_ids = [111111111111111111, "general"]',
        "discord.guild_ids[1]",
        "digits only",
    ),
    (
        "guild_ids = [111111111111111111, 222222222222222222]",
        'sync_commands_on_start = "maybe"',
        "discord.sync_commands_on_start",
        "true or false",
    ),
    (
        f'url = "postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge"',
        'url = "postgresql://bridge@localhost/bridge"',
        "database.url",
        "postgresql+asyncpg://",
    ),
    (
        f'url = "postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge"',
        'url = "sqlite:///groupbridge.db"',
        "database.url",
        "sqlite+aiosqlite://",
    ),
    (
        f'url = "postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge"',
        'url = "mysql+aiomysql://u@h/db"',
        "database.url",
        "unsupported database",
    ),
    (
        f'url = "postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge"',
        'url = "groupbridge.db"',
        "database.url",
        "not a database URL",
    ),
    ('level = "debug"', 'level = "verbose"', "logging.level", "DEBUG, INFO, WARNING, ERROR"),
    (
        "poll_interval_seconds = 45",
        "poll_interval_seconds = 29",
        "feed.poll_interval_seconds",
        "at least 30 seconds",
    ),
    ('backfill = "last"', 'backfill = "some"', "feed.backfill", "'none', 'last' or 'all'"),
    ('backfill = "last"', "backfill_count = 0", "feed.backfill_count", "at least 1"),
    ('backfill = "last"', "retention_days = -1", "feed.retention_days", "at least 0"),
    ('backfill = "last"', "action_log_retention_days = -5", "feed.action_log_retention_days", "at least 0"),
    ('backfill = "last"', "decided_retention_days = -1", "feed.decided_retention_days", "at least 0"),
    (
        'backfill = "last"',
        "decided_retention_days = 3",
        "feed.decided_retention_days",
        "0 (kept forever) or at least 7 days",
    ),
    ('backfill = "last"', 'post_backfill = "no way"', "feed.post_backfill", "true or false"),
    (f'id = "{GROUP_B}"', 'id = "grp_123"', "groups[1].id", "grp_ followed by a lowercase UUID"),
    (
        f'id = "{GROUP_B}"',
        'id = "grp_ABCDEF12-2222-3333-4444-555555555555"',
        "groups[1].id",
        "must be lowercase",
    ),
    (
        'events = ["requests", "moderation"]',
        'events = ["requests", "gossip"]',
        "bindings[1].events",
        "unknown event family 'gossip'",
    ),
    ('events = ["requests", "moderation"]', "events = []", "bindings[1].events", "at least one event family"),
    (
        "requests_channel_id = 666666666666666666",
        "requests_channel_id = true",
        "bindings[1].requests_channel_id",
        "Discord ID",
    ),
    (
        "requests_channel_id = 666666666666666666",
        "moderator_role_ids = 5",
        "bindings[1].moderator_role_ids",
        "must be a list",
    ),
    ("requests_channel_id = 666666666666666666", "passwrd = 5", "bindings[1].passwrd", "unknown key"),
]


def replace_last_line(text: str, old: str, new: str) -> tuple[str, int]:
    """Replace the last line that is exactly ``old``; return the text and that line's number."""
    lines = text.splitlines(keepends=True)
    index = max(i for i, line in enumerate(lines) if line.rstrip("\n") == old)
    lines[index] = new + "\n"
    return "".join(lines), index + 1


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"), BAD_VALUES, ids=[f"{c[2]}:{c[1][:30]}" for c in BAD_VALUES]
)
def test_each_bad_value_gives_one_specific_problem_on_its_line(old, new, key, fragment):
    # The last matching line, so group and binding cases hit the second array element.
    text, line = replace_last_line(VALID, old, new)
    problems = problems_of(text)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.key == key
    assert fragment in problem.message
    assert problem.line == line


@pytest.mark.parametrize(
    ("key", "wrong", "right", "fragment"),
    [
        (
            "api_base_url",
            "ws://127.0.0.1:8080/api/v10",
            "http://127.0.0.1:8080/api/v10",
            "http:// or https://",
        ),
        ("gateway_url", "http://127.0.0.1:8080", "ws://127.0.0.1:8080", "ws:// or wss://"),
    ],
)
def test_each_stand_in_url_is_checked_for_its_own_scheme(key, wrong, right, fragment):
    def with_url(url: str) -> str:
        return VALID.replace("[discord]\n", f'[discord]\n{key} = "{url}"\n')

    (problem,) = problems_of(with_url(wrong))
    assert problem.key == f"discord.{key}"
    assert fragment in problem.message
    assert getattr(load_config_text(with_url(right), env={}).discord, key) == right


def test_bad_value_messages_never_quote_the_value():
    text = VALID.replace('level = "debug"', 'level = "secret-ish-value-1"')
    text = text.replace(f'totp_secret = "{TOTP}"', 'totp_secret = "not base32 at all 0189"')
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    message = str(info.value)
    assert "secret-ish-value-1" not in message
    assert "not base32" not in message


def test_binding_for_group_not_in_allow_list_points_at_second_binding():
    text = VALID.replace(f'group_id = "{GROUP_B}"', f'group_id = "{GROUP_UNLISTED}"')
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [
        ("bindings[1].group_id", line_of(text, "group_id =", occurrence=1))
    ]
    assert GROUP_UNLISTED in problems[0].message
    assert "allow-list" in problems[0].message


def test_duplicate_group_ids_are_reported_at_the_repeat():
    text = VALID.replace(f'id = "{GROUP_B}"', f'id = "{GROUP_A}"')
    text = text.replace(f'group_id = "{GROUP_B}"', f'group_id = "{GROUP_A}"')
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [("groups[1].id", line_of(text, "id =", occurrence=1))]
    assert "duplicate group id" in problems[0].message
    assert "groups[0]" in problems[0].message


def test_binding_guild_must_be_one_of_the_command_guilds():
    text = VALID.replace("guild_id = 222222222222222222", "guild_id = 777777777777777777")
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [
        ("bindings[1].guild_id", line_of(text, "guild_id = 777777777777777777"))
    ]
    # With no command guilds (global commands) any guild is fine.
    relaxed = text.replace("guild_ids = [111111111111111111, 222222222222222222]", "guild_ids = []")
    assert load_config_text(relaxed, env={}).bindings[1].guild_id == 777777777777777777


def test_same_group_and_feed_channel_twice_is_reported():
    text = VALID.replace(f'group_id = "{GROUP_B}"', f'group_id = "{GROUP_A}"').replace(
        "feed_channel_id = 555555555555555555", "feed_channel_id = 333333333333333333"
    )
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [
        ("bindings[1]", line_of(text, "[[bindings]]", occurrence=1))
    ]


def test_unknown_keys_and_sections_are_errors_with_suggestions():
    text = VALID.replace("burst = 5", 'burst = 5\npasword = "oops"').replace("[feed]", "[feeds]")
    text = "usr_agent = 'x'\n" + text
    problems = problems_of(text)
    assert [(p.key, p.line) for p in problems] == [
        ("usr_agent", 1),
        ("vrchat.pasword", line_of(text, "pasword =")),
        ("feeds", line_of(text, "[feeds]")),
    ]
    assert problems[0].message.startswith("unknown key")
    assert "did you mean vrchat.user_agent?" in problems[0].message
    assert problems[1].message == "unknown key (did you mean password?)"
    assert problems[2].message == "unknown section (did you mean [feed]?)"


def test_section_of_the_wrong_shape():
    problems = problems_of('vrchat = "me"\n[discord]' + VALID.split("[discord]", 1)[1])
    assert [(p.key, p.line) for p in problems] == [("vrchat", 1)]
    assert problems[0].message.startswith("must be a table: write [vrchat] on a line of its own")
    problems = problems_of('groups = ["grp"]\n' + VALID.split("[[groups]]", 1)[0])
    assert [(p.key, p.line, p.message) for p in problems] == [("groups[0]", 1, "must be a table")]


def test_all_problems_are_reported_together_in_file_order(tmp_path):
    text = (
        VALID.replace("burst = 5", "burst = 0")
        .replace('level = "debug"', 'level = "loud"')
        .replace("poll_interval_seconds = 45", "poll_interval_seconds = 5")
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    lines = str(info.value).splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{path}:{line_of(text, 'burst =')}",
        f"{path}:{line_of(text, 'level =')}",
        f"{path}:{line_of(text, 'poll_interval_seconds =')}",
    ]
    assert lines[2] == (
        f"{path}:{line_of(text, 'poll_interval_seconds =')}: feed.poll_interval_seconds: must be at least "
        "30 seconds (the floor that keeps polling within VRChat's rate limits; only a simulator on a "
        "loopback vrchat.base_url may be polled faster)"
    )


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("http://127.0.0.1:8080/api/1", True),
        ("http://localhost:9000/api/1", True),
        ("http://[::1]:9000/api/1", True),
        ("https://api.vrchat.cloud/api/1", False),
        ("http://127.0.0.1.example.net/api/1", False),
    ],
)
def test_only_a_loopback_simulator_may_be_polled_faster_than_the_floor(base_url: str, allowed: bool):
    text = VALID.replace("poll_interval_seconds = 45", "poll_interval_seconds = 1").replace(
        "[vrchat]", f'[vrchat]\nbase_url = "{base_url}"', 1
    )
    if allowed:
        assert load_config_text(text, env={}).feed.poll_interval_seconds == 1
    else:
        assert [p.key for p in problems_of(text)] == ["feed.poll_interval_seconds"]


def test_the_poll_floor_also_holds_for_a_value_from_the_environment():
    with pytest.raises(ConfigError, match=r"feed\.poll_interval_seconds: must be at least 30"):
        load_config_text(VALID, env={"GROUPBRIDGE_FEED__POLL_INTERVAL_SECONDS": "5"})


def test_missing_table_reports_each_required_key_without_line():
    text = VALID.split("[discord]", 1)[1]
    problems = problems_of("[discord]" + text)
    assert {p.key: p.line for p in problems} == {
        "vrchat.username": None,
        "vrchat.user_agent": None,
    }
    assert all("[vrchat]" in p.message for p in problems)


# --- file-level problems -------------------------------------------------------------------------------


def test_toml_syntax_error_reports_its_line(tmp_path):
    text = VALID.replace("burst = 5", "burst = = 5")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (problem,) = info.value.problems
    assert problem.line == line_of(text, "burst =")
    assert problem.message.startswith("TOML syntax error: ")
    assert f"(at line {problem.line}, column" in problem.message
    assert str(info.value).startswith(f"{path}:{problem.line}: TOML syntax error")


def test_toml_error_at_end_of_document_points_at_last_line():
    (problem,) = problems_of("[vrchat]\nusername = ")
    assert problem.line == 2


def test_missing_file_suggests_copying_the_example(tmp_path):
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: config file not found")
    assert f"cp config.example.toml {path}" in message


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, env={})


def test_problem_and_error_formatting():
    assert Problem("a.b", "is wrong", 3).format("c.toml") == "c.toml:3: a.b: is wrong"
    assert Problem("a.b", "is wrong").format("c.toml") == "c.toml: a.b: is wrong"
    assert Problem("", "not found").format("c.toml") == "c.toml: not found"
    error = ConfigError([Problem("x", "one", 1), Problem("y", "two")], "c.toml")
    assert str(error) == "c.toml:1: x: one\nc.toml: y: two"


# --- secrets stay secret -------------------------------------------------------------------------------


def test_secrets_never_appear_in_repr_or_str():
    config = load_config_text(VALID, env={})
    for text in (repr(config), str(config), repr(config.vrchat), repr(config.discord), repr(config.database)):
        for secret in (PASSWORD, TOKEN, TOTP, DB_PASSWORD):
            assert secret not in text
    assert "postgresql+asyncpg://bridge:***@localhost/bridge" in repr(config.database)
    assert config.database.masked_url == "postgresql+asyncpg://bridge:***@localhost/bridge"
    assert isinstance(config.vrchat.password, SecretStr)


def test_secrets_never_appear_in_config_errors():
    # A broken file that still holds secrets, one of them misplaced under an unknown key and one
    # coming from the environment with a bad shape.
    text = VALID.replace("burst = 5", f'burst = 0\npasswrd = "{PASSWORD}"').replace(
        f'totp_secret = "{TOTP}"', 'totp_secret = "otp-secret-with-1-and-8"'
    )
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={"GROUPBRIDGE_DISCORD__TOKEN": "Bot " + TOKEN})
    rendered = str(info.value) + repr(info.value) + repr(info.value.problems)
    for secret in (PASSWORD, TOKEN, "otp-secret-with-1-and-8", DB_PASSWORD):
        assert secret not in rendered
    assert {p.key for p in info.value.problems} == {
        "vrchat.totp_secret",
        "vrchat.burst",
        "vrchat.passwrd",
        "discord.token",
    }
    # The pydantic error (which carries the input values) is not chained onto ours.
    assert info.value.__cause__ is None and info.value.__context__ is None


# --- notes (not problems) ------------------------------------------------------------------------------

NOTE_NO_RELOGIN = (
    "vrchat.password and vrchat.totp_secret are not both set, so the bot cannot log in again by itself "
    "when VRChat ends its session; it will stop calling VRChat and ask for `groupbridge login`."
)


def session_note(path: Path | str) -> str:
    return f"no saved VRChat session at {path} yet: run `groupbridge login` once before `groupbridge run`."


def with_session_file(text: str, path: Path) -> str:
    return text.replace("burst = 5", f'burst = 5\nsession_file = "{path.as_posix()}"')


def test_no_notes_with_password_totp_and_a_saved_session(tmp_path):
    session = tmp_path / "session.json"
    session.write_text("{}")
    assert config_notes(load_config_text(with_session_file(VALID, session), env={})) == []


def test_missing_session_file_is_a_note_naming_its_path(tmp_path):
    session = tmp_path / "state" / "session.json"
    config = load_config_text(with_session_file(VALID, session), env={})
    assert config_notes(config) == [session_note(session.as_posix())]


@pytest.mark.parametrize(
    "removed",
    [("password",), ("totp_secret",), ("password", "totp_secret")],
    ids=["no password", "no totp_secret", "neither"],
)
def test_without_password_and_totp_secret_the_bot_cannot_log_in_again_by_itself(removed, tmp_path):
    session = tmp_path / "session.json"
    session.write_text("{}")
    text = with_session_file(VALID, session)
    for key in removed:
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} ="))
    config = load_config_text(text, env={})  # not a problem: loads
    assert config_notes(config) == [NOTE_NO_RELOGIN]


def test_password_from_the_environment_counts_for_the_relogin_note(tmp_path):
    session = tmp_path / "session.json"
    session.write_text("{}")
    text = with_session_file(VALID.replace(f'password = "{PASSWORD}"\n', ""), session)
    config = load_config_text(text, env={"GROUPBRIDGE_VRCHAT__PASSWORD": PASSWORD})
    assert config_notes(config) == []


def test_relative_session_file_is_looked_up_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config_text(VALID, env={})  # the default session_file, relative
    assert config_notes(config) == [session_note("groupbridge-session.json")]
    (tmp_path / "groupbridge-session.json").write_text("{}")
    assert config_notes(config) == []


@pytest.mark.parametrize(
    ("edit", "env", "can_relogin"),
    [
        (lambda t: t, {}, True),
        (lambda t: t.replace(f'password = "{PASSWORD}"\n', ""), {}, False),
        (
            lambda t: t.replace(f'password = "{PASSWORD}"\n', ""),
            {"GROUPBRIDGE_VRCHAT__PASSWORD": PASSWORD},
            True,
        ),
        (lambda t: t.replace(f'totp_secret = "{TOTP}"', 'totp_secret = "  "'), {}, False),
        (lambda t: t.replace(f'password = "{PASSWORD}"', 'password = ""'), {}, False),
    ],
    ids=["complete", "no password", "password from env", "blank totp_secret", "empty password"],
)
@pytest.mark.parametrize("session_exists", [True, False], ids=["session", "no session"])
def test_config_error_carries_the_notes_of_what_could_be_read(
    edit, env, can_relogin, session_exists, tmp_path
):
    session = tmp_path / "session.json"
    if session_exists:
        session.write_text("{}")
    text = with_session_file(edit(VALID), session)
    expected = config_notes(load_config_text(text, env=env))
    assert len(expected) == (not can_relogin) + (not session_exists)
    broken = text.replace("burst = 5", "burst = 0")  # an unrelated problem
    with pytest.raises(ConfigError) as info:
        load_config_text(broken, env=env)
    assert [p.key for p in info.value.problems] == ["vrchat.burst"]
    assert info.value.notes == expected
    assert all(note not in str(info.value) for note in info.value.notes)  # notes are not problems


def test_config_error_notes_skip_what_cannot_be_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = VALID.replace(f'password = "{PASSWORD}"\n', "")
    with pytest.raises(ConfigError) as info:
        load_config_text(text.replace("burst = 5", 'session_file = ""'), env={})
    assert info.value.notes == [NOTE_NO_RELOGIN]  # an invalid session_file gives no session note
    with pytest.raises(ConfigError) as info:
        load_config_text(text.replace("burst = 5", "burst = 0"), env={})
    assert info.value.notes == [NOTE_NO_RELOGIN, session_note("groupbridge-session.json")]
    with pytest.raises(ConfigError) as info:
        load_config_text(text.replace("burst = 5", "burst = = 5"), env={})
    assert info.value.notes == []  # a syntax error: nothing could be read
    with pytest.raises(ConfigError) as info:
        load_config_text('vrchat = "not a table"\n', env={})
    assert info.value.notes == []


def test_group_ids_are_checked_with_the_vrchat_clients_pattern():
    from bot.config import checks
    from bot.vrchat import ids

    assert checks.GROUP_ID_RE is ids.GROUP_ID_RE
    for candidate in (GROUP_A, GROUP_A.upper(), "grp_123", f"{GROUP_A}x", "usr_" + GROUP_A[4:]):
        try:
            accepted_by_config = checks.check_group_id(candidate) == candidate
        except ValueError:
            accepted_by_config = False
        assert accepted_by_config == bool(ids.GROUP_ID_RE.match(candidate)), candidate


# --- the line scanner ----------------------------------------------------------------------------------


def test_key_lines_tracks_tables_arrays_dotted_keys_and_multiline_strings():
    text = textwrap.dedent(
        """\
        title = "x"
        vrchat.username = "a"

        [vrchat]
        "user_agent" = '''
        password = "not a key, inside a string"
        '''
        burst = 3

        [[bindings]]
        group_id = "a"
        guild_ids = [
          1,
          2,
        ]
        [[bindings]]
        # group_id = "commented"
        group_id = "b"
        """
    )
    lines = KeyLines(text)
    assert lines.exact(("title",)) == 1
    assert lines.exact(("vrchat", "username")) == 2
    assert lines.exact(("vrchat",)) == 2  # first mention (dotted key), before the header
    assert lines.exact(("vrchat", "user_agent")) == 5
    assert lines.exact(("vrchat", "password")) is None
    assert lines.exact(("vrchat", "burst")) == 8
    assert lines.exact(("bindings", 0)) == 10
    assert lines.exact(("bindings", 0, "group_id")) == 11
    assert lines.nearest(("bindings", 0, "guild_ids", 1)) == 12
    assert lines.exact(("bindings", 1, "group_id")) == 18
    assert lines.nearest(("bindings", 1, "events")) == 16
    assert lines.nearest(("nowhere", "x")) is None
