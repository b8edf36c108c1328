"""What the sandbox's local servers share: `async with` around start/close, serving an aiohttp
app on a local port (0: a free one) with the origin it was bound to, from start until close, and the
record each keeps of the requests it received."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web


@dataclass
class RecordedRequest:
    """What a local server received: ``path`` is without the API prefix, ``json`` the parsed body,
    ``at`` a clock reading; ``status`` is what it answered (None until it has)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    at: float
    status: int | None = None


class LocalServer:
    """Something started and closed around a test or a demo: ``async with Server() as s``."""

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AppServer(LocalServer):
    """A LocalServer that serves one aiohttp app: its origin once started, close idempotent."""

    _runner: web.AppRunner | None = None
    _origin: str | None = None

    @property
    def origin(self) -> str:
        """``http://<host>:<port>`` once started."""
        if self._origin is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._origin

    def websocket_url(self, path: str) -> str:
        """``ws://<host>:<port><path>`` once started: a websocket the app serves."""
        return self.origin.replace("http://", "ws://", 1) + path

    def _refuse_second_start(self) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} already started")

    async def _serve(self, app: web.Application, host: str, port: int) -> None:
        self._runner, self._origin = await serve_app(app, host, port)

    async def _before_stop(self) -> None:
        """What must end before the app stops (open sockets would make the stop wait them out)."""

    async def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            await self._before_stop()
            await self._runner.cleanup()
            self._runner = None


async def serve_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve `app` on host:port; returns its runner (``cleanup()`` stops it) and its origin,
    ``http://host:port`` with the port actually bound and an IPv6 host in brackets."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    if ":" in bound_host:  # IPv6 literal
        bound_host = f"[{bound_host}]"
    return runner, f"http://{bound_host}:{bound_port}"
