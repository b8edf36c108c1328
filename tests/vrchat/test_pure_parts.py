"""Parts of the client with no I/O: error decoding, Retry-After, profile validation, the session file."""

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.vrchat import errors
from bot.vrchat.auth import basic_auth_header
from bot.vrchat.profile import profile_update_body
from bot.vrchat.session_file import SavedSession, load_session, save_session
from bot.vrchat.transport import parse_retry_after


def test_error_message_from_envelope_strips_vrchat_quotes() -> None:
    body = json.dumps({"error": {"message": '"Missing Credentials"', "status_code": 401}}).encode()
    assert errors.error_message(body, "application/json") == "Missing Credentials"


def test_error_message_from_html_and_garbage() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    assert errors.error_message(html, "text/html") == f"HTML page of {len(html)} bytes"
    assert errors.error_message(b"{not json", "application/json") == "non-JSON body of 9 bytes"
    assert errors.error_message(b'{"error": "plain string"}', "application/json") == "plain string"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.Unauthorized),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (429, errors.RateLimited),
        (500, errors.ServerError),
        (418, errors.VRChatError),
    ],
)
def test_error_class_follows_status_not_text(status: int, cls: type) -> None:
    # The same (misleading) text for every status: only the status decides.
    err = errors.error_for_status(status, "User is already a member of this group", method="GET", path="/x")
    assert type(err) is cls
    assert err.status == status and "GET /x" in str(err)


@pytest.mark.parametrize(
    "error",
    [
        errors.SessionExpired("The VRChat session has expired; run `groupbridge login`."),
        errors.LoginFailed("VRChat rejected the username or password."),
        errors.TwoFactorRequired(["totp"]),
    ],
    ids=type,
)
def test_login_errors_are_vrchat_errors_that_keep_their_own_text(error: errors.AuthError) -> None:
    # One root: `except VRChatError` covers a lost session too, as every caller wants.
    with pytest.raises(errors.VRChatError) as caught:
        raise error
    assert caught.value.status == 0 and caught.value.message == str(error)
    assert not str(error).startswith(("VRChat request failed", "VRChat answered"))  # as HTTP errors do


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (parse_retry_after(later) or 0) <= 61
    assert parse_retry_after("-3") == 0.0


def test_basic_auth_url_encodes_before_base64() -> None:
    import base64

    header = basic_auth_header("bot@example.com", "p:ss wörd&")
    decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
    assert decoded == "bot%40example.com:p%3Ass%20w%C3%B6rd%26"


def test_profile_body_accepts_good_values() -> None:
    body = profile_update_body(
        status="join me",
        status_description="Moderating",
        bio="hi",
        bio_links=["https://x.org"],
        pronouns="they/them",
    )
    assert body == {
        "status": "join me",
        "statusDescription": "Moderating",
        "bio": "hi",
        "bioLinks": ["https://x.org"],
        "pronouns": "they/them",
    }


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"status": "online"}, "status must be one of"),
        ({"status_description": "x" * 33}, "status description"),
        ({"status_description": "two\nlines"}, "status description"),
        ({"bio": "x" * 513}, "bio is limited"),
        ({"bio_links": ["a", "b", "c", "d"]}, "at most 3"),
        ({"bio_links": ["javascript:alert(1)"]}, "not an http(s) URL"),
        ({"pronouns": "x" * 33}, "pronouns are limited to 32"),
        ({}, "nothing to change"),
    ],
)
def test_profile_body_rejects_bad_values(kwargs: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        profile_update_body(**kwargs)


def test_session_file_is_0600_and_round_trips(tmp_path) -> None:
    path = tmp_path / "sub" / "session.json"
    save_session(
        path, SavedSession(username="Bot", cookies={"auth": "a1", "twoFactorAuth": "t1"}, user_id="usr_x")
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_session(path, "bot")  # usernames compare case-insensitively
    assert (
        loaded is not None
        and loaded.cookies == {"auth": "a1", "twoFactorAuth": "t1"}
        and loaded.user_id == "usr_x"
    )
    assert load_session(path, "someone-else") is None
    assert [p.name for p in path.parent.iterdir()] == ["session.json"]  # no temp file left behind


def test_session_file_with_loose_mode_is_tightened(tmp_path) -> None:
    path = tmp_path / "session.json"
    save_session(path, SavedSession(username="bot", cookies={"auth": "a"}))
    os.chmod(path, 0o644)
    assert load_session(path, "bot") is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["", "{", '{"version": 99}', '{"version": 1, "username": "bot"}', "[]"])
def test_broken_session_file_is_ignored(tmp_path, content: str) -> None:
    path = tmp_path / "session.json"
    path.write_text(content)
    path.chmod(0o600)
    assert load_session(path, "bot") is None
