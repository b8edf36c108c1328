"""What the sandbox's local servers share: `async with` around start/close, and serving an aiohttp
app on a local port (0: a free one) with the origin it was bound to."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


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
