"""Logging setup, with secrets masked in everything the bot's handlers write.

``setup_logging`` installs a stderr handler (and optionally a file handler) on the root logger. Each
carries a ``RedactingFilter`` which replaces

* every value passed to ``register_secret`` (password, TOTP secret, tokens, session cookies, ...), and
* things that look like credentials whatever their value: ``Authorization: Basic/Bearer ...`` headers,
  ``auth=`` / ``twoFactorAuth=`` cookies, ``Cookie:`` / ``Set-Cookie:`` header values, Discord bot
  tokens, JWTs, ``password=...``-style pairs

with ``***`` in the message, its arguments, exception tracebacks and stack info.

This is the safety net, not the policy: code should still not log secrets in the first place (the
``secret_log_capture`` test fixture checks that, without this filter).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

REDACTED = "***"
#: Registered values shorter than this are ignored: masking "abc" everywhere would garble the log
#: while protecting nothing (VRChat passwords are at least 8 characters).
MIN_SECRET_LENGTH = 6

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# Loggers of libraries that are too chatty at DEBUG, with the lowest level they are allowed to use.
_LIBRARY_FLOORS = {
    "discord": logging.INFO,  # DEBUG dumps every gateway event
    "discord.http": logging.WARNING,  # DEBUG/INFO log every REST request
    "aiohttp": logging.WARNING,
    "asyncio": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,  # INFO echoes every SQL statement
    # DEBUG logs every call on a connection twice, from its worker thread; the last one comes after
    # close() has returned, so it can reach a handler whose stream its owner has already closed.
    "aiosqlite": logging.INFO,
    # INFO names each of alembic's plugins as it is imported: seven lines on every command, even
    # the dry run that opens no database. Its "Running upgrade ..." lines (alembic.runtime.migration)
    # stay: they say when the schema changed.
    "alembic.runtime.plugins": logging.WARNING,
}

_TOKENISH = r"[A-Za-z0-9._~+/=-]"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Basic xxx / Bearer xxx / Bot xxx (also as 'Authorization': '...' in a dict repr)
    (
        re.compile(
            r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)((?:basic|bearer|bot|digest|token)\s+)?[^\s\"',;}\]]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(rf"(?i)\b(bearer\s+){_TOKENISH}{{8,}}"), rf"\1{REDACTED}"),
    (re.compile(r"\b(Basic\s+)[A-Za-z0-9+/]{8,}={0,2}"), rf"\1{REDACTED}"),
    # Cookie: ... / Set-Cookie: ... header values, up to the end of the line or a closing quote.
    (re.compile(r"(?i)\b((?:set-)?cookie[\"']?\s*:\s*[\"']?)[^\r\n\"']+"), rf"\1{REDACTED}"),
    # VRChat session cookies and credential-looking key/value pairs: auth=..., "twoFactorAuth": "..."
    (
        re.compile(
            r"(?i)\b(auth|twoFactorAuth|authToken|password|passwd|totp_secret|secret|token)"
            r"((?:=|[\"']\s*:\s*)[\"']?)[^\s\"',;&}>]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"authcookie_[0-9A-Za-z-]{8,}"), REDACTED),
    # Discord bot tokens: base64(user id) . timestamp . HMAC
    (re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"), REDACTED),
    # JWTs (VRChat's twoFactorAuth cookie is one)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), REDACTED),
]

_lock = threading.Lock()
_secrets: set[str] = set()
_secrets_re: re.Pattern[str] | None = None

_OUR_HANDLER_FLAG = "_groupbridge_handler"


def register_secret(value: Any) -> None:
    """Mask ``value`` (a str or pydantic ``SecretStr``) in all log output from now on.

    Also masks its URL-encoded and JSON-escaped forms. None, empty and very short values are ignored.
    """
    if value is None:
        return
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
        return
    variants = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    global _secrets_re
    with _lock:
        if variants <= _secrets:
            return
        _secrets.update(variants)
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_re = re.compile("|".join(re.escape(s) for s in ordered))


def register_secrets(values: Iterable[Any]) -> None:
    for value in values:
        register_secret(value)


def clear_secrets() -> None:
    """Forget every registered secret (for tests)."""
    global _secrets_re
    with _lock:
        _secrets.clear()
        _secrets_re = None


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-looking patterns replaced by ``***``."""
    secrets_re = _secrets_re
    if secrets_re is not None:
        text = secrets_re.sub(REDACTED, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Handler filter that masks secrets in the record's message, arguments and exception text.

    The record is changed in place (Python 3.11 filters cannot substitute a copy): the message is
    formatted with its arguments once, redacted, and stored with ``args = None``; the traceback is
    formatted into ``exc_text``, which ``logging.Formatter`` uses instead of formatting it again.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a bad format string: let logging report it as usual
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def setup_logging(
    level: str = "INFO", file: str | os.PathLike[str] | None = None, *, stream: TextIO | None = None
) -> list[logging.Handler]:
    """Configure the root logger: one stderr (or ``stream``) handler, plus a file handler if ``file``.

    Both get a readable format and a ``RedactingFilter``. Calling it again replaces the handlers it
    installed before (other handlers, such as pytest's, are left alone). Returns the new handlers.
    Raises ``ValueError`` for an unknown level and ``OSError`` if the log file cannot be opened.
    """
    level_no = logging.getLevelName(level.upper())
    if not isinstance(level_no, int):
        raise ValueError(f"unknown log level {level!r}")
    reset_logging()

    handlers: list[logging.Handler] = [logging.StreamHandler(stream if stream is not None else sys.stderr)]
    if file is not None:
        path = Path(file)
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        handlers.append(logging.FileHandler(path, encoding="utf-8"))
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        setattr(handler, _OUR_HANDLER_FLAG, True)
        root.addHandler(handler)
    root.setLevel(level_no)
    for name, floor in _LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(level_no, floor))
    logging.captureWarnings(True)
    return handlers


def _create_private(path: Path) -> None:
    """Create the log file 0600 whatever the umask: a log names users, groups and channels. An
    existing file keeps the mode its owner gave it."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))


def reset_logging() -> None:
    """Remove and close the handlers ``setup_logging`` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OUR_HANDLER_FLAG, False):
            root.removeHandler(handler)
            handler.close()
