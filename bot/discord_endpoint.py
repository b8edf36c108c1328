"""Point discord.py at another Discord API base URL (and gateway) and back: `discord.api_base_url`.

Production owns this hook (the offline demo and the tests point the real bot at the local stand-in
through it; bot.sandbox re-exports it). It is the ONLY module in GroupBridge that touches discord.py
internals.  It relies on:

* ``discord.http.Route.BASE`` - class attribute every REST URL is built from (``BASE + path``) when a
  ``Route`` is *constructed*, i.e. per request, so the patch must stay active while the client runs;
  webhooks and interaction callbacks use the same ``Route``.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` - the ``yarl.URL`` that
  ``DiscordWebSocket.from_client`` connects to when no gateway URL is known yet (only patched when
  ``gateway=`` is given).

Both are private API. Rather than trusting a version number, ``check_supported`` tests the installed
discord.py for exactly what the patch needs, every time the hook is used: a ``Route`` built under the
patch must carry the patched base, and ``from_client`` must still read ``DEFAULT_GATEWAY``. When an
upgrade changes either, the hook raises instead of letting the bot quietly reach discord.com
(tests/test_discord_endpoint.py shows it). pyproject.toml holds discord.py to the minor versions
this was checked on. Route.BASE is process-global: one ``pointed_at`` block per process at a time
(nesting restores).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

_PROBE_BASE, _PROBE = "http://probe.invalid/api/v10", "/gateway/bot"


class UnsupportedDiscordPy(RuntimeError):
    """The installed discord.py no longer works the way this hook patches it."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"bot.discord_endpoint cannot point discord.py {discord.__version__} at another Discord: "
            f"{what}. Re-check discord/http.py (Route) and discord/gateway.py (DEFAULT_GATEWAY, "
            "from_client), then update this module."
        )


def check_supported() -> None:
    """Raise UnsupportedDiscordPy unless the installed discord.py builds REST URLs from Route.BASE
    and connects to DiscordWebSocket.DEFAULT_GATEWAY by default."""
    base = getattr(Route, "BASE", None)
    if not isinstance(base, str):
        raise UnsupportedDiscordPy("discord.http.Route.BASE is gone or no longer a string")
    Route.BASE = _PROBE_BASE
    try:
        built = Route("GET", _PROBE).url
    finally:
        Route.BASE = base
    if built != _PROBE_BASE + _PROBE:
        raise UnsupportedDiscordPy("a Route's URL is no longer built from Route.BASE")
    if not isinstance(getattr(DiscordWebSocket, "DEFAULT_GATEWAY", None), yarl.URL):
        raise UnsupportedDiscordPy("DiscordWebSocket.DEFAULT_GATEWAY is gone or no longer a yarl.URL")
    from_client = getattr(DiscordWebSocket.from_client, "__func__", None)
    code = getattr(from_client, "__code__", None)
    if code is None or "DEFAULT_GATEWAY" not in code.co_names:
        raise UnsupportedDiscordPy("DiscordWebSocket.from_client no longer reads DEFAULT_GATEWAY")


@contextmanager
def pointed_at(target: str, *, gateway: str | None = None) -> Iterator[str]:
    """Within the block, discord.py's REST calls go to ``target`` (an ``.../api/v10`` URL).

    ``gateway`` (a ``ws://`` URL) also replaces the default gateway - the hook for a later gateway
    stand-in.  Yields the base URL in use.  Previous values are restored even on error.
    """
    check_supported()
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
