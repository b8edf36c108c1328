"""The saved VRChat session: the `auth` and `twoFactorAuth` cookies, kept in a 0600 JSON file.

Reusing these at start is what keeps the bot from logging in with the password on every restart,
which VRChat limits and punishes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass
class SavedSession:
    username: str
    cookies: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None
    saved_at: str | None = None
    # When a login last found these cookies still valid: rewriting the file with it is how
    # `groupbridge login` wakes a bot that stopped calling VRChat (it watches this file).
    confirmed_at: str | None = None


def load_session(path: Path, username: str) -> SavedSession | None:
    """The session saved for `username`, or None if there is none (or it belongs to someone else)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("Session file %s was readable by others (mode %o); tightening it to 0600.", path, mode)
        path.chmod(0o600)
    try:
        payload = json.loads(raw)
        if payload.get("version") != FORMAT_VERSION:
            raise ValueError("unknown version")
        cookies = {str(k): str(v) for k, v in payload["cookies"].items()}
        session = SavedSession(
            username=str(payload["username"]),
            cookies=cookies,
            user_id=payload.get("user_id"),
            saved_at=payload.get("saved_at"),
            confirmed_at=payload.get("confirmed_at"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("Ignoring unreadable session file %s; a new login will replace it.", path)
        return None
    if session.username.casefold() != username.casefold():
        log.info("Session file %s belongs to another account; ignoring it.", path)
        return None
    return session


def save_session(path: Path, session: SavedSession) -> None:
    """Write atomically with mode 0600 from the first byte (never world-readable, even briefly).
    A session saved before keeps its `saved_at`."""
    session.saved_at = session.saved_at or datetime.now(UTC).isoformat()
    payload = {
        "version": FORMAT_VERSION,
        "username": session.username,
        "user_id": session.user_id,
        "saved_at": session.saved_at,
        "cookies": session.cookies,
    }
    if session.confirmed_at:
        payload["confirmed_at"] = session.confirmed_at
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".session-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def delete_session(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
