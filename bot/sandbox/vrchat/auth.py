"""Login, two-factor verification and session cookies, following VRChat's flow.

``GET /auth/user`` with Basic credentials creates a session and sets the ``auth`` cookie once.
For accounts with a second factor the session stays *pending* (unusable) until one of the
``/auth/twofactorauth/.../verify`` endpoints accepts a code; that also sets a ``twoFactorAuth``
cookie which lets later password logins from the same client skip the second factor.

Like VRChat, a session belongs to the address that logged in: its cookie (and its pipeline token)
sent from another address is refused as if it had expired (`SessionStore.bind_to_address`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from urllib.parse import unquote

import pyotp
from aiohttp import web

import bot.sandbox.vrchat.render as render

from .common import (
    MSG_INVALID_LOGIN,
    MSG_MISSING_CREDENTIALS,
    MSG_REQUIRES_2FA,
    ApiError,
    read_json,
    state_of,
    success,
)
from .models import SimUser


@dataclass
class Session:
    """One ``auth`` cookie: whose it is and whether its second factor was verified."""

    token: str
    user_id: str
    verified: bool
    address: str | None = None  # the peer address of the login that created it


class SessionStore:
    """Auth sessions and remembered-device (``twoFactorAuth``) tokens."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.devices: dict[str, str] = {}  # twoFactorAuth token -> user id
        self.password_logins = 0
        # VRChat ties a session to the IP that logged in; a test may turn that off.
        self.bind_to_address = True

    def create(self, user: SimUser, *, verified: bool, address: str | None = None) -> Session:
        """A new session from a password login (counted: VRChat rate-limits these)."""
        session = Session(
            token=f"authcookie_{uuid.uuid4()}", user_id=user.id, verified=verified, address=address
        )
        self.sessions[session.token] = session
        self.password_logins += 1
        return session

    def lookup(self, token: str, address: str | None) -> Session | None:
        """The session of `token` as seen from `address`: none when it was made from another one."""
        session = self.sessions.get(token)
        if session is None or (self.bind_to_address and session.address != address):
            return None
        return session

    def remember_device(self, user_id: str) -> str:
        """Issue a ``twoFactorAuth`` token for a user."""
        token = f"{uuid.uuid4().hex}.{uuid.uuid4().hex}"
        self.devices[token] = user_id
        return token

    def expire(self, *, forget_devices: bool = False) -> None:
        """Invalidate every auth cookie (and optionally the remembered devices)."""
        self.sessions.clear()
        if forget_devices:
            self.devices.clear()


SESSIONS_KEY = web.AppKey("vrchat_sim_sessions", SessionStore)


def _session(request: web.Request) -> Session | None:
    token = request.cookies.get("auth")
    if not token:
        return None
    return request.app[SESSIONS_KEY].lookup(token, request.remote)


def account_of(request: web.Request) -> str | None:
    """Whose account a request uses: its cookie's session (from whatever address), else the user its
    Basic credentials name; None for neither."""
    session = request.app[SESSIONS_KEY].sessions.get(request.cookies.get("auth", ""))
    if session is not None:
        return session.user_id
    credentials = _basic_credentials(request)
    user = state_of(request).find_login(credentials[0]) if credentials else None
    return user.id if user is not None else None


def require_user(request: web.Request) -> SimUser:
    """The logged-in, 2FA-complete user behind the ``auth`` cookie, else 401."""
    session = _session(request)
    if session is None:
        raise ApiError(401, MSG_MISSING_CREDENTIALS)
    if not session.verified:
        raise ApiError(401, MSG_REQUIRES_2FA)
    user = state_of(request).user(session.user_id)
    if user is None:  # account removed from state after login
        raise ApiError(401, MSG_MISSING_CREDENTIALS)
    return user


def _set_cookie(response: web.StreamResponse, name: str, value: str) -> None:
    """Plain cookie usable on http://127.0.0.1: no Domain, no Secure, Path=/."""
    response.set_cookie(name, value, path="/", httponly=True, max_age=365 * 24 * 3600)


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """Decode ``base64(urlencode(username):urlencode(password))``; None when absent/garbled."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    if not sep:
        return None
    return unquote(name), unquote(password)


async def get_current_user(request: web.Request) -> web.StreamResponse:
    """``GET /auth/user``: reuse a valid cookie, otherwise log in with Basic auth."""
    store = request.app[SESSIONS_KEY]
    state = state_of(request)
    session = _session(request)
    if session is not None:
        user = state.user(session.user_id)
        if user is not None:
            if session.verified:
                return web.json_response(render.current_user(user, state))
            return web.json_response({"requiresTwoFactorAuth": user.two_factor_methods})
    credentials = _basic_credentials(request)
    if credentials is None:
        raise ApiError(401, MSG_MISSING_CREDENTIALS)
    user = state.find_login(credentials[0])
    if user is None or user.password is None or user.password != credentials[1]:
        raise ApiError(401, MSG_INVALID_LOGIN)
    remembered = store.devices.get(request.cookies.get("twoFactorAuth", "")) == user.id
    needs_second_factor = bool(user.two_factor_methods) and not remembered
    session = store.create(user, verified=not needs_second_factor, address=request.remote)
    if needs_second_factor:
        response = web.json_response({"requiresTwoFactorAuth": user.two_factor_methods})
    else:
        user.last_login = state.clock()
        response = web.json_response(render.current_user(user, state))
    _set_cookie(response, "auth", session.token)
    return response


async def _verify(request: web.Request, method: str) -> web.StreamResponse:
    """Shared body of the three verify endpoints; a wrong code answers ``{"verified": false}``."""
    session = _session(request)
    if session is None:
        raise ApiError(401, MSG_MISSING_CREDENTIALS)
    body = await read_json(request)
    code = body.get("code")
    state = state_of(request)
    user = state.user(session.user_id)
    if user is None:
        raise ApiError(401, MSG_MISSING_CREDENTIALS)
    # The email code's answer has no "enabled" (its spec schema is Verify2FAEmailCodeResult).
    verified = {"verified": True, "enabled": True} if method != "emailotp" else {"verified": True}
    if session.verified:
        return web.json_response(verified)
    ok = False
    if isinstance(code, str):
        code = code.strip()
        if method == "totp" and user.totp_secret:
            ok = pyotp.TOTP(user.totp_secret).verify(code, valid_window=1)
        elif method == "otp" and code in user.recovery_codes:
            user.recovery_codes.remove(code)  # recovery codes are single-use
            ok = True
        elif method == "emailotp" and user.email_otp:
            ok = code == user.email_otp
    if not ok:
        return web.json_response({"verified": False})
    session.verified = True
    user.last_login = state.clock()
    response = web.json_response(verified)
    _set_cookie(response, "twoFactorAuth", request.app[SESSIONS_KEY].remember_device(user.id))
    return response


async def verify_totp(request: web.Request) -> web.StreamResponse:
    """``POST /auth/twofactorauth/totp/verify`` (pyotp, one step of clock drift allowed)."""
    return await _verify(request, "totp")


async def verify_recovery_code(request: web.Request) -> web.StreamResponse:
    """``POST /auth/twofactorauth/otp/verify`` (single-use recovery codes)."""
    return await _verify(request, "otp")


async def verify_email_otp(request: web.Request) -> web.StreamResponse:
    """``POST /auth/twofactorauth/emailotp/verify``."""
    return await _verify(request, "emailotp")


async def verify_auth_token(request: web.Request) -> web.StreamResponse:
    """``GET /auth``: is the cookie a live, verified session?"""
    require_user(request)
    return web.json_response({"ok": True, "token": request.cookies["auth"]})


async def logout(request: web.Request) -> web.StreamResponse:
    """``PUT /logout``: drop the session and clear the cookie."""
    require_user(request)
    request.app[SESSIONS_KEY].sessions.pop(request.cookies["auth"], None)
    response = success("Ok!")
    response.del_cookie("auth", path="/")
    return response


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the authentication endpoints under ``prefix`` (``/api/1``)."""
    app.router.add_get(f"{prefix}/auth/user", get_current_user)
    app.router.add_get(f"{prefix}/auth", verify_auth_token)
    app.router.add_post(f"{prefix}/auth/twofactorauth/totp/verify", verify_totp)
    app.router.add_post(f"{prefix}/auth/twofactorauth/otp/verify", verify_recovery_code)
    app.router.add_post(f"{prefix}/auth/twofactorauth/emailotp/verify", verify_email_otp)
    app.router.add_put(f"{prefix}/logout", logout)
