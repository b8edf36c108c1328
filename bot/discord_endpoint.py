"""Point discord.py at another Discord API base URL (and gateway) and back: `discord.api_base_url`.

Production owns this hook (the offline demo and the tests point the real bot at the local stand-in
through it; bot.sandbox re-exports it). It is the ONLY module in GroupBridge that touches discord.py
internals.  It relies on:

* ``discord.http.Route.BASE`` - class attribute every REST URL is built from (``BASE + path``) when a
  ``Route`` is *constructed*, i.e. per request, so the patch must stay active while the client runs;
  webhooks use the same ``Route``.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` - the ``yarl.URL`` used when no gateway URL
  is known yet (only patched when ``gateway=`` is given; no stand-in gateway exists yet).

Both are private API, which is why discord.py is pinned to 2.6.x in pyproject.toml; ``_check_supported``
refuses other versions so an upgrade fails here loudly instead of silently hitting discord.com.
Route.BASE is process-global: one ``pointed_at`` block per process at a time (nesting restores).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

SUPPORTED = (2, 6)


def _check_supported() -> None:
    version = (discord.version_info.major, discord.version_info.minor)
    if version != SUPPORTED:
        raise RuntimeError(
            f"bot.discord_endpoint patches discord.py internals verified on "
            f"{SUPPORTED[0]}.{SUPPORTED[1]}.x; installed is {discord.__version__}: "
            "re-check Route.BASE and DEFAULT_GATEWAY, then update SUPPORTED"
        )
    if not isinstance(getattr(Route, "BASE", None), str):
        raise RuntimeError("discord.http.Route.BASE is gone; the stand-in cannot redirect discord.py")


@contextmanager
def pointed_at(target: str, *, gateway: str | None = None) -> Iterator[str]:
    """Within the block, discord.py's REST calls go to ``target`` (an ``.../api/v10`` URL).

    ``gateway`` (a ``ws://`` URL) also replaces the default gateway - the hook for a later gateway
    stand-in.  Yields the base URL in use.  Previous values are restored even on error.
    """
    _check_supported()
    base = target
    previous_base = Route.BASE
    previous_gateway = DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = base.rstrip("/")
    if gateway is not None:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    try:
        yield Route.BASE
    finally:
        Route.BASE = previous_base
        DiscordWebSocket.DEFAULT_GATEWAY = previous_gateway


def current_base() -> str:
    """Where discord.py's REST calls go right now (``https://discord.com/api/v10`` unpatched)."""
    return Route.BASE
