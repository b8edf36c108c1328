"""What one VRChat account of the pool (bot.vrchat.pool) really sends, against its request budget."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import aiohttp

from .transport import http_session

BUDGET_WINDOW = 60.0  # seconds: the budget is "requests in the last minute"


class RequestMeter:
    """Every HTTP request one account really sent (retries and logins too), over a sliding minute."""

    def __init__(
        self,
        requests_per_second: float,
        *,
        window: float = BUDGET_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_second = requests_per_second
        self.window = window
        self.total = 0
        self._clock = clock
        self._sent: deque[float] = deque()

    @property
    def budget(self) -> int:
        """What the account's limiter lets through in one window at its sustained rate."""
        return int(self.requests_per_second * self.window)

    def record(self) -> None:
        now = self._clock()
        self._sent.append(now)
        self.total += 1
        self._trim(now)

    def used(self) -> int:
        """Requests sent in the last window."""
        self._trim(self._clock())
        return len(self._sent)

    def _trim(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()

    def session(self, timeout: float, source_address: str | None = None) -> aiohttp.ClientSession:
        """An HTTP session for the account's client that counts what it sends (call it inside the event
        loop); otherwise like the client's own (bot.vrchat.transport.http_session)."""

        async def sent(*_: object) -> None:
            self.record()

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(sent)
        return http_session(timeout, source_address, trace=trace)
