"""VRChat's pipeline: the receive-only websocket that tells an account what happens to it, at once.

`wss://pipeline.vrchat.cloud/?authToken=<the auth cookie>` with the account's User-Agent. Each
message is JSON whose `content` is, for most types, JSON again in a string (parsed a second time
here). A `notification-v2` message of type `group.joinRequest` says someone asked to join a group
the account manages: `JoinRequestNotice`, with the group and the requester where the message says
them (`data.groupId`, a `group:grp_…` link, `senderUserId`); the shapes are the community's
observations, so they are read liberally and a notice without a group is still a notice. Every other
message is ignored. `{"err": …}` is VRChat refusing the connection, which it then closes.

What the pipeline says is a hint, never the truth: the REST API stays that. So this module only
listens and reconnects, politely:

- one connection at a time per account, sharing the account's HTTP session, User-Agent and cookie;
- after a drop, capped exponential back-off with jitter; the back-off starts over only after a
  connection that lasted; on top of that, at most MAX_ATTEMPTS_PER_WINDOW attempts per window;
- after an `err` (VRChat says which, in words: "authToken doesn't correspond with an active
  session" when the token is dead *or* comes from another IP than the one that logged in), the
  session is checked the way a refused REST call is checked (bot.vrchat.auth: one `GET /auth`
  through the rate limiter, at most one a minute). A session VRChat confirms gone is left to the REST
  client's usual path (a re-login where allowed, else SessionExpired): the pipeline never logs in,
  and waits for a new token before it connects again. A valid session that the pipeline refuses
  means the pipeline and the API see different addresses (one account, one egress): logged, and
  the back-off carries on;
- no attempt while the account is blocked or not logged in.

The auth token is a secret: the URL that carries it is never logged or put in an exception (aiohttp
puts the URL in its errors, so only their type and status are kept).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from .auth import SessionManager
from .errors import Unauthorized
from .ids import GROUP_ID_RE, is_user_id
from .text_safety import decode_json, safe_str
from .transport import Transport

log = logging.getLogger(__name__)

DEFAULT_PIPELINE_URL = "wss://pipeline.vrchat.cloud/"
JOIN_REQUEST_TYPE = "group.joinRequest"
NOTIFICATION_V2 = "notification-v2"

BASE_DELAY = 2.0  # seconds before the first reconnect; doubles per failed attempt
MAX_DELAY = 600.0  # the cap: a pipeline down for long costs one attempt per ten minutes
STABLE_AFTER = 60.0  # a connection that lasted this long starts the back-off over
ATTEMPT_WINDOW = 600.0
MAX_ATTEMPTS_PER_WINDOW = 10
HEARTBEAT = 30.0  # websocket pings: a half-open connection is noticed within this
IDLE_CHECK = 2.0  # seconds between looks at the session while there is none to connect with
MAX_MESSAGE = 1024**2
ERROR_TEXT_LIMIT = 300

_GROUP_ID_IN_TEXT = re.compile(r"grp_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# -- what the pipeline says --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinRequestNotice:
    """Someone asked to join a group. `group_id` is None when the message did not say which group
    (then every group the account serves is worth a look); `user_id` when it named the requester."""

    group_id: str | None
    user_id: str | None
    notification_id: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineRefusal:
    """`{"err": …}`: VRChat refuses the connection (and closes it)."""

    message: str


PipelineEvent = JoinRequestNotice | PipelineRefusal


def parse_message(raw: str | bytes) -> PipelineEvent | None:
    """One websocket message as an event, or None for anything else (other types, non-JSON)."""
    data = raw.encode("utf-8", "replace") if isinstance(raw, str) else raw
    try:
        message = decode_json(data)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if "err" in message:
        return PipelineRefusal(_text(message.get("err")) or "(no reason given)")
    if message.get("type") != NOTIFICATION_V2:
        return None
    content = message.get("content")
    if isinstance(content, str):  # double-encoded, as VRChat sends it
        try:
            content = decode_json(content.encode("utf-8"))
        except ValueError:
            return None
    if not isinstance(content, dict) or content.get("type") != JOIN_REQUEST_TYPE:
        return None
    sender = content.get("senderUserId")
    notification_id = content.get("id")
    return JoinRequestNotice(
        group_id=_group_of(content),
        user_id=sender if isinstance(sender, str) and is_user_id(sender) else None,
        notification_id=notification_id[:100] if isinstance(notification_id, str) else None,
    )


def _group_of(content: dict[str, Any]) -> str | None:
    """The group a notification is about: `data.groupId`, else the `group:` link, else any group id in
    the link or the responses' data (e.g. "grp_…,usr_…")."""
    data = content.get("data")
    if isinstance(data, dict):
        group_id = data.get("groupId")
        if isinstance(group_id, str) and GROUP_ID_RE.match(group_id):
            return group_id
    places = [content.get("link")]
    responses = content.get("responses")
    if isinstance(responses, list):
        places += [r.get("data") for r in responses if isinstance(r, dict)]
    for place in places:
        if isinstance(place, str) and (match := _GROUP_ID_IN_TEXT.search(place)):
            return match.group(0)
    return None


def _text(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return safe_str(text)[:ERROR_TEXT_LIMIT]


# -- reconnecting politely ---------------------------------------------------------------------------


class Backoff:
    """Capped exponential back-off with jitter, and a cap on attempts per sliding window."""

    def __init__(
        self,
        *,
        base: float = BASE_DELAY,
        cap: float = MAX_DELAY,
        window: float = ATTEMPT_WINDOW,
        max_per_window: int = MAX_ATTEMPTS_PER_WINDOW,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if base <= 0 or cap < base or max_per_window < 1:
            raise ValueError("need 0 < base <= cap and max_per_window >= 1")
        self.base, self.cap, self.window, self.max_per_window = base, cap, window, max_per_window
        self._rng = rng or random.Random()
        self._clock = clock
        self._failures = 0
        self._attempts: deque[float] = deque()

    def attempted(self) -> None:
        self._attempts.append(self._clock())

    def succeeded(self) -> None:
        self._failures = 0

    def delay(self) -> float:
        """Seconds to wait before the next attempt (counts one more failure)."""
        self._failures += 1
        step = min(self.cap, self.base * 2.0 ** min(self._failures - 1, 30))
        wait = step / 2 + self._rng.uniform(0, step / 2)
        now = self._clock()
        while self._attempts and self._attempts[0] <= now - self.window:
            self._attempts.popleft()
        if len(self._attempts) >= self.max_per_window:  # the window is full: wait for its oldest
            wait = max(wait, self._attempts[0] + self.window - now)
        return wait


@dataclass
class PipelineStats:
    """What one account's pipeline has done, for tests, the bench and status."""

    attempts: int = 0  # connection attempts (handshakes sent)
    connects: int = 0  # of them accepted
    refusals: int = 0  # `{"err": …}` messages
    notices: int = 0  # join-request notices
    connected: bool = False
    last_problem: str | None = None


@dataclass(frozen=True, slots=True)
class _Outcome:
    lasted: float = 0.0  # seconds the connection was open (0: never opened)
    refusal: str | None = None
    problem: str | None = None


Handler = Callable[[PipelineEvent], Awaitable[None]]


class PipelineClient:
    """One account's pipeline. `run(on_event)` connects and reconnects until cancelled; `on_event`
    is awaited for each notice and refusal, in order (keep it short: it holds up the next message)."""

    def __init__(
        self,
        transport: Transport,
        auth: SessionManager,
        url: str = DEFAULT_PIPELINE_URL,
        *,
        backoff: Backoff | None = None,
        heartbeat: float = HEARTBEAT,
        stable_after: float = STABLE_AFTER,
        idle_check: float = IDLE_CHECK,
        on_token: Callable[[str], object] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc or parts.query:
            raise ValueError("the pipeline URL must be ws:// or wss://, with no query (the token is added)")
        self._transport = transport
        self._auth = auth
        self._url = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
        self.backoff = backoff or Backoff()
        self._heartbeat = heartbeat
        self._stable_after = stable_after
        self._idle_check = idle_check
        self._on_token = on_token  # e.g. bot.logs.register_secret: the token is masked if ever logged
        self._dead_token: str | None = None  # VRChat confirmed this session gone: wait for another
        self._warned_egress = False
        self._refused_last = False
        self.stats = PipelineStats()

    def __repr__(self) -> str:  # the URL without the token
        return f"<PipelineClient {self._url} connected={self.stats.connected}>"

    @property
    def url(self) -> str:
        """Where it connects, without the token (safe to log)."""
        return self._url

    async def run(self, on_event: Handler) -> None:
        while True:
            token = await self._usable_token()
            self.backoff.attempted()
            self.stats.attempts += 1
            outcome = await self._connect_once(token, on_event)
            if outcome.lasted >= self._stable_after:
                self.backoff.succeeded()
            self._refused_last = outcome.refusal is not None
            if outcome.refusal is not None:
                await self._after_refusal(token, outcome.refusal)
            wait = self.backoff.delay()
            reason = outcome.refusal or outcome.problem or "closed by VRChat"
            self.stats.last_problem = reason
            # Info, not a warning: polling carries on, so a pipeline that is away costs only latency.
            log.info("VRChat pipeline %s: %s; connecting again in %.0f s.", self._url, reason, wait)
            await asyncio.sleep(wait)

    async def _usable_token(self) -> str:
        """The account's auth token once there is one worth trying: logged in, not blocked, and not
        the token VRChat said was gone. Looks again every few seconds; never calls VRChat."""
        while True:
            token = self._transport.cookies.get("auth")
            held = self._transport.may_call()  # another process holds the account: not from here
            if token and held and not self._auth.blocked and token != self._dead_token:
                if self._on_token is not None:
                    self._on_token(token)
                return token
            await asyncio.sleep(self._idle_check)

    async def _connect_once(self, token: str, on_event: Handler) -> _Outcome:
        session = self._transport.http_session
        target = f"{self._url}?{urlencode({'authToken': token})}"
        opened: float | None = None
        refusal: str | None = None
        try:
            async with session.ws_connect(
                target,
                headers={"User-Agent": self._transport.user_agent},
                heartbeat=self._heartbeat,
                max_msg_size=MAX_MESSAGE,
            ) as ws:
                opened = time.monotonic()
                self.stats.connects += 1
                self.stats.connected = True
                # While VRChat refuses each connection, "connected" would be news every time.
                log.log(
                    logging.DEBUG if self._refused_last else logging.INFO,
                    "VRChat pipeline connected (%s).",
                    self._url,
                )
                async for message in ws:
                    if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        continue
                    event = parse_message(message.data)
                    if event is None:
                        continue
                    if isinstance(event, PipelineRefusal):
                        self.stats.refusals += 1
                        refusal = event.message
                    else:
                        self.stats.notices += 1
                    await _deliver(on_event, event)
                    if refusal is not None:
                        break  # VRChat closes after an err; do not wait for it
                problem = _close_reason(ws)
        except aiohttp.WSServerHandshakeError as exc:
            # Not str(exc): it carries the URL, and so the token.
            problem = f"refused the connection (HTTP {exc.status})"
            if exc.status in (401, 403):
                refusal = problem
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            problem = f"cannot connect ({type(exc).__name__})"
        finally:
            self.stats.connected = False
        lasted = time.monotonic() - opened if opened is not None else 0.0
        return _Outcome(lasted=lasted, refusal=refusal, problem=problem)

    async def _after_refusal(self, token: str, reason: str) -> None:
        """Is it the session? Asked the way a refused REST call asks (see the module doc)."""
        refused = Unauthorized(
            f"the pipeline refused the session: {reason}", status=401, method="WS", path=self._url
        )
        if not await self._auth.check_refusal(refused):
            self._dead_token = token
            log.warning(
                "VRChat ended the session (the pipeline refused it and GET /auth agrees); the pipeline "
                "waits for a new session, which the API client gets or asks for as usual."
            )
            return
        if not self._warned_egress:
            self._warned_egress = True
            log.warning(
                "VRChat's pipeline refused a session its API accepts (%s). The pipeline must connect "
                "from the same address that logged in (one account, one egress): check proxies and "
                "VPN rules. Join requests still arrive by polling.",
                reason,
            )


async def _deliver(on_event: Handler, event: PipelineEvent) -> None:
    try:
        await on_event(event)
    except asyncio.CancelledError:
        raise
    except Exception:  # a listener's bug must not cost the connection
        log.exception("Handling a VRChat pipeline event failed: %r", event)


def _close_reason(ws: aiohttp.ClientWebSocketResponse) -> str:
    exc = ws.exception()
    if exc is not None:
        return f"connection lost ({type(exc).__name__})"
    return f"closed by VRChat (code {ws.close_code})" if ws.close_code is not None else "closed by VRChat"


__all__ = [
    "DEFAULT_PIPELINE_URL",
    "Backoff",
    "JoinRequestNotice",
    "PipelineClient",
    "PipelineEvent",
    "PipelineRefusal",
    "PipelineStats",
    "parse_message",
]
