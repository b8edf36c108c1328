"""`pointed_at` for tests and the demo: the production hook (bot.discord_endpoint), also given a stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot.discord_endpoint import current_base
from bot.discord_endpoint import pointed_at as _pointed_at

if TYPE_CHECKING:
    from .server import DiscordStandIn

__all__ = ["current_base", "pointed_at"]


@contextmanager
def pointed_at(target: DiscordStandIn | str, *, gateway: str | None = None) -> Iterator[str]:
    """Within the block, discord.py talks to ``target``: a stand-in, or an ``.../api/v10`` URL."""
    with _pointed_at(target if isinstance(target, str) else target.base_url, gateway=gateway) as base:
        yield base
