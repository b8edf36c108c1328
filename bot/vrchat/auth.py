"""Logging the bot's VRChat account in, and keeping it logged in without hammering VRChat.

Order of preference at start: the saved cookies (one `GET /auth` to check them), then — only if they are
gone — the password, with 2FA answered by the TOTP secret or by a person at `groupbridge login`.
Mid-run, a 401 leads to at most one re-login per interval, and only when no person is needed.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import pyotp

from .errors import (
    AuthError,
    BadRequest,
    LoginFailed,
    SessionExpired,
    TwoFactorRequired,
    Unauthorized,
    VRChatError,
)
from .models import CurrentUser
from .session_file import SavedSession, delete_session, load_session, save_session
from .transport import Transport

log = logging.getLogger(__name__)

# A person answers 2FA: given the methods VRChat offers, return (method, code).
TwoFactorPrompt = Callable[[list[str]], Awaitable[tuple[str, str]]]

VERIFY_PATHS = {
    "totp": "/auth/twofactorauth/totp/verify",
    "otp": "/auth/twofactorauth/otp/verify",
    "emailOtp": "/auth/twofactorauth/emailotp/verify",
}


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
        self._blocked_file: tuple[int, int] | None = None  # the session file as it was when we blocked
        self.user_id: str | None = None
        self.password_logins = 0

    def __repr__(self) -> str:  # never show credentials
        return f"<SessionManager user={self._username!r} user_id={self.user_id!r} blocked={self.blocked}>"

    @property
    def can_login_unattended(self) -> bool:
        return bool(self._username and self._password and self._totp)

    async def login(self, prompt: TwoFactorPrompt | None = None, *, force: bool = False) -> str:
        """Make the session usable; returns the account's user ID."""
        async with self._lock:
            if not force and await self._restore():
                return self.user_id or ""
            await self._password_login(prompt)
            return self.user_id or ""

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
        return CurrentUser.model_validate(response.data).id

    async def _password_login(self, prompt: TwoFactorPrompt | None) -> None:
        if not (self._username and self._password):
            raise SessionExpired(
                "No valid VRChat session and no username/password configured; run `groupbridge login`."
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
            await self._second_factor([str(m) for m in methods], prompt)
            response = await self._transport.request("GET", "/auth/user")
            data = response.data if isinstance(response.data, dict) else {}
            if "requiresTwoFactorAuth" in data:
                raise LoginFailed(
                    "VRChat still asks for two-factor authentication after the code was accepted."
                )
        self.user_id = CurrentUser.model_validate(data).id
        self._new_session(save=True)

    async def _second_factor(self, methods: list[str], prompt: TwoFactorPrompt | None) -> None:
        if "totp" in methods and self._totp is not None:
            method, code = "totp", self._totp.now()
        elif prompt is not None:
            method, code = await prompt(methods)
        else:
            raise TwoFactorRequired(methods)
        path = VERIFY_PATHS.get(method)
        if path is None:
            raise LoginFailed(f"Unknown two-factor method {method!r}; VRChat offered {', '.join(methods)}.")
        code = code.strip().replace(" ", "")
        try:
            response = await self._transport.request(
                "POST", path, json={"code": code}, idempotent=False, retry_rate_limited=False
            )
        except (Unauthorized, BadRequest) as exc:
            raise LoginFailed(f"VRChat rejected the {method} code (HTTP {exc.status}).") from None
        if not (isinstance(response.data, dict) and response.data.get("verified")):
            raise LoginFailed(f"VRChat did not accept the {method} code.")

    def _new_session(self, *, save: bool) -> None:
        self.generation += 1
        self.blocked = False
        if save:
            save_session(
                self._path,
                SavedSession(
                    username=self._username or "",
                    cookies=dict(self._transport.cookies),
                    user_id=self.user_id,
                ),
            )

    async def recover(self, failed_generation: int) -> None:
        """Called after a 401: re-login once (single flight), or block and raise SessionExpired."""
        async with self._lock:
            if self.generation != failed_generation and not self.blocked:
                return  # another task already brought a fresh session while we waited
            if not self.can_login_unattended:
                self.block()
                raise SessionExpired(
                    "The VRChat session expired and logging in again needs a person "
                    "(no TOTP secret configured): run `groupbridge login`."
                )
            now = time.monotonic()
            if self._last_relogin is not None and now - self._last_relogin < self._relogin_interval:
                self.block()
                wait = self._relogin_interval - (now - self._last_relogin)
                raise SessionExpired(
                    f"The VRChat session expired again soon after a re-login; not retrying for {wait:.0f} s."
                )
            self._last_relogin = now
            try:
                await self._password_login(prompt=None)
            except (AuthError, VRChatError) as exc:
                self.block()
                raise SessionExpired(f"Re-login to VRChat failed: {exc}") from None

    def block(self) -> None:
        """Stop calling VRChat until a person logs in: remember the session file as it is now, so a
        new one written by `groupbridge login` is noticed (see adopt_new_session_file)."""
        self.blocked = True
        self._blocked_file = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

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
                log.info("Picked up the new VRChat session from `groupbridge login`; calling VRChat again.")
                return True
            log.warning("The VRChat session file changed, but VRChat does not accept the session in it.")
            return False

    def relogin_allowed_now(self) -> bool:
        if not self.can_login_unattended:
            return False
        return self._last_relogin is None or time.monotonic() - self._last_relogin >= self._relogin_interval

    async def logout(self) -> None:
        """Forget the saved session (used by `groupbridge login --fresh`); VRChat's session simply lapses."""
        self._transport.cookies.clear()
        delete_session(self._path)
