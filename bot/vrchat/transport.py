"""HTTP plumbing for one VRChat account: rate limit, 429 back-off, safe retries, typed errors.

Everything that touches the wire goes through `Transport.request`, so the politeness rules hold for every
call the account makes, however many tasks make them at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

from .errors import (
    AccountNotHeld,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    VRChatError,
    error_for_status,
    error_message,
)
from .text_safety import decode_json

log = logging.getLogger(__name__)

COOKIE_NAMES = ("auth", "twoFactorAuth")
_GATEWAY_STATUSES = frozenset({502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Politeness:
    """How hard the client may lean on VRChat. Defaults are the safe ones."""

    requests_per_second: float = 1.0
    burst: int = 3
    max_backoff: float = 1800.0
    base_backoff: float = 1.0
    max_rate_limit_retries: int = 8
    max_server_retries: int = 3
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.requests_per_second <= 0 or self.burst < 1:
            raise ValueError("requests_per_second must be > 0 and burst >= 1")


@dataclass(slots=True)
class Response:
    status: int
    data: Any
    headers: Mapping[str, str]


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def http_session(
    timeout: float, source_address: str | None = None, *, trace: aiohttp.TraceConfig | None = None
) -> aiohttp.ClientSession:
    """An HTTP session for one account: no cookie jar (aiohttp's drops cookies of IP hosts, and the
    client keeps and saves them itself) and, where configured, every connection from one local
    address, since VRChat ties a session to the address that logged in."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(source_address, 0)) if source_address else None,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=timeout),
        trace_configs=[trace] if trace is not None else None,
    )


class Transport:
    def __init__(
        self,
        base_url: str,
        user_agent: str,
        politeness: Politeness,
        *,
        session: aiohttp.ClientSession | None = None,
        source_address: str | None = None,
    ) -> None:
        if not user_agent.strip():
            raise ValueError("VRChat requires a descriptive User-Agent with contact information")
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self.politeness = politeness
        self.cookies: dict[str, str] = {}
        self._session = session
        self._owns_session = session is None
        self._source_address = source_address
        self._processes = 1
        self._limiter = self._make_limiter()
        # Shared by every call of the account: after a 429 nobody calls until the cool-down is over.
        self._cooldown_until = 0.0
        self._consecutive_429 = 0
        self.request_count = 0
        # "May this process call VRChat with this account now?" (the account's lease, bot.leases):
        # asked just before each request leaves, so a process frozen past its lease sends nothing
        # for the account when it wakes. Without leases, always.
        self.may_call: Callable[[], bool] = lambda: True
        self.account_name = ""

    def refuse_unless_held(self) -> None:
        """Raise AccountNotHeld when the gate is closed."""
        if not self.may_call():
            name = self.account_name or "this VRChat account"
            raise AccountNotHeld(
                f"another process holds {name}; this one may not call VRChat with it now",
                account=self.account_name,
            )

    async def open(self) -> None:
        if self._session is None:
            # Cookies are kept by hand: aiohttp's jar drops cookies of IP hosts, and they must be persisted.
            self._session = http_session(self.politeness.timeout, self._source_address)

    @property
    def http_session(self) -> aiohttp.ClientSession:
        """The open HTTP session, for the account's pipeline (bot.vrchat.pipeline) to share."""
        if self._session is None:
            raise RuntimeError("Transport is not open; use `async with VRChatClient(...)`")
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    # -- pacing -----------------------------------------------------------------------------------

    async def _wait_turn(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # Sleep rather than wait on an Event: another 429 may push the shared cool-down further.
            while (delay := self._cooldown_until - loop.time()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(delay)
            await self._limiter.acquire()
            # A 429 may have arrived while this call queued in the limiter: then wait that out too.
            if self._cooldown_until <= loop.time():
                return

    def _backoff_after_429(self, retry_after: float | None) -> float:
        """Honour Retry-After; on repeated 429s grow exponentially with jitter, capped."""
        self._consecutive_429 += 1
        p = self.politeness
        exponential = min(p.max_backoff, p.base_backoff * 2 ** (self._consecutive_429 - 1))
        jittered = exponential / 2 + random.uniform(0, exponential / 2)
        wait = max(
            retry_after or 0.0, jittered if (self._consecutive_429 > 1 or retry_after is None) else 0.0
        )
        loop = asyncio.get_running_loop()
        self._cooldown_until = max(self._cooldown_until, loop.time() + wait)
        return wait

    # -- the one way out --------------------------------------------------------------------------

    def _make_limiter(self) -> AsyncLimiter:
        # Both shared: N processes with a full burst each could send N bursts at once.
        burst = max(1, self.politeness.burst // self._processes)
        rate = self.politeness.requests_per_second / self._processes
        return AsyncLimiter(burst, burst / rate)

    def share_rate(self, processes: int) -> None:
        """The account's rate is shared by `processes` processes that all call VRChat with it (bot
        workers and the gateway): each keeps to its part, so together they keep to the account's.
        Calls already queued finish at the old pace."""
        processes = max(1, processes)
        if processes != self._processes:
            self._processes = processes
            self._limiter = self._make_limiter()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        use_cookies: bool = True,
        retry_rate_limited: bool = True,
    ) -> Response:
        """Send one logical request; retries only where repeating cannot do harm.

        `idempotent` defaults to True for GET. A write that times out or meets a gateway error raises
        OutcomeUnknown instead of being repeated blindly; a 429 is safe to repeat (not processed),
        except where repeating is itself the harm (`retry_rate_limited=False`: logins, which VRChat
        punishes when they come again and again): then it raises RateLimited at once.
        """
        method = method.upper()
        safe_to_repeat = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        rate_limit_retries = server_retries = 0
        while True:
            await self._wait_turn()
            self.refuse_unless_held()  # after the wait: the lease may have moved while queued
            try:
                status, body, content_type, resp_headers = await self._send(
                    method, path, query, json, headers, use_cookies
                )
            except aiohttp.ClientConnectorError as exc:
                # Nothing reached VRChat, so repeating is safe whatever the method.
                failure: VRChatError = ServerError(
                    f"cannot connect ({type(exc).__name__})", method=method, path=path
                )
            except (TimeoutError, aiohttp.ClientError) as exc:
                reason = (
                    "timed out"
                    if isinstance(exc, TimeoutError)
                    else f"connection lost ({type(exc).__name__})"
                )
                if not safe_to_repeat:
                    raise OutcomeUnknown(
                        f"{reason}; the change may or may not have been made", method=method, path=path
                    ) from None
                failure = ServerError(reason, method=method, path=path)
            else:
                if status == 429:
                    retry_after = parse_retry_after(resp_headers.get("Retry-After"))
                    wait = self._backoff_after_429(retry_after)
                    if (
                        not retry_rate_limited
                        or rate_limit_retries >= self.politeness.max_rate_limit_retries
                        or wait > self.politeness.max_backoff
                    ):
                        raise RateLimited(
                            f"rate limited; asked to wait {wait:.0f} s",
                            retry_after=wait,
                            status=429,
                            method=method,
                            path=path,
                        )
                    rate_limit_retries += 1
                    log.warning(
                        "VRChat rate limit on %s %s; pausing all calls for %.1f s", method, path, wait
                    )
                    continue
                self._consecutive_429 = 0
                if status not in _GATEWAY_STATUSES:
                    if status >= 400:
                        raise error_for_status(
                            status, error_message(body, content_type), method=method, path=path
                        )
                    return Response(status, _decode_json(body, status, method, path), resp_headers)
                message = error_message(body, content_type)
                if not safe_to_repeat:
                    raise OutcomeUnknown(
                        f"gateway error ({message}); the change may or may not have been made",
                        status=status,
                        method=method,
                        path=path,
                    )
                failure = ServerError(message, status=status, method=method, path=path)
            if server_retries >= self.politeness.max_server_retries:
                raise failure
            server_retries += 1
            log.info("VRChat %s %s failed (%s); retry %d", method, path, failure.message, server_retries)
            await asyncio.sleep(self._server_backoff(server_retries))

    async def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        json_body: Any,
        headers: Mapping[str, str] | None,
        use_cookies: bool,
    ) -> tuple[int, bytes, str, Mapping[str, str]]:
        if self._session is None:
            raise RuntimeError("Transport is not open; use `async with VRChatClient(...)`")
        send_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if use_cookies and self.cookies:
            send_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        send_headers.update(headers or {})
        started = time.monotonic()
        self.request_count += 1
        async with self._session.request(
            method,
            f"{self.base_url}{path}",
            params=query,
            json=json_body,
            headers=send_headers,
            allow_redirects=False,
        ) as resp:
            body = await resp.read()
            self._remember_cookies(resp)
            elapsed_ms = (time.monotonic() - started) * 1000
            log.debug("VRChat %s %s -> %s in %.0f ms", method, path, resp.status, elapsed_ms)
            return resp.status, body, resp.content_type, resp.headers

    def _server_backoff(self, attempt: int) -> float:
        base = min(self.politeness.max_backoff, self.politeness.base_backoff * 2.0 ** (attempt - 1))
        return base / 2 + random.uniform(0, base / 2)

    def _remember_cookies(self, resp: aiohttp.ClientResponse) -> None:
        for name in COOKIE_NAMES:
            morsel = resp.cookies.get(name)
            if morsel is None:
                continue
            expired = morsel["max-age"] == "0" or not morsel.value
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    return str(value)


def _decode_json(body: bytes, status: int, method: str, path: str) -> Any:
    """The body as JSON with every string made storable and sendable (bot.vrchat.text_safety)."""
    if not body.strip():
        return None
    try:
        return decode_json(body)
    except ValueError:
        raise MalformedResponse(
            f"{error_message(body, 'text/plain')} where JSON was expected",
            status=status,
            method=method,
            path=path,
        ) from None


__all__ = ["COOKIE_NAMES", "Politeness", "Response", "Transport", "VRChatError", "parse_retry_after"]
