"""The groupbridge command line: check-config output and exit codes, and every other command
refusing to start on a bad configuration before the application is imported."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from bot import logs
from bot.cli import main
from tests.test_config import (
    DB_PASSWORD,
    EXAMPLE,
    NOTE_NO_RELOGIN,
    PASSWORD,
    TOKEN,
    TOTP,
    VALID,
    session_note,
    with_session_file,
)

APP_COMMANDS = [
    (["run"], "run_bot"),
    (["login"], "login_interactive"),
    (["db", "upgrade"], "db_upgrade"),
    (["sync"], "sync_commands"),
]
SECRETS = (PASSWORD, TOKEN, TOTP, DB_PASSWORD)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No GROUPBRIDGE_* variables from the developer's shell; logging and secrets reset afterwards."""
    for name in list(os.environ):
        if name.startswith("GROUPBRIDGE_"):
            monkeypatch.delenv(name)
    yield
    logs.reset_logging()
    logs.clear_secrets()


@pytest.fixture
def no_app(monkeypatch):
    """Make any import of bot.app fail loudly, to prove a command never got that far."""
    monkeypatch.setitem(sys.modules, "bot.app", None)


@pytest.fixture
def fake_app(monkeypatch):
    """A stand-in bot.app recording calls (nothing is written to disk)."""
    app = types.ModuleType("bot.app")
    app.calls = []

    def record(name, result=None):
        def function(config, **options):
            app.calls.append((name, config))
            app.options = options
            logging.getLogger("bot.app").info("started %s with password %s", name, PASSWORD)
            return result

        return function

    async def run_bot(config):
        app.calls.append(("run_bot", config))
        return 0

    app.run_bot = run_bot
    app.login_interactive = record("login_interactive")
    app.db_upgrade = record("db_upgrade", result=3)
    app.sync_commands = record("sync_commands")
    monkeypatch.setitem(sys.modules, "bot.app", app)
    return app


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_no_secrets(*outputs: str) -> None:
    for output in outputs:
        for secret in SECRETS:
            assert secret not in output


# --- check-config --------------------------------------------------------------------------------------


def test_check_config_ok_prints_summary_without_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the (relative, default) session file is looked for
    text = VALID.replace(f'password = "{PASSWORD}"\n', "")
    monkeypatch.setenv("GROUPBRIDGE_VRCHAT__PASSWORD", PASSWORD)
    path = write(tmp_path, text)

    assert main(["check-config", str(path)]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"OK: {path} is valid (2 groups, 2 bindings)"
    assert "grp_0a1b2c3d-4e5f-6789-abcd-ef0123456789 (Group A)" in out
    assert "database: postgresql+asyncpg://bridge:***@localhost/bridge" in out
    assert (
        "secrets: vrchat.password from environment (GROUPBRIDGE_VRCHAT__PASSWORD); "
        "vrchat.totp_secret from config file; discord.token from config file"
    ) in out
    # The only note: password and TOTP secret are both there, but no session has been saved yet.
    assert [line for line in lines if line.startswith("note:")] == [lines[-1]]
    assert lines[-1] == f"note: {session_note('groupbridge-session.json')}"
    assert_no_secrets(out, err)


def test_check_config_lists_other_environment_keys(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GROUPBRIDGE_FEED__POLL_INTERVAL_SECONDS", "300")
    assert main(["check-config", str(write(tmp_path, VALID))]) == 0
    out = capsys.readouterr().out
    assert "also from the environment: feed.poll_interval_seconds" in out
    assert "poll every 300s" in out


def test_check_config_on_the_example_reports_the_placeholders(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["check-config", str(EXAMPLE)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    text = EXAMPLE.read_text()
    where = {
        key: next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(f"{key} ="))
        for key in ("username", "user_agent", "token", "id")
    }
    assert lines[:3] == [
        f"{EXAMPLE}:{where['username']}: vrchat.username: is empty: fill it in, or set the environment "
        "variable GROUPBRIDGE_VRCHAT__USERNAME",
        lines[1],
        f"{EXAMPLE}:{where['token']}: discord.token: is empty: fill it in, or set the environment "
        "variable GROUPBRIDGE_DISCORD__TOKEN",
    ]
    assert lines[1].startswith(f"{EXAMPLE}:{where['user_agent']}: vrchat.user_agent: must include contact")
    # The example's group is a placeholder too, refused like the User-Agent.
    assert lines[3].startswith(f"{EXAMPLE}:{where['id']}: groups[0].id: is the example's placeholder: ")
    # The empty password is no problem, only a note; the notes follow the problems.
    assert lines[4:6] == [f"note: {NOTE_NO_RELOGIN}", f"note: {session_note('groupbridge-session.json')}"]
    assert lines[6:] == [f"groupbridge: {EXAMPLE} has 4 problems; nothing was started."]


def test_check_config_notes_do_not_change_the_exit_status(tmp_path, capsys):
    session = tmp_path / "session.json"
    session.write_text("{}")
    complete = with_session_file(VALID, session)
    assert main(["check-config", str(write(tmp_path, complete))]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: ") and "note:" not in out and err == ""

    path = write(tmp_path, complete.replace(f'password = "{PASSWORD}"\n', ""))
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"OK: {path} is valid")
    assert out.splitlines()[-1] == f"note: {NOTE_NO_RELOGIN}"
    assert out.count("note:") == 1 and err == ""


def test_check_config_defaults_to_config_toml(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("config.toml: config file not found")
    assert "cp config.example.toml config.toml" in err

    write(tmp_path, VALID)
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith("OK: config.toml is valid")


def test_check_config_syntax_error_exit_2_with_line(tmp_path, capsys):
    path = write(tmp_path, VALID.replace('level = "debug"', "level = debug"))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    line = VALID.splitlines().index('level = "debug"') + 1
    assert err.startswith(f"{path}:{line}: TOML syntax error:")


def test_check_config_never_prints_secrets_on_failure(tmp_path, capsys, monkeypatch):
    # Secrets present in the file and the environment, plus unrelated mistakes.
    monkeypatch.setenv("GROUPBRIDGE_DISCORD__TOKEN", "Bot " + TOKEN)
    text = VALID.replace("burst = 5", f'burst = 0\npassword_again = "{PASSWORD}"')
    assert main(["check-config", str(write(tmp_path, text))]) == 2
    out, err = capsys.readouterr()
    assert "vrchat.password_again: unknown key" in err
    assert "GROUPBRIDGE_DISCORD__TOKEN" in err
    assert_no_secrets(out, err)


# --- the other commands refuse a bad config ------------------------------------------------------------


@pytest.mark.parametrize(("argv", "function"), APP_COMMANDS, ids=[" ".join(a) for a, _ in APP_COMMANDS])
def test_app_commands_refuse_a_bad_config_before_importing_the_app(argv, function, tmp_path, capsys, no_app):
    path = write(tmp_path, VALID.replace("poll_interval_seconds = 45", "poll_interval_seconds = 10"))
    assert main([*argv, "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "feed.poll_interval_seconds: must be at least 30 seconds" in err
    assert "nothing was started" in err
    assert sys.modules["bot.app"] is None  # still the blocker: no import was attempted


@pytest.mark.parametrize(("argv", "function"), APP_COMMANDS, ids=[" ".join(a) for a, _ in APP_COMMANDS])
def test_app_commands_refuse_a_missing_config(argv, function, tmp_path, capsys, monkeypatch, no_app):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert "config.toml: config file not found" in capsys.readouterr().err


def test_app_commands_refuse_the_example_config(capsys, no_app):
    assert main(["run", "-c", str(EXAMPLE)]) == 2
    assert "vrchat.user_agent: must include contact info" in capsys.readouterr().err


def test_check_config_works_and_commands_explain_when_the_application_cannot_be_imported(
    tmp_path, capsys, monkeypatch
):
    # The CLI imports what a command runs only when it runs it (plain deferred imports, no cycle).
    for name in ("bot.app", "bot.bot", "bot.dryrun"):
        monkeypatch.setitem(sys.modules, name, None)
    path = str(write(tmp_path, VALID))
    assert main(["check-config", path]) == 0
    assert capsys.readouterr().out.startswith(f"OK: {path} is valid")
    assert main(["run", "-c", path]) == 1
    assert "groupbridge: the application module bot.app is not installed" in capsys.readouterr().err
    assert main(["run", "--dry-run", "-c", path]) == 1
    assert "groupbridge: the application module bot.dryrun is not installed" in capsys.readouterr().err


# --- and call the app with a good one ------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "function"), APP_COMMANDS, ids=[" ".join(a) for a, _ in APP_COMMANDS])
def test_app_commands_call_the_app_with_the_loaded_config(argv, function, tmp_path, fake_app):
    path = write(tmp_path, VALID)
    code = main([*argv, "--config", str(path)])
    assert [name for name, _ in fake_app.calls] == [function]
    config = fake_app.calls[0][1]
    assert config.path == path
    assert config.vrchat.username == "ModBot"
    assert code == (3 if function == "db_upgrade" else 0)  # an int result becomes the exit status


def test_app_command_logs_are_redacted_with_config_secrets(tmp_path, fake_app, secret_log_capture):
    log_file = tmp_path / "logs" / "bot.log"
    text = VALID.replace('level = "debug"', f'level = "debug"\nfile = "{log_file}"')
    assert main(["login", "-c", str(write(tmp_path, text))]) == 0
    written = log_file.read_text()
    assert "started login_interactive with password ***" in written
    assert_no_secrets(written)
    # The raw capture proves the fake app really logged the password, i.e. the filter did the work.
    assert PASSWORD in secret_log_capture.text()


def test_login_and_db_upgrade_do_not_need_credentials_but_run_and_sync_do(tmp_path, capsys, fake_app):
    text = VALID.replace('username = "ModBot"\n', "").replace(f'password = "{PASSWORD}"\n', "")
    text = text.replace(f'token = "{TOKEN}"\n', "")
    path = str(write(tmp_path, text))

    assert main(["login", "-c", path]) == 0
    assert main(["db", "upgrade", "-c", path]) == 3
    assert [name for name, _ in fake_app.calls] == ["login_interactive", "db_upgrade"]
    assert fake_app.calls[0][1].vrchat.password is None

    capsys.readouterr()
    assert main(["sync", "-c", path]) == 2
    err = capsys.readouterr().err
    assert "discord.token: is required" in err and "vrchat." not in err
    assert main(["run", "-c", path]) == 2
    err = capsys.readouterr().err
    assert "vrchat.username: is required" in err and "discord.token: is required" in err
    assert "vrchat.password" not in err  # neither a problem nor (outside check-config) a note
    assert len(fake_app.calls) == 2  # neither sync nor run reached the app


def test_run_without_password_starts_and_logs_the_notes(tmp_path, fake_app, secret_log_capture):
    session = tmp_path / "missing-session.json"
    text = with_session_file(VALID.replace(f'password = "{PASSWORD}"\n', ""), session)
    path = str(write(tmp_path, text))

    assert main(["run", "-c", path]) == 0
    assert [name for name, _ in fake_app.calls] == ["run_bot"]
    logged = [r.getMessage() for r in secret_log_capture.records if r.name == "bot.cli"]
    assert logged == [f"Note: {NOTE_NO_RELOGIN}", f"Note: {session_note(session.as_posix())}"]

    before = len(secret_log_capture.records)
    assert main(["login", "-c", path]) == 0  # the notes are for run (and check-config) only
    assert not [r for r in secret_log_capture.records[before:] if r.name == "bot.cli"]


# --- usage ---------------------------------------------------------------------------------------------


def test_usage_errors(capsys):
    assert main([]) == 2
    assert "usage: groupbridge" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["db"]) == 2
    assert "upgrade" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "check-config" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("groupbridge ")


def python_m_bot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot args` in its own process from `cwd`, without the caller's GROUPBRIDGE_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUPBRIDGE_")}
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.mark.slow  # `python -m bot` as a real process
def test_python_dash_m_bot(tmp_path):
    result = python_m_bot(tmp_path, "check-config", str(EXAMPLE))
    assert result.returncode == 2
    assert "vrchat.user_agent: must include contact info" in result.stderr


def test_login_fresh_flag_reaches_the_app(tmp_path: Path, fake_app) -> None:
    path = write(tmp_path, VALID)
    assert main(["login", "--config", str(path), "--fresh"]) == 0
    assert fake_app.calls[-1][0] == "login_interactive" and fake_app.options == {"fresh": True}
    assert main(["login", "--config", str(path)]) == 0
    assert fake_app.options == {"fresh": False}


def test_db_upgrade_creates_the_schema_in_a_real_sqlite_file(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "bot.db"
    text = VALID.replace(
        f"postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge", f"sqlite+aiosqlite:///{db}"
    )
    path = write(tmp_path, text)
    assert main(["db", "upgrade", "-c", str(path)]) == 0
    with contextlib.closing(sqlite3.connect(db)) as conn:  # `with connect()` alone never closes it
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"audit_entries", "group_cursors", "bindings", "outbox", "action_log", "alembic_version"} <= tables
    assert main(["db", "upgrade", "-c", str(path)]) == 0  # idempotent


# --- help: what each command is for, and the order of a first run ----------------------------------------

SUBCOMMANDS = [
    ["check-config"],
    ["run"],
    ["login"],
    ["group-id"],
    ["sync"],
    ["db"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["db", "copy"],
]


def help_text(capsys, *argv: str) -> str:
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_top_level_help_gives_the_first_run_steps_in_order(capsys):
    out = help_text(capsys)
    assert "VRChat group moderation from Discord" in out
    steps = [
        "cp config.example.toml config.toml",
        "groupbridge check-config",
        "groupbridge login",
        "groupbridge group-id",
        "groupbridge run --dry-run",
        "groupbridge sync",
        "groupbridge run  ",
        "/bridge link",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), positions
    assert "GROUPBRIDGE_<SECTION>__<KEY>" in out


@pytest.mark.parametrize("argv", SUBCOMMANDS, ids=[" ".join(a) for a in SUBCOMMANDS])
def test_each_subcommand_help_has_a_description(argv, capsys):
    out = help_text(capsys, *argv)
    usage, _, rest = out.partition("\n\n")
    description = rest.split("\n\n")[0]
    assert usage.startswith(f"usage: groupbridge {' '.join(argv)}")
    # A sentence of its own between the usage line and the argument lists.
    assert not description.startswith(("options:", "positional arguments:")), out
    assert len(description.split()) >= 8, description


def test_login_help_explains_two_factor_and_session_reuse(capsys):
    out = " ".join(help_text(capsys, "login").split())
    for words in (
        "vrchat.totp_secret",
        "authenticator app",
        "recovery codes",
        "e-mail",
        "you choose which",
        "vrchat.session_file (mode 0600)",
        "still valid is kept",
        "--fresh logs in with the password again",
    ):
        assert words in out, words


def test_check_config_takes_the_path_as_dash_c_too(tmp_path, capsys):
    path = write(tmp_path, VALID)
    for argv in (["check-config", "-c", str(path)], ["check-config", "--config", str(path)]):
        assert main(argv) == 0
        assert capsys.readouterr().out.startswith(f"OK: {path} is valid")
    assert main(["check-config", str(path)]) == 0  # as before
    capsys.readouterr()
    assert main(["check-config", "-c", str(path), str(tmp_path / "other.toml")]) == 2
    assert "give the config file once" in capsys.readouterr().err


def test_summary_says_what_registers_the_commands(tmp_path, capsys):
    assert main(["check-config", str(write(tmp_path, VALID))]) == 0
    out = capsys.readouterr().out
    assert (
        "slash commands: registered in servers 111111111111111111, 222222222222222222 at every start of "
        "`groupbridge run`"
    ) in out

    no_guilds = VALID.replace("guild_ids = [111111111111111111, 222222222222222222]\n", "")
    assert main(["check-config", str(write(tmp_path, no_guilds))]) == 0
    out = capsys.readouterr().out
    assert "globally" not in out.replace("register them globally", "")  # never "synced globally"
    assert "no discord.guild_ids, so `groupbridge run` registers none; run `groupbridge sync` once" in out

    manual = VALID.replace("[discord]\n", "[discord]\nsync_commands_on_start = false\n")
    assert main(["check-config", str(write(tmp_path, manual))]) == 0
    assert "`groupbridge run` does not register them" in capsys.readouterr().out


def sqlite_config(tmp_path: Path, database: Path) -> Path:
    return write(
        tmp_path,
        VALID.replace(
            f"postgresql+asyncpg://bridge:{DB_PASSWORD}@localhost/bridge", f"sqlite+aiosqlite:///{database}"
        ),
    )


@pytest.mark.slow  # `groupbridge db upgrade` as a real process
def test_db_upgrade_logs_the_migrations_but_not_alembics_plugins(tmp_path: Path) -> None:
    """Alembic names each of its seven plugins at INFO when it is imported; every command printed
    them, even the dry run that opens no database. What a migration did is still logged."""
    path = sqlite_config(tmp_path, tmp_path / "bot.db")
    result = python_m_bot(tmp_path, "db", "upgrade", "-c", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Database is at the newest schema.\n"
    assert "alembic.runtime.plugins" not in result.stderr
    assert "INFO    alembic.runtime.migration: Running upgrade  -> 0001" in result.stderr
