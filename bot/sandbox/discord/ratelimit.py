"""Per-route, per-channel rate limit buckets with Discord's headers.

Discord's buckets behave like fixed windows: the first request opens a window of ``per`` seconds,
at most ``limit`` requests pass in it, and the window's end is what ``X-RateLimit-Reset`` names.
The bucket *hash* depends on the route only (``X-RateLimit-Bucket`` is "non-inclusive of top-level
resources"); the *state* is per route + major parameter (the channel).  discord.py relies on
that: it maps a route to one hash and keys its own buckets by hash + channel, so a hash that
changed per channel would make it forget its bucket state whenever the bot alternated channels.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass


@dataclass
class Decision:
    """The outcome of one request against its bucket, with what the headers must say."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # clock time the window ends
    reset_after: float  # seconds from now, rounded up to milliseconds
    bucket: str

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers Discord sends on every response of a limited route."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{self.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }


@dataclass
class _Window:
    start: float
    used: int = 0


def bucket_hash(route: str) -> str:
    """A stable, opaque hash for a route like ``POST /channels/{channel_id}/messages``."""
    return hashlib.sha256(route.encode()).hexdigest()[:32]


class RateLimiter:
    """Fixed-window buckets keyed by (route, major parameter)."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}

    def hit(self, route: str, major: str, limit: int, per: float, now: float) -> Decision:
        """Count one request at ``now``; ``allowed`` is False when the window is used up."""
        window = self._windows.get((route, major))
        if window is None or now >= window.start + per:
            window = self._windows[(route, major)] = _Window(start=now)
        allowed = window.used < limit
        if allowed:
            window.used += 1
        reset_at = window.start + per
        # Rounded up so a client sleeping exactly Reset-After never arrives a hair early.
        reset_after = math.ceil(max(reset_at - now, 0.0) * 1000) / 1000
        return Decision(
            allowed=allowed,
            limit=limit,
            remaining=limit - window.used,
            reset_at=reset_at,
            reset_after=reset_after,
            bucket=bucket_hash(route),
        )

    def clear(self) -> None:
        """Forget every window (a test that moves a fake clock backwards needs this)."""
        self._windows.clear()
