"""Secret-safe logging: real loggers at DEBUG, through the handlers setup_logging installs."""

from __future__ import annotations

import io
import logging

import aiosqlite
import pytest
from pydantic import SecretStr

from bot import logs
from bot.logs import REDACTED, RedactingFilter, redact, register_secret, setup_logging
from tests.fixtures.logs import capture_raw_logs

PASSWORD = "hunter2-but-longer"
TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DISCORD_TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
AUTH_COOKIE = "authcookie_0123abcd-4567-89ef-0123-456789abcdef"
TWO_FACTOR = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VySWQiOiJ1c3JfMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

log = logging.getLogger("bot.test_logs")


@pytest.fixture
def output():
    """setup_logging at DEBUG into a string buffer; everything is undone afterwards."""
    stream = io.StringIO()
    with capture_raw_logs():  # restores logger levels afterwards
        setup_logging("DEBUG", stream=stream)
        yield stream
        logs.reset_logging()
    logs.clear_secrets()


def test_registered_secrets_are_masked_in_message_and_args(output):
    register_secret(PASSWORD)
    register_secret(SecretStr(TOTP))
    log.debug("logging in with password %s and totp %r", PASSWORD, TOTP)
    log.info(f"inline {PASSWORD} in an f-string")
    log.debug("as a mapping: %(pw)s", {"pw": PASSWORD})
    text = output.getvalue()
    assert PASSWORD not in text and TOTP not in text
    assert f"logging in with password {REDACTED} and totp '{REDACTED}'" in text
    assert f"inline {REDACTED} in an f-string" in text
    assert f"as a mapping: {REDACTED}" in text
    assert "DEBUG   bot.test_logs: logging in" in text  # the readable format


def test_exception_text_is_masked(output):
    register_secret(PASSWORD)
    try:
        raise RuntimeError(f"VRChat rejected password {PASSWORD}")
    except RuntimeError:
        log.exception("login failed for %s", "ModBot")
    text = output.getvalue()
    assert PASSWORD not in text
    assert "login failed for ModBot" in text
    assert "Traceback (most recent call last):" in text
    assert f"RuntimeError: VRChat rejected password {REDACTED}" in text


def test_stack_info_and_exc_info_from_a_different_logger_are_masked(output):
    register_secret(DISCORD_TOKEN)
    other = logging.getLogger("some.library")
    try:
        raise ValueError(DISCORD_TOKEN)
    except ValueError as exc:
        other.error("failed", exc_info=exc, stack_info=True)
    text = output.getvalue()
    assert DISCORD_TOKEN not in text
    assert "Stack (most recent call last):" in text


def test_url_encoded_and_json_escaped_forms_are_masked(output):
    secret = 'pa ss/wo"rd&x'
    register_secret(secret)
    log.debug("GET /auth/user?password=%s", "pa%20ss%2Fwo%22rd%26x")
    log.debug('payload {"password": "pa ss/wo\\"rd&x"}')
    text = output.getvalue()
    assert "pa%20ss%2Fwo%22rd%26x" not in text
    assert 'wo\\"rd' not in text and "pa ss" not in text


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("Authorization: Basic dXNlcjpodW50ZXIyLWxvbmc=", "dXNlcjpodW50ZXIyLWxvbmc="),
        ("headers={'Authorization': 'Bearer abc.def-ghi_jkl'}", "abc.def-ghi_jkl"),
        ("authorization=Bot some-opaque-token-123", "some-opaque-token-123"),
        ("sending Bearer sk_live_abcdef123456", "sk_live_abcdef123456"),
        (f"Cookie: auth={AUTH_COOKIE}; twoFactorAuth={TWO_FACTOR}", AUTH_COOKIE),
        (f"Cookie: auth={AUTH_COOKIE}; twoFactorAuth={TWO_FACTOR}", TWO_FACTOR),
        (
            "response headers: {'Set-Cookie': 'auth=opaque-cookie-value; Path=/; HttpOnly'}",
            "opaque-cookie",
        ),
        ("set-cookie: twoFactorAuth=zzzzzzzzzzzz; Max-Age=2592000", "zzzzzzzzzzzz"),
        ("cookie jar now has auth=plain-cookie-value-9 for api.vrchat.cloud", "plain-cookie-value-9"),
        ("cookie twoFactorAuth=abcdefabcdef saved", "abcdefabcdef"),
        ('json: {"auth": "quoted-cookie-value-7"}', "quoted-cookie-value-7"),
        (f"session cookies {AUTH_COOKIE}", AUTH_COOKIE),
        (f"bare 2fa cookie {TWO_FACTOR}", TWO_FACTOR),
        (f"discord client started with {DISCORD_TOKEN}", DISCORD_TOKEN),
        ("config password=s3cr3t-pass totp_secret=ABCDEFGHIJKL", "s3cr3t-pass"),
        ("config password=s3cr3t-pass totp_secret=ABCDEFGHIJKL", "ABCDEFGHIJKL"),
    ],
)
def test_credential_patterns_are_masked_without_registration(output, line, leak):
    log.debug(line)
    log.debug("in args: %s", line)
    text = output.getvalue()
    assert leak not in text
    assert text.count(REDACTED) >= 2


def test_ordinary_messages_are_untouched(output):
    messages = [
        "Polled grp_0a1b2c3d-4e5f-6789-abcd-ef0123456789: 3 new audit entries",
        "Authorization header missing, logging in again",
        "auth failed: HTTP 401, retrying in 30s",
        "Basic setup complete",
        "rate limited: waiting 12.5 seconds (bucket api.vrchat.cloud)",
    ]
    for message in messages:
        log.info(message)
    assert output.getvalue().count("\n") == len(messages)
    for message in messages:
        assert message in output.getvalue()


def test_short_and_empty_values_are_not_registered(output):
    for value in ("", "abc", "12345", None, SecretStr("")):
        register_secret(value)
    log.info("abc 12345 stay readable")
    assert "abc 12345 stay readable" in output.getvalue()


def test_longest_secret_wins_when_secrets_overlap():
    register_secret("overlapping")
    register_secret("overlapping-secret-value")
    try:
        assert redact("x overlapping-secret-value y") == f"x {REDACTED} y"
        assert redact("x overlapping y") == f"x {REDACTED} y"
    finally:
        logs.clear_secrets()


def test_every_handler_setup_logging_creates_redacts_including_the_file(tmp_path):
    log_file = tmp_path / "nested" / "groupbridge.log"
    stream = io.StringIO()
    register_secret(PASSWORD)
    with capture_raw_logs() as raw:
        handlers = setup_logging("info", log_file, stream=stream)
        try:
            assert len(handlers) == 2
            assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in handlers)
            log.warning("password is %s", PASSWORD)
            log.debug("not shown at INFO")
        finally:
            logs.reset_logging()
            logs.clear_secrets()
    written = log_file.read_text()
    assert f"password is {REDACTED}" in written
    assert f"password is {REDACTED}" in stream.getvalue()
    assert "not shown at INFO" not in written + stream.getvalue()
    # The raw capture saw the unredacted record first: it checks the code, not the filter.
    assert f"password is {PASSWORD}" in raw.text()


def test_setup_logging_replaces_its_own_handlers_and_keeps_others(output):
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        setup_logging("DEBUG", stream=output)
        setup_logging("DEBUG", stream=output)
        ours = [h for h in root.handlers if any(isinstance(f, RedactingFilter) for f in h.filters)]
        assert len(ours) == 1
        assert foreign in root.handlers
        log.info("once")
        assert output.getvalue().count("once") == 1
    finally:
        root.removeHandler(foreign)


def test_library_loggers_are_kept_quiet_at_debug(output):
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("discord").level == logging.INFO
    assert logging.getLogger("discord.http").level == logging.WARNING
    assert logging.getLogger("aiohttp").level == logging.WARNING
    logging.getLogger("discord.gateway").debug("gateway payload")
    logging.getLogger("discord.gateway").info("shard connected")
    assert "gateway payload" not in output.getvalue()
    assert "shard connected" in output.getvalue()


async def test_aiosqlite_says_nothing_at_debug_about_each_call_on_a_connection(output):
    async with aiosqlite.connect(":memory:") as connection:
        await connection.execute("select 1")

    assert "aiosqlite" not in output.getvalue()


def test_library_levels_follow_a_stricter_root_level():
    with capture_raw_logs():
        setup_logging("ERROR", stream=io.StringIO())
        try:
            assert logging.getLogger("discord").level == logging.ERROR
        finally:
            logs.reset_logging()


def test_unknown_level_is_rejected():
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("LOUD")


def test_bad_format_arguments_do_not_break_the_filter():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d apples", ("many",), None)
    assert RedactingFilter().filter(record) is True
    assert record.msg == "%d apples"


# --- the secret_log_capture fixture itself -------------------------------------------------------------


def test_secret_log_capture_sees_raw_debug_output_and_tracebacks(secret_log_capture):
    log.debug("debug line with %s", "args")
    try:
        raise KeyError("boom")
    except KeyError:
        log.exception("it broke")
    text = secret_log_capture.text()
    assert "DEBUG bot.test_logs: debug line with args" in text
    assert "Traceback (most recent call last):" in text and "KeyError: 'boom'" in text
    assert [r.getMessage() for r in secret_log_capture.records] == ["debug line with args", "it broke"]
    secret_log_capture.assert_absent("never-logged-value")
    with pytest.raises(pytest.fail.Exception, match=r"secret #1 \(4 characters\)"):
        secret_log_capture.assert_absent("zzzzzz", "boom")


def test_capture_restores_levels_and_handlers():
    root = logging.getLogger()
    library = logging.getLogger("discord")
    original = root.level
    root.setLevel(logging.WARNING)
    library.setLevel(logging.NOTSET)
    before = list(root.handlers)
    try:
        with capture_raw_logs() as capture:
            assert root.level == logging.DEBUG
            assert root.handlers[0] is capture.handler
            setup_logging("INFO", stream=io.StringIO())  # changes library levels too
            logs.reset_logging()
        assert root.level == logging.WARNING
        assert library.level == logging.NOTSET
        assert root.handlers == before
    finally:
        root.setLevel(original)
