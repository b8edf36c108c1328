"""Injected failures: rate limits, server errors, slow answers, HTML, broken JSON or cut-off bodies.

A client that talks to VRChat must survive Cloudflare HTML pages, 429 with ``Retry-After`` and
bodies that are not JSON at all; faults let tests produce each of those on demand.  Faults are
consulted for every request after it is recorded and validated, before routing and auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web

from .common import envelope

# Set on responses a fault produced: they are exempt from response validation.
FAULT_MARK = web.ResponseKey("vrchat_sim_fault", bool)

_DEFAULT_MESSAGES = {
    429: '"Too many requests"',
    500: '"Internal Server Error"',
    502: '"Bad Gateway"',
    503: '"Service Unavailable"',
    504: '"Gateway Timeout"',
}


@dataclass
class Fault:
    """One injected failure.

    ``method``/``path`` select requests (None = any; ``path`` is a regex searched in the path
    without ``/api/1``).  ``delay`` sleeps first; with neither ``status`` nor ``body`` the request
    then proceeds normally (a slow but correct answer).  ``status`` alone answers VRChat's error
    envelope; ``body`` sends that raw text (status 200 unless given) with ``content_type``
    (guessed as text/html when the body starts with "<", else application/json).
    ``retry_after`` (seconds) adds a Retry-After header.  ``truncate`` sends only that many bytes of
    ``body`` under the full Content-Length and then drops the connection, as a server or proxy dying
    mid-answer does.  ``times`` limits how many requests are hit (None = until cleared); ``hits``
    counts them.
    """

    method: str | None = None
    path: str | None = None
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    body: str | None = None
    content_type: str | None = None
    truncate: int | None = None
    times: int | None = None
    hits: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        """Does this fault apply to the request?"""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    def build_response(self) -> web.Response | None:
        """The faulty response, or None to let a delayed request proceed normally."""
        if self.status is None and self.body is None:
            return None
        status = self.status or 200
        if self.body is not None:
            content_type = self.content_type or (
                "text/html" if self.body.lstrip().startswith("<") else "application/json"
            )
            if self.truncate is None:
                response = web.Response(status=status, text=self.body, content_type=content_type)
            else:
                data = self.body.encode()
                response = web.Response(
                    status=status, body=data[: self.truncate], content_type=content_type, charset="utf-8"
                )
                # aiohttp sends a Content-Length it is given as is; closing after the short body is
                # what makes the client see a cut-off answer instead of waiting for the rest.
                response.headers["Content-Length"] = str(len(data))
                response.force_close()
        else:
            response = envelope(status, _DEFAULT_MESSAGES.get(status, f'"Simulated error {status}"'))
        if self.retry_after is not None:
            response.headers["Retry-After"] = f"{self.retry_after:g}"
        response[FAULT_MARK] = True
        return response


class FaultSet:
    """The active faults, consulted in insertion order; the first match wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._closing = asyncio.Event()

    def add(self, fault: Fault) -> Fault:
        """Activate a fault and return it (its ``hits`` can be inspected later)."""
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, consuming one of its ``times``."""
        for fault in self._faults:
            if fault.matches(method, path):
                fault.hits += 1
                if fault.times is not None and fault.hits >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None

    async def apply(self, method: str, path: str) -> web.Response | None:
        """Sleep/answer as the matching fault says; None means handle the request normally."""
        fault = self.take(method, path)
        if fault is None:
            return None
        if fault.delay:
            with contextlib.suppress(TimeoutError):
                # Ends early when the simulator closes, so shutdown never waits on a slow fault.
                await asyncio.wait_for(self._closing.wait(), fault.delay)
        return fault.build_response()

    def release_delays(self) -> None:
        """Wake every request sleeping in a ``delay`` (the simulator is closing)."""
        self._closing.set()

    def arm_delays(self) -> None:
        """Make ``delay`` faults sleep again (the simulator is (re)starting)."""
        self._closing.clear()
