"""Packing and pacing are pure: tested directly, with a fake clock where time matters."""

from __future__ import annotations

import asyncio

import pytest

from bot.feed.pacing import MAX_EMBED_CHARS, SlidingWindowPacer, message_nonce, pack


def test_pack_respects_ten_embeds_and_order() -> None:
    packs = pack(list(range(23)), render=lambda i: i, size=lambda e: 100)
    assert [len(p.items) for p in packs] == [10, 10, 3]
    assert [i for p in packs for i in p.items] == list(range(23))
    assert all(p.rendered == p.items for p in packs)


def test_pack_respects_the_character_budget() -> None:
    sizes = [2500, 2500, 2500, 100, 5999, 6000, 1]
    packs = pack(list(range(len(sizes))), render=lambda i: i, size=lambda i: sizes[i])
    for p in packs:
        assert sum(sizes[i] for i in p.items) <= MAX_EMBED_CHARS
    assert [p.items for p in packs] == [[0, 1], [2, 3], [4], [5], [6]]


def test_pack_of_nothing() -> None:
    assert pack([], render=lambda i: i, size=lambda e: 1) == []


def test_nonce_is_deterministic_short_and_specific() -> None:
    a = message_nonce(1, ["gaud_a", "gaud_b"])
    assert a == message_nonce(1, ["gaud_a", "gaud_b"])
    assert len(a) == 25 and a.isalnum()
    assert a != message_nonce(2, ["gaud_a", "gaud_b"])
    assert a != message_nonce(1, ["gaud_b", "gaud_a"])
    assert a != message_nonce(1, ["gaud_a"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("sends", [5, 6, 23])
async def test_pacer_never_allows_more_than_limit_in_a_window(monkeypatch, sends: int) -> None:
    clock = FakeClock()

    async def fake_sleep(delay: float) -> None:
        clock.now += delay

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    pacer = SlidingWindowPacer(5, 5.0, clock=clock, margin=0.0)
    stamps = []
    for _ in range(sends):
        await pacer.wait()
        stamps.append(clock.now)
        clock.now += 0.01  # sending takes a little time
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t - start < 5.0) <= 5
    # ...and it is not slower than it has to be: the 6th send waits for the 1st to leave the window.
    if sends > 5:
        assert stamps[5] == pytest.approx(5.0)
