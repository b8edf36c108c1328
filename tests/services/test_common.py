"""Small shared pieces: relative times, AlreadyHandled's sentence, the caches and per-key locks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.services.common import AlreadyHandled, KeyedLocks, TTLCache, clip, time_ago

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (150, "2 minutes ago"),
        (3600, "1 hour ago"),
        (3 * 86400 + 5, "3 days ago"),
        (-30, "just now"),  # clocks a little apart
    ],
)
def test_time_ago(seconds: int, text: str) -> None:
    assert time_ago(NOW - timedelta(seconds=seconds), NOW) == text


def test_already_handled_sentences() -> None:
    discord = AlreadyHandled.describe(
        outcome="accepted",
        by="maya",
        when=NOW - timedelta(minutes=2),
        where="Discord",
        now=NOW,
        by_discord_id=7,
    )
    assert str(discord) == "Already accepted by @maya (Discord) 2 minutes ago."
    assert (discord.by, discord.by_discord_id, discord.where) == ("maya", 7, "Discord")
    vrchat = AlreadyHandled.describe(outcome="blocked", by="Alice", when=None, where="VRChat", now=NOW)
    assert str(vrchat) == "Already blocked by Alice (in VRChat)."
    gone = AlreadyHandled.describe(outcome="gone", by=None, when=None, where="VRChat", now=NOW)
    assert str(gone) == "This request is no longer pending in VRChat (withdrawn or handled elsewhere)."


def test_an_already_handled_name_is_one_inert_line() -> None:
    """A display name is someone else's text: its markdown must not format the clicker's reply."""
    marked = AlreadyHandled.describe(
        outcome="accepted", by="**maya**\n# big", when=None, where="VRChat", now=NOW
    )
    assert "**maya**" not in str(marked) and "\\*\\*maya\\*\\*" in str(marked)
    assert "\n" not in str(marked)


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…"


def test_ttl_cache_expires_and_stays_bounded() -> None:
    now = [0.0]
    cache: TTLCache[str, int] = TTLCache(10, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 10
    assert cache.get("a") == 1
    now[0] = 10.5
    assert cache.get("a") is None
    for key in "xyz":
        cache.put(key, 0)
    assert (cache.get("x"), cache.get("y"), cache.get("z")) == (None, 0, 0)


async def test_keyed_locks_serialise_per_key_and_clean_up() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[str] = []

    async def work(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    await asyncio.gather(work("k", "a", 0.02), work("k", "b", 0), work("other", "c", 0))
    assert order.index("a-") < order.index("b+")  # same key: one after the other
    assert order.index("c+") < order.index("a-")  # another key: not held up
    assert len(locks) == 0
