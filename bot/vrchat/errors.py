"""Typed errors for the VRChat client.

The class is chosen by HTTP status (and, for a few calls, by a follow-up lookup), never by the text of
VRChat's message: VRChat's messages change and use look-alike punctuation ("you can't invite that user․").

An error met in the process holding an account crosses to the caller's process (bot.vrchat.remote) as
`to_encoded()`, its text and fields, and comes back as the same class by `from_encoded()`: a class
with fields of its own extends both. Messages and fields never hold a secret (a password, code,
cookie or token), so they may be written to the database and logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Self

from .text_safety import safe_str


class VRChatError(Exception):
    """Base class: `status` is the HTTP status (0 when no response arrived), `message` VRChat's text."""

    def __init__(self, message: str, *, status: int = 0, method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        prefix = f"VRChat answered {status}" if status else "VRChat request failed"
        super().__init__(f"{prefix}{where}: {message}")

    def to_encoded(self) -> dict[str, Any]:
        """This error as JSON: what another process needs to raise the same one (`from_encoded`)."""
        return {
            "status": self.status,
            "message": self.message,
            "method": self.method,
            "path": self.path,
            "text": str(self),
        }

    @classmethod
    def from_encoded(cls, encoded: Mapping[str, Any]) -> Self:
        """The error `to_encoded` gave, of this class. Built without __init__: the text is kept as it
        was, not worded again here (the other process may run another version)."""
        error = cls.__new__(cls)
        Exception.__init__(error, str(encoded.get("text") or encoded.get("message") or "VRChat call failed"))
        error.status = int(encoded.get("status") or 0)
        error.message = str(encoded.get("message") or "")
        error.method = str(encoded.get("method") or "")
        error.path = str(encoded.get("path") or "")
        return error


class BadRequest(VRChatError):
    """400: VRChat refused the request as it stands."""


class Unauthorized(VRChatError):
    """401: the session cookie is missing or no longer valid."""


class CallRefused(Unauthorized):
    """A 401 for one call while `GET /auth` says the session is still valid.

    VRChat answers 401 now and then for other reasons than an expired session; such a call failed,
    the session did not. The caller treats it like any failed call (the next poll tries again).
    """

    @classmethod
    def of(cls, refused: Unauthorized) -> CallRefused:
        return cls(
            f"{refused.message} (401, though the bot's VRChat session is still valid: "
            "only this call was refused)",
            status=refused.status,
            method=refused.method,
            path=refused.path,
        )


class Forbidden(VRChatError):
    """403: the bot account lacks the permission for this action."""


class NotFound(VRChatError):
    """404: the group, user, request or post does not exist (any more)."""


class RateLimited(VRChatError):
    """429 persisted past the client's patience; `retry_after` is VRChat's last hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def to_encoded(self) -> dict[str, Any]:
        return {**super().to_encoded(), "retry_after": self.retry_after}

    @classmethod
    def from_encoded(cls, encoded: Mapping[str, Any]) -> Self:
        error = super().from_encoded(encoded)
        retry_after = encoded.get("retry_after")
        error.retry_after = None if retry_after is None else float(retry_after)
        return error


class ServerError(VRChatError):
    """5xx that did not clear up within the retries allowed for this call."""


class MalformedResponse(VRChatError):
    """A success status with a body that is not the JSON the spec promises."""


class OutcomeUnknown(VRChatError):
    """A non-idempotent call timed out or met a gateway error: it may or may not have happened.

    It is deliberately not retried; the caller should look (for example list invites) before trying again.
    """


class AccountNotHeld(VRChatError):
    """This process may not call VRChat with this account now: another process holds it (bot.leases'
    `account:` lease), or nobody does. Nothing was sent. The text names the account, never a secret."""

    def __init__(self, message: str, *, account: str = "") -> None:
        super().__init__(message)
        self.account = account

    def __str__(self) -> str:  # no request was made, so not "VRChat request failed"
        return self.message

    def to_encoded(self) -> dict[str, Any]:
        return {**super().to_encoded(), "account": self.account}

    @classmethod
    def from_encoded(cls, encoded: Mapping[str, Any]) -> Self:
        error = super().from_encoded(encoded)
        error.account = str(encoded.get("account") or "")
        return error


class AlreadyMember(BadRequest):
    """invite_user: the user is already a member of the group."""


class AlreadyInvited(BadRequest):
    """invite_user: the user already has a pending invite."""


class CannotInvite(Forbidden):
    """invite_user: VRChat will not let the bot invite this user (privacy settings, blocks…)."""


class AuthError(VRChatError):
    """Base for login and session problems (no HTTP status of its own). Never carries the password,
    codes or cookies in its text, which is the message as given: no "VRChat answered" prefix."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.status, self.message, self.method, self.path = 0, message, "", ""


class LoginFailed(AuthError):
    """VRChat rejected the username/password or the 2FA code."""


class TwoFactorRequired(AuthError):
    """2FA is needed and nothing unattended can answer it (no TOTP secret, no prompt)."""

    def __init__(self, methods: list[str]) -> None:
        self.methods = methods
        super().__init__(
            "VRChat asks for two-factor authentication "
            f"({', '.join(methods) or 'unknown method'}); run `groupbridge login` to enter a code, "
            "or configure vrchat.totp_secret for unattended logins."
        )

    def to_encoded(self) -> dict[str, Any]:
        return {**super().to_encoded(), "methods": list(self.methods)}

    @classmethod
    def from_encoded(cls, encoded: Mapping[str, Any]) -> Self:
        error = super().from_encoded(encoded)
        error.methods = [str(method) for method in encoded.get("methods") or ()]
        return error


class SessionExpired(AuthError):
    """The saved session is gone and the bot may not log in by itself right now.

    The client stops calling VRChat until someone runs `groupbridge login` (or the re-login interval
    has passed, when unattended login is configured).
    """


_STATUS_CLASSES: dict[int, type[VRChatError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_message(body: bytes, content_type: str) -> str:
    """VRChat's message from an error body, tolerant of HTML pages and broken JSON."""
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            error = payload.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            if isinstance(message, str) and message:
                # VRChat sometimes JSON-quotes the message inside the message: "\"Missing Credentials\"".
                return safe_str(message.strip().strip('"') or message)
    kind = "HTML page" if "<html" in text[:500].lower() else "non-JSON body"
    return f"{kind} of {len(body)} bytes"


def error_for_status(status: int, message: str, *, method: str, path: str) -> VRChatError:
    cls = _STATUS_CLASSES.get(status) or (ServerError if status >= 500 else VRChatError)
    return cls(message, status=status, method=method, path=path)
