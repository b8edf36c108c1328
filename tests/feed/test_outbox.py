"""Outbox delivery through the real discord.py to the Discord stand-in: complete, ordered, exactly once."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.feed.outbox import OutboxWorker
from bot.feed.pacing import SlidingWindowPacer, message_nonce
from bot.feed.render import render_outbox_item
from bot.feed.sender import DiscordFeedSender
from bot.sandbox.discord import DiscordStandIn
from bot.store import AuditEntryIn, BindingIn, Store
from tests.fixtures.discord_standin import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    TOKEN,
    logged_in_client,
    strict_standin,
)
from tests.fixtures.statements import statements

GROUP = "grp_6e0c3f6e-6f1f-4b43-9f39-3c1c2a6f8a11"
GAUD = re.compile(r"gaud\\?_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
FAST = (5, 0.05)  # Discord's 5-per-window bucket, with the window scaled down for tests


def fast_pacer() -> SlidingWindowPacer:
    return SlidingWindowPacer(*FAST, margin=0.005)


def make_entries(count: int, **overrides: object) -> list[AuditEntryIn]:
    return [
        AuditEntryIn(
            id=f"gaud_{uuid.UUID(int=i + 1)}",
            created_at=T0 + timedelta(seconds=i),
            event_type=str(overrides.get("event_type", "group.user.ban")),
            actor_id="usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469",
            actor_display_name=str(overrides.get("actor_display_name", "Moderator")),
            target_id="usr_00000000-0000-0000-0000-000000000001",
            description=str(overrides.get("description", f"entry {i}")),
            data={},
        )
        for i in range(count)
    ]


def delivered_ids(standin: DiscordStandIn, channel: int = FEED_CHANNEL_ID) -> list[str]:
    ids = []
    for message in standin.messages(channel):
        for embed in message.embeds:
            match = GAUD.search(embed.get("footer", {}).get("text", ""))
            assert match, embed
            ids.append(match.group(0).replace("\\", ""))
    return ids


@pytest.fixture
async def store(sqlite_store: Store) -> Store:
    await sqlite_store.add_binding(
        BindingIn(group_id=GROUP, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
    )
    return sqlite_store


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with strict_standin(rate_limit=FAST) as running:
        yield running


@pytest.fixture
async def worker(store: Store, standin: DiscordStandIn) -> AsyncIterator[OutboxWorker]:
    async with logged_in_client(standin) as client:
        yield OutboxWorker(store, DiscordFeedSender(client), pacer_factory=fast_pacer)


@pytest.mark.slow  # a thousand entries delivered at Discord's (scaled) pace
async def test_a_1000_entry_burst_arrives_complete_in_order_packed(
    store: Store, standin: DiscordStandIn, worker: OutboxWorker
) -> None:
    entries = make_entries(1000)
    await store.ingest(GROUP, entries)
    result = await worker.drain_once()
    assert result.entries == 1000 and result.messages == len(standin.messages(FEED_CHANNEL_ID))
    assert delivered_ids(standin) == [e.id for e in entries]  # complete, in order, nothing twice
    assert all(1 <= len(m.embeds) <= 10 for m in standin.messages(FEED_CHANNEL_ID))
    assert result.messages <= 110  # packed, not one message per event
    assert standin.rate_limited_count == 0  # paced under the bucket instead of running into 429s
    assert all(m.allowed_mentions == {"parse": []} for m in standin.messages(FEED_CHANNEL_ID))
    assert (await store.outbox_stats()).total_pending == 0
    again = await worker.drain_once()
    assert again.messages == 0 and len(delivered_ids(standin)) == 1000


async def test_hostile_names_cannot_ping(store: Store, standin: DiscordStandIn, worker: OutboxWorker) -> None:
    await store.ingest(
        GROUP,
        make_entries(
            3, actor_display_name="@everyone", description="**bold** <@&123> @here [x](https://evil)"
        ),
    )
    await worker.drain_once()
    for message in standin.messages(FEED_CHANNEL_ID):
        text = str(message.embeds)
        assert "@everyone" not in text and "@here" not in text and "<@&123>" not in text
        assert message.allowed_mentions == {"parse": []}


async def test_unknown_event_types_are_delivered(
    store: Store, standin: DiscordStandIn, worker: OutboxWorker
) -> None:
    entries = make_entries(2, event_type="group.brand.new.thing")
    await store.ingest(GROUP, entries)
    await worker.drain_once()
    assert delivered_ids(standin) == [e.id for e in entries]


@pytest.mark.parametrize("status", [403, 404])
async def test_an_unusable_channel_pauses_its_binding_once(
    store: Store, standin: DiscordStandIn, worker: OutboxWorker, status: int
) -> None:
    standin.set_channel_error(FEED_CHANNEL_ID, status)
    await store.ingest(GROUP, make_entries(30))
    result = await worker.drain_once()
    assert result.paused == [FEED_CHANNEL_ID] and result.messages == 0
    (binding,) = await store.list_bindings(channel_id=FEED_CHANNEL_ID)
    assert binding.paused and binding.paused_reason and str(FEED_CHANNEL_ID) in binding.paused_reason
    tries = len(standin.requests_to("POST", f"/channels/{FEED_CHANNEL_ID}/messages"))
    assert tries == 1
    for _ in range(3):  # no retry storm: a paused channel is not probed again
        await worker.drain_once()
    assert len(standin.requests_to("POST", f"/channels/{FEED_CHANNEL_ID}/messages")) == tries

    standin.set_channel_error(FEED_CHANNEL_ID, None)  # fixed, and an admin resumes the binding
    await store.resume_binding(channel_id=FEED_CHANNEL_ID)
    await worker.drain_once()
    assert len(delivered_ids(standin)) == 30


async def test_a_gap_is_announced_once(store: Store, standin: DiscordStandIn, worker: OutboxWorker) -> None:
    await store.record_gap(GROUP, T0, T0 + timedelta(hours=2), "VRChat refused the audit log")
    await worker.drain_once()
    await worker.drain_once()
    (message,) = standin.messages(FEED_CHANNEL_ID)
    assert "VRChat refused the audit log" in str(message.embeds)
    assert await store.unnotified_gaps() == []


@pytest.mark.slow  # SIGKILLs a real delivery process
@pytest.mark.xdist_group("bot-process")
@pytest.mark.parametrize("mode", ["after-send", "before-send"])
@pytest.mark.parametrize("crash_at", [1, 4])
async def test_sigkill_mid_delivery_neither_loses_nor_duplicates(
    sqlite_url: str, store: Store, standin: DiscordStandIn, mode: str, crash_at: int
) -> None:
    entries = make_entries(95)  # ten messages' worth
    await store.ingest(GROUP, entries)
    db_url = sqlite_url  # the store's file

    async def bot_process(crash: str) -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.feed.outbox_child",
            db_url,
            standin.base_url,
            TOKEN,
            str(crash_at),
            crash,
        )
        return await asyncio.wait_for(proc.wait(), timeout=60)

    assert await bot_process(mode) == -9  # SIGKILL: no cleanup ran
    sent_before_restart = len(standin.messages(FEED_CHANNEL_ID))
    assert sent_before_restart == (crash_at if mode == "after-send" else crash_at - 1)
    in_flight = await store.rows_in_flight(FEED_CHANNEL_ID)
    assert in_flight  # the crashed message's rows were packed but never confirmed

    assert await bot_process("none") == 0  # restart
    assert delivered_ids(standin) == [e.id for e in entries]  # nothing missing, nothing doubled
    posts = standin.requests_to("POST", f"/channels/{FEED_CHANNEL_ID}/messages")
    if mode == "after-send":
        # The restarted process found the crashed message in the channel's history: no resend at all.
        assert len(posts) == len(standin.messages(FEED_CHANNEL_ID))
        assert standin.requests_to("GET", f"/channels/{FEED_CHANNEL_ID}/messages")
    assert (await store.outbox_stats()).total_pending == 0
    assert await store.rows_in_flight(FEED_CHANNEL_ID) == []


async def test_mentions_disabled_on_every_feed_message(standin: DiscordStandIn) -> None:
    # The sender, not the renderer, is what guarantees allowed_mentions; check it alone.
    async with logged_in_client(standin) as client:
        sender = DiscordFeedSender(client)
        await sender.send(FEED_CHANNEL_ID, [discord.Embed(description="@everyone")], "n1")
    (message,) = standin.messages(FEED_CHANNEL_ID)
    assert message.allowed_mentions == {"parse": []} and message.nonce == "n1"


async def test_without_history_the_same_nonce_still_prevents_a_duplicate(
    store: Store, standin: DiscordStandIn, worker: OutboxWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: if history cannot show the message (lookback exhausted), the nonce does."""
    import bot.feed.sender

    monkeypatch.setattr(bot.feed.sender, "HISTORY_LOOKBACK", 0)
    entries = make_entries(7)
    await store.ingest(GROUP, entries)
    items = await store.pending_for_channel(FEED_CHANNEL_ID)
    nonce = message_nonce(FEED_CHANNEL_ID, [i.entry.id for i in items])
    # What a process that died between Discord's answer and mark_sent leaves behind:
    await store.mark_packed([i.id for i in items], nonce)
    await worker.sender.send(FEED_CHANNEL_ID, [render_outbox_item(i) for i in items], nonce)

    await worker.drain_once()
    assert delivered_ids(standin) == [e.id for e in entries]
    posts = standin.requests_to("POST", f"/channels/{FEED_CHANNEL_ID}/messages")
    assert [p.json["nonce"] for p in posts] == [nonce, nonce]  # resent, and collapsed by Discord
    assert await store.rows_in_flight(FEED_CHANNEL_ID) == []


async def test_a_message_sent_again_after_a_crash_carries_the_same_select(
    store: Store, standin: DiscordStandIn, worker: OutboxWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The select under a feed message (bot.feed.actions) comes from the rows alone, as the embeds do:
    the message a restarted process sends again is exactly the one the dead process sent."""
    import bot.feed.sender
    from bot.feed.actions import feed_actions

    monkeypatch.setattr(bot.feed.sender, "HISTORY_LOOKBACK", 0)  # so it really is sent again
    await store.ingest(GROUP, make_entries(3))
    items = await store.pending_for_channel(FEED_CHANNEL_ID)
    nonce = message_nonce(FEED_CHANNEL_ID, [i.entry.id for i in items])
    await store.mark_packed([i.id for i in items], nonce)
    await worker.sender.send(
        FEED_CHANNEL_ID, [render_outbox_item(i) for i in items], nonce, feed_actions(items)
    )

    await worker.drain_once()
    first, again = standin.requests_to("POST", f"/channels/{FEED_CHANNEL_ID}/messages")
    assert again.json["nonce"] == first.json["nonce"]
    assert again.json["components"] == first.json["components"]
    (select,) = first.json["components"][0]["components"]
    assert select["custom_id"] == "gb:fa" and len(select["options"]) == 1  # one user, three entries
    assert len(standin.messages(FEED_CHANNEL_ID)) == 1


async def test_an_idle_worker_looks_ever_more_rarely_and_a_delivery_brings_it_back(
    store: Store, standin: DiscordStandIn, worker: OutboxWorker
) -> None:
    """With several processes nothing wakes the worker for rows another process queued: it looks on
    its own, every `idle` seconds while rows come and up to `idle_cap` apart when none do."""
    stop, wake = asyncio.Event(), asyncio.Event()
    with statements(store) as sent:
        running = asyncio.create_task(worker.run(stop, wake, idle=0.01, idle_cap=0.16))
        await asyncio.sleep(1.0)
    idle_looks = len([sql for sql, _ in sent if "FROM gaps" in sql])  # each look begins with the gaps
    try:
        # 0.01 + 0.02 + 0.04 + 0.08 s, then one look per 0.16 s: 4 + 6 at most; 100 without backing off.
        assert 1 <= idle_looks <= 12
        await store.ingest(GROUP, make_entries(1))  # as another process's poller: no wake here
        async with asyncio.timeout(10):
            while not delivered_ids(standin):  # noqa: ASYNC110 - the worker finds it on its own
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await running
    assert len(delivered_ids(standin)) == 1
