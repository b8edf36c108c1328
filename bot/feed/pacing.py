"""Pacing and packing for the feed: stay under Discord's per-channel limit, fill each message."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")  # what an item renders to (an embed, in the feed)

MAX_EMBEDS = 10  # per message (Discord)
MAX_EMBED_CHARS = 6000  # across all embeds of a message (Discord)
NONCE_LENGTH = 25  # Discord accepts nonces of up to 25 characters


class SlidingWindowPacer:
    """At most `limit` events in any `window` seconds.

    Discord's per-channel bucket is a window of 5 messages per 5 s. A leaky bucket (aiolimiter) with
    the same numbers would allow a burst plus the drip inside one window and meet 429s, so this keeps
    the send times and waits for the oldest to leave the window.
    """

    def __init__(
        self,
        limit: int = 5,
        window: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        margin: float = 0.1,
    ) -> None:
        self.limit, self.window, self.margin = limit, window, margin
        self._clock = clock
        self._sent: deque[float] = deque(maxlen=limit)
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            if len(self._sent) == self.limit:
                delay = self._sent[0] + self.window + self.margin - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            self._sent.append(self._clock())


@dataclass(frozen=True)
class Pack(Generic[T, R]):
    items: list[T]
    rendered: list[R]  # the embeds, in item order


def pack(
    items: Sequence[T],
    render: Callable[[T], R],
    size: Callable[[R], int],
    *,
    max_embeds: int = MAX_EMBEDS,
    max_chars: int = MAX_EMBED_CHARS,
) -> list[Pack[T, R]]:
    """Greedy, order-preserving packing into messages of ≤ max_embeds embeds and ≤ max_chars characters."""
    packs: list[Pack[T, R]] = []
    current: list[T] = []
    embeds: list[R] = []
    chars = 0
    for item in items:
        embed = render(item)
        cost = size(embed)
        if current and (len(current) == max_embeds or chars + cost > max_chars):
            packs.append(Pack(current, embeds))
            current, embeds, chars = [], [], 0
        current.append(item)
        embeds.append(embed)
        chars += cost
    if current:
        packs.append(Pack(current, embeds))
    return packs


def message_nonce(channel_id: int, entry_ids: Sequence[str]) -> str:
    """Deterministic per (channel, entries): a resend after a crash carries the same nonce."""
    digest = hashlib.sha256(f"{channel_id}:{'|'.join(entry_ids)}".encode()).digest()
    return base64.b32encode(digest).decode().lower()[:NONCE_LENGTH]
