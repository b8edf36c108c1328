"""Logging the bot's VRChat account in, and keeping it logged in without hammering VRChat.

Order of preference at start: the saved cookies (one `GET /auth` to check them), then — only if they are
gone — the password, with 2FA answered by the TOTP secret or by a person at `groupbridge login`
(bot.vrchat.two_factor). Mid-run, a 401 is first checked with one `GET /auth` (VRChat answers 401
now and then for other reasons): a valid session means only that call was refused. A session VRChat
really ended leads to at most one re-login per interval, and only when no person is needed;
otherwise the account blocks (no VRChat calls) until `groupbridge login` saves or confirms a session
in the session file.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

import pyotp

from .errors import (
    CallRefused,
    LoginFailed,
    SessionExpired,
    Unauthorized,
    VRChatError,
)
from .models import CurrentUser, parse_one
from .session_file import SavedSession, load_session, save_session
from .transport import Transport
from .two_factor import TwoFactorPrompt, answer_second_factor

log = logging.getLogger(__name__)

# At most one `GET /auth` per this many seconds to tell a refused call from a lost session, so a call
# VRChat keeps refusing cannot turn into a stream of session checks.
SESSION_CHECK_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class SessionState:
    """What is known about the account's session, for the session alert and /bridge status."""

    blocked: bool
    lost_at: datetime | None = None  # when the current (or, once back, the last) block began
    reason: str | None = None  # why it blocked
    back_at: datetime | None = None  # when the last block ended
    back_by: str | None = None  # what ended it, in words


def basic_auth_header(username: str, password: str) -> str:
    """VRChat's Basic auth: each part URL-encoded *before* base64 (see the spec's /auth/user)."""
    raw = f"{quote(username, safe='')}:{quote(password, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


class SessionManager:
    def __init__(
        self,
        transport: Transport,
        session_path: Path,
        *,
        username: str | None,
        password: str | None,
        totp_secret: str | None,
        relogin_interval: float,
    ) -> None:
        self._transport = transport
        self._path = session_path
        self._username = username
        self._password = password
        self._totp = pyotp.TOTP(totp_secret.replace(" ", "").upper()) if totp_secret else None
        self._relogin_interval = relogin_interval
        self._lock = asyncio.Lock()
        self._last_relogin: float | None = None
        self.generation = 0  # bumped on every new session, so concurrent 401s re-login once
        self.blocked = False
        self._blocked_file: tuple[int, int, int] | None = None  # the session file as it was when we blocked
        # The last `GET /auth` after a refused call: (generation, when, verdict); verdict None = no answer.
        self._last_check: tuple[int, float, bool | None] | None = None
        self._state = SessionState(blocked=False)
        self.user_id: str | None = None
        self.password_logins = 0

    def __repr__(self) -> str:  # never show credentials
        return f"<SessionManager user={self._username!r} user_id={self.user_id!r} blocked={self.blocked}>"

    @property
    def can_login_unattended(self) -> bool:
        return bool(self._username and self._password and self._totp)

    def _missing(self, *, totp: bool) -> str:
        """What is not configured, in words: "no password", "no password and no TOTP secret", ..."""
        names = [
            name for name, value in (("username", self._username), ("password", self._password)) if not value
        ]
        if totp and self._totp is None:
            names.append("TOTP secret")
        return " and ".join(f"no {name}" for name in names)

    @property
    def state(self) -> SessionState:
        return self._state

    async def login(self, prompt: TwoFactorPrompt | None = None, *, force: bool = False) -> str:
        """Make the session usable; returns the account's user ID.

        A saved session found still valid is saved again with a confirmation stamp: a bot that
        blocked on it (watching the file) wakes up and checks it, so `groupbridge login` helps even
        when there was nothing to log in again."""
        async with self._lock:
            if not force and await self._restore():
                self._confirm_saved_session()
                self._unblock("a login")
                return self.user_id or ""
            await self._password_login(prompt)
            self._unblock("a new login")
            return self.user_id or ""

    def adopt_saved_identity(self) -> str | None:
        """The user ID in the session file, when not known yet; no request (see VRChatClient)."""
        if self.user_id is None and self._username:
            saved = load_session(self._path, self._username)
            self.user_id = saved.user_id if saved is not None else None
        return self.user_id

    def _confirm_saved_session(self) -> None:
        saved = load_session(self._path, self._username or "")
        if saved is None or saved.cookies.get("auth") != self._transport.cookies.get("auth"):
            return  # replaced meanwhile (a re-login elsewhere): that newer file is the signal
        try:
            save_session(
                self._path,
                self._session_record(saved_at=saved.saved_at, confirmed_at=datetime.now(UTC).isoformat()),
            )
        except OSError as exc:  # the session works; only the wake-up signal is lost
            log.warning("Could not stamp the session file %s as confirmed: %s", self._path, exc.strerror)

    async def _restore(self) -> bool:
        if not self._username:
            return False
        saved = load_session(self._path, self._username)
        if saved is None or "auth" not in saved.cookies:
            return False
        self._transport.cookies = dict(saved.cookies)
        try:
            response = await self._transport.request("GET", "/auth")
        except Unauthorized:
            log.info("The saved VRChat session has expired; a new login is needed.")
            # Keep twoFactorAuth: VRChat lets it skip 2FA on the next password login from this device.
            self._transport.cookies.pop("auth", None)
            return False
        if not (isinstance(response.data, dict) and response.data.get("ok")):
            self._transport.cookies.pop("auth", None)
            return False
        self.user_id = saved.user_id or await self._fetch_user_id()
        self._new_session(save=saved.user_id is None)
        log.info("Reusing the saved VRChat session of %s.", self._username)
        return True

    async def _fetch_user_id(self) -> str:
        response = await self._transport.request("GET", "/auth/user")
        return parse_one(CurrentUser, response.data, "current user").id

    async def _password_login(self, prompt: TwoFactorPrompt | None) -> None:
        if not (self._username and self._password):
            raise SessionExpired(
                f"No valid VRChat session, and {self._missing(totp=False)} configured to log in "
                "with; run `groupbridge login`."
            )
        self._transport.cookies.pop("auth", None)
        self.password_logins += 1
        log.info("Logging in to VRChat as %s with the password.", self._username)
        try:
            response = await self._transport.request(
                "GET",
                "/auth/user",
                headers={"Authorization": basic_auth_header(self._username, self._password)},
                retry_rate_limited=False,  # a 429 here ends this attempt; the next waits an interval
            )
        except Unauthorized:
            raise LoginFailed("VRChat rejected the username or password.") from None
        data = response.data if isinstance(response.data, dict) else {}
        methods = data.get("requiresTwoFactorAuth")
        if methods is not None:
            await answer_second_factor(self._transport, [str(m) for m in methods], prompt, self._totp)
            response = await self._transport.request("GET", "/auth/user")
            data = response.data if isinstance(response.data, dict) else {}
            if "requiresTwoFactorAuth" in data:
                raise LoginFailed(
                    "VRChat still asks for two-factor authentication after the code was accepted."
                )
        self.user_id = parse_one(CurrentUser, data, "current user").id
        self._new_session(save=True)

    def _session_record(self, **times: str | None) -> SavedSession:
        """What the session file keeps of the current session (its cookies, whose they are)."""
        return SavedSession(
            username=self._username or "",
            cookies=dict(self._transport.cookies),
            user_id=self.user_id,
            **times,
        )

    def _new_session(self, *, save: bool) -> None:
        self.generation += 1
        if save:
            save_session(self._path, self._session_record())

    async def recover(self, failed_generation: int, refused: Unauthorized | None = None) -> None:
        """Called after a 401 (`refused`, the call's error): find out whether the session or only the
        call was refused, then re-login once (single flight), or block and raise SessionExpired.
        Raises CallRefused when the session is still valid. Without `refused` (blocked, and the
        re-login interval has passed) it goes straight to the re-login."""
        async with self._lock:
            if self.generation != failed_generation and not self.blocked:
                return  # another task already brought a fresh session while we waited
            if refused is not None and not self.blocked:
                await self._check_session(refused)
            if not self.can_login_unattended:
                raise self.block(
                    "The VRChat session expired and logging in again needs a person "
                    f"({self._missing(totp=True)} configured): run `groupbridge login`."
                )
            now = time.monotonic()
            if self._last_relogin is not None and now - self._last_relogin < self._relogin_interval:
                wait = self._relogin_interval - (now - self._last_relogin)
                raise self.block(
                    f"The VRChat session expired again soon after a re-login; not retrying for {wait:.0f} s."
                )
            self._last_relogin = now
            try:
                await self._password_login(prompt=None)
            except VRChatError as exc:
                raise self.block(f"Re-login to VRChat failed: {exc}") from None
            self._unblock("a new login by the bot")

    async def _check_session(self, refused: Unauthorized) -> None:
        """One `GET /auth` (at most one per SESSION_CHECK_INTERVAL and session): returns when VRChat
        says the session is gone, raises CallRefused when it is valid or VRChat cannot say. The lost
        session is only ever concluded from VRChat's own answer, never from a failed check."""
        now = time.monotonic()
        last = self._last_check
        if last is not None and last[0] == self.generation and now - last[1] < SESSION_CHECK_INTERVAL:
            if last[2] is False:
                return
            raise CallRefused.of(refused) from None
        try:
            response = await self._transport.request("GET", "/auth")
        except Unauthorized:
            valid: bool | None = False
        except VRChatError as exc:
            log.warning(
                "VRChat answered 401 to %s %s, and checking the session failed (%s); "
                "not treating the session as lost.",
                refused.method,
                refused.path,
                exc,
            )
            valid = None
        else:
            valid = isinstance(response.data, dict) and bool(response.data.get("ok"))
        self._last_check = (self.generation, now, valid)
        if valid is False:
            log.info("VRChat answered 401 to %s %s: the session has ended.", refused.method, refused.path)
            return
        if valid:
            log.warning(
                "VRChat answered 401 to %s %s, but the session is still valid (GET /auth): "
                "only that call was refused.",
                refused.method,
                refused.path,
            )
        raise CallRefused.of(refused) from None

    async def check_refusal(self, refused: Unauthorized) -> bool:
        """Another way in with this session (the pipeline) was refused: is the session still valid?
        The check a refused call gets (one `GET /auth`, at most one a minute per session) and nothing
        more: no re-login, no block. False only when VRChat says the session is gone; the next call
        then takes the usual way (a re-login where allowed, else SessionExpired), the check's verdict
        already known to it."""
        async with self._lock:
            if self.blocked:
                return False
            try:
                await self._check_session(refused)
            except CallRefused:
                return True  # valid, or VRChat could not say: not proof of a lost session
            return False

    async def check_refused_again(self, refused: Unauthorized) -> NoReturn:
        """A call was refused again right after a new session (a re-login, or another task's): a
        refused call if the session is valid (CallRefused), else block (SessionExpired)."""
        async with self._lock:
            if self.blocked:  # another task has concluded meanwhile
                raise SessionExpired(self._state.reason or "The VRChat session has expired.")
            await self._check_session(refused)
            raise self.block("VRChat refused the session right after a re-login.")

    def block(self, reason: str) -> SessionExpired:
        """Stop calling VRChat until a person logs in: remember the session file as it is now, so a
        new one written (or confirmed) by `groupbridge login` is noticed (see adopt_new_session_file).
        Returns the SessionExpired to raise."""
        if not self.blocked:
            self._state = SessionState(
                blocked=True,
                lost_at=datetime.now(UTC),
                reason=reason,
                back_at=self._state.back_at,
                back_by=self._state.back_by,
            )
        self.blocked = True
        self._blocked_file = self._file_stamp()
        return SessionExpired(reason)

    def _unblock(self, how: str) -> None:
        if self.blocked:
            self._state = SessionState(
                blocked=False,
                lost_at=self._state.lost_at,
                reason=self._state.reason,
                back_at=datetime.now(UTC),
                back_by=how,
            )
            # A warning although it is good news: /bridge status lists recent warnings, and this one
            # must come after the alarm there, so the alarm is not the last word.
            log.warning("The VRChat session is back after %s; calling VRChat again.", how)
        self.blocked = False

    def _file_stamp(self) -> tuple[int, int, int] | None:
        # The inode too: a file replaced within the clock's granularity, with the same size, still counts.
        try:
            stat = self._path.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    async def adopt_new_session_file(self) -> bool:
        """While blocked: if the session file changed since (an operator ran `groupbridge login`),
        check it with one GET /auth and carry on with it; no restart needed. A stat per call otherwise."""
        stamp = self._file_stamp()
        if not self.blocked or stamp is None or stamp == self._blocked_file:
            return False
        async with self._lock:
            if not self.blocked:
                return True  # another task adopted it while this one waited
            try:
                adopted = await self._restore()
            except VRChatError:
                return False  # VRChat did not answer (5xx, timeout, 429): look at this file again later
            self._blocked_file = stamp  # VRChat's verdict on this file is in: one look per new file
            if adopted:
                self._unblock("`groupbridge login`")
                return True
            log.warning("The VRChat session file changed, but VRChat does not accept the session in it.")
            return False

    def relogin_allowed_now(self) -> bool:
        if not self.can_login_unattended:
            return False
        return self._last_relogin is None or time.monotonic() - self._last_relogin >= self._relogin_interval
