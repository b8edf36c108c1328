"""Poison data never stops the mirror: VRChat simulator -> poller -> store (SQLite and PostgreSQL) ->
outbox -> real discord.py -> Discord stand-in.

Text VRChat sends is made storable at the client; an entry that still cannot be read, stored,
rendered or sent is set aside (kept with the reason, announced once with its audit id) and
everything after it keeps flowing, in order, exactly once.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.feed.outbox import OutboxWorker
from bot.feed.pacing import SlidingWindowPacer
from bot.feed.poller import AuditPoller
from bot.feed.render import render_outbox_item
from bot.feed.sender import DiscordFeedSender
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.render import DROP
from bot.store import OutboxItem, Store
from bot.vrchat import VRChatClient
from tests.feed.conftest import bind
from tests.feed.conftest import started_poller as feed_poller
from tests.fixtures.discord_standin import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    logged_in_client,
    strict_standin,
)
from tests.fixtures.vrchat_sim import SeededSim

FOOTER_ID = re.compile(r"^(\S+)")
NOTICE_TITLE = "⚠ Audit entry set aside"


def posted(standin: DiscordStandIn) -> list[tuple[str, bool]]:
    """(audit id, is a set-aside notice) of every embed in the feed channel, in order."""
    out = []
    for message in standin.messages(FEED_CHANNEL_ID):
        for embed in message.embeds:
            footer = embed.get("footer", {}).get("text", "")
            match = FOOTER_ID.match(footer.replace("\\", ""))
            assert match, embed
            out.append((match.group(1), embed.get("title") == NOTICE_TITLE))
    return out


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with strict_standin(rate_limit=(5, 0.05)) as running:
        yield running


@pytest.fixture
async def client(standin: DiscordStandIn) -> AsyncIterator[discord.Client]:
    async with logged_in_client(standin) as logged_in:
        yield logged_in


def make_worker(
    store: Store, client: discord.Client, render: Callable[[OutboxItem], discord.Embed] = render_outbox_item
) -> OutboxWorker:
    return OutboxWorker(
        store,
        DiscordFeedSender(client),
        render=render,
        pacer_factory=lambda: SlidingWindowPacer(5, 0.05, margin=0.005),
    )


async def started_poller(vrc: VRChatClient, store: Store, seeded: SeededSim) -> AuditPoller:
    """A group bound to the stand-in's feed channel whose first poll (the anchor) is done: what comes
    next is posted."""
    return await feed_poller(vrc, store, seeded, channel_id=FEED_CHANNEL_ID)


def add(seeded: SeededSim, description: str, at: datetime) -> str:
    state = seeded.sim.state
    return state.add_audit_entry(
        seeded.group.id, "group.update", seeded.bot.id, seeded.group.id, description, created_at=at
    ).id


async def test_a_lone_surrogate_in_a_description_is_posted_and_the_feed_goes_on(
    vrc: VRChatClient, store: Store, seeded_sim: SeededSim, standin: DiscordStandIn, client: discord.Client
) -> None:
    """Issue #12: JSON "bad \\ud800 text" made store.ingest raise UnicodeEncodeError on every poll."""
    poller = await started_poller(vrc, store, seeded_sim)
    now = datetime.now(UTC)
    ids = [
        add(seeded_sim, text, now - timedelta(seconds=3 - i))
        for i, text in enumerate(["before", "bad \ud800 text", "after"])
    ]
    worker = make_worker(store, client)

    first = await poller.poll_safely()
    assert first is not None and first.new == 3 and first.set_aside == 0
    assert (await store.get_cursor(seeded_sim.group.id)).last_error is None  # type: ignore[union-attr]
    await worker.drain_once()
    assert posted(standin) == [(i, False) for i in ids]
    bad = standin.messages(FEED_CHANNEL_ID)[0].embeds[1]
    assert bad["description"] == "bad \ufffd text"  # the lone half became U+FFFD, the rest is intact
    page = await store.search_entries(group_id=seeded_sim.group.id, limit=10)
    assert "bad \ufffd text" in [e.description for e in page.entries]

    later = add(seeded_sim, "later", datetime.now(UTC))
    assert (await poller.poll_safely()) is not None
    await worker.drain_once()
    assert [i for i, _ in posted(standin)] == [*ids, later]


async def test_unreadable_entries_are_set_aside_in_place_and_announced_once(
    vrc: VRChatClient, store: Store, seeded_sim: SeededSim, standin: DiscordStandIn, client: discord.Client
) -> None:
    poller = await started_poller(vrc, store, seeded_sim)
    state, now = seeded_sim.sim.state, datetime.now(UTC)
    first = add(seeded_sim, "first", now - timedelta(seconds=5))
    no_time = state.inject_unchecked_audit_entry(
        seeded_sim.group.id, {"created_at": "yesterday-ish", "data": [1, 2]}, now - timedelta(seconds=4)
    ).id
    no_id = state.inject_unchecked_audit_entry(
        seeded_sim.group.id, {"id": DROP, "description": "\x00nul"}, now - timedelta(seconds=3)
    )
    state.inject_unchecked_audit_entry(
        seeded_sim.group.id, ["not", "an", "entry"], now - timedelta(seconds=2)
    )
    odd_types = state.inject_unchecked_audit_entry(
        seeded_sim.group.id,
        {"eventType": 7, "description": {"x": 1}, "actorId": [], "data": "text", "targetId": None},
        now - timedelta(seconds=1),
    ).id
    last = add(seeded_sim, "last", now)
    worker = make_worker(store, client)

    result = await poller.poll_safely()
    assert result is not None and result.new == 6 and result.set_aside == 3
    await worker.drain_once()
    shown = posted(standin)
    keys = [k for k, _ in shown]
    assert keys[:2] == [first, no_time] and keys[2] != keys[3] and keys[4:] == [odd_types, last]
    assert [notice for _, notice in shown] == [False, True, True, True, False, False]
    assert all(k.startswith("unreadable:") for k in keys[2:4])
    aside = {a.entry_id: a for a in await store.list_set_aside(seeded_sim.group.id)}
    assert set(aside) == {no_time, keys[2], keys[3]}
    assert all(a.stage == "parse" and a.raw for a in aside.values())
    assert "created_at" in aside[no_time].reason
    assert '"yesterday-ish"' in (aside[no_time].raw or "")
    assert no_id.id not in keys  # it had no id on the wire: it is known by its content
    # The entry whose fields had the wrong types was read liberally, not set aside.
    odd = standin.messages(FEED_CHANNEL_ID)[0].embeds[4]
    assert "x" in odd["description"] and "7" in odd["title"]

    # Nothing is announced twice; what comes next flows.
    again = await poller.poll_safely()
    assert again is not None and again.new == 0
    after = add(seeded_sim, "after", datetime.now(UTC))
    await poller.poll_safely()
    await worker.drain_once()
    assert [k for k, _ in posted(standin)] == [*keys, after]


async def test_an_entry_dated_in_the_future_cannot_hide_the_ones_after_it(
    vrc: VRChatClient, store: Store, seeded_sim: SeededSim, standin: DiscordStandIn, client: discord.Client
) -> None:
    poller = await started_poller(vrc, store, seeded_sim)
    now = datetime.now(UTC)
    before = add(seeded_sim, "before", now - timedelta(seconds=2))
    future = seeded_sim.sim.state.inject_unchecked_audit_entry(
        seeded_sim.group.id, {"created_at": "2150-01-01T00:00:00.000Z"}, now - timedelta(seconds=1)
    ).id
    assert (await poller.poll_safely()) is not None
    cursor = await store.get_cursor(seeded_sim.group.id)
    assert cursor is not None and cursor.newest_created_at is not None
    assert cursor.newest_created_at < now  # not moved to 2150 (it took the time of the entry before it)
    later = [add(seeded_sim, f"later {i}", datetime.now(UTC) + timedelta(milliseconds=i)) for i in range(3)]
    assert (await poller.poll_safely()) is not None
    worker = make_worker(store, client)
    await worker.drain_once()
    assert posted(standin) == [(before, False), (future, True), *[(i, False) for i in later]]
    (aside,) = await store.list_set_aside(seeded_sim.group.id)
    assert aside.entry_id == future and "future" in aside.reason


async def test_an_entry_the_renderer_fails_on_is_set_aside_the_rest_flow(
    store: Store, seeded_sim: SeededSim, vrc: VRChatClient, standin: DiscordStandIn, client: discord.Client
) -> None:
    poller = await started_poller(vrc, store, seeded_sim)
    now = datetime.now(UTC)
    ids = [add(seeded_sim, f"entry {i}", now - timedelta(seconds=5 - i)) for i in range(5)]

    def breaks_on_two(item: OutboxItem) -> discord.Embed:
        if item.entry.id == ids[2]:
            raise KeyError("a renderer bug")
        return render_outbox_item(item)

    await poller.poll_safely()
    worker = make_worker(store, client, breaks_on_two)
    result = await worker.drain_once()
    assert result.failed == 0 and result.entries == 5
    assert posted(standin) == [(i, i == ids[2]) for i in ids]
    (aside,) = await store.list_set_aside(seeded_sim.group.id)
    assert aside.stage == "render" and "KeyError" in aside.reason
    assert (await worker.drain_once()).messages == 0  # announced once


async def test_a_message_discord_refuses_is_split_until_the_refused_entry_is_set_aside(
    store: Store, seeded_sim: SeededSim, vrc: VRChatClient, standin: DiscordStandIn, client: discord.Client
) -> None:
    """Discord answers 400 for a packed message because of one of its ten embeds: the other nine
    still go out exactly once, in order, and the refused one is announced as set aside."""
    poller = await started_poller(vrc, store, seeded_sim)
    now = datetime.now(UTC)
    ids = [add(seeded_sim, f"entry {i}", now - timedelta(seconds=12 - i)) for i in range(12)]
    refused = ids[6]

    def too_long_title(item: OutboxItem) -> discord.Embed:
        embed = render_outbox_item(item)
        if item.entry.id == refused and item.set_aside is None:
            embed.title = "x" * 300  # over Discord's 256: the stand-in answers 400 for the message
        return embed

    await poller.poll_safely()
    worker = make_worker(store, client, too_long_title)
    result = await worker.drain_once()
    assert result.failed == 0 and result.entries == 12
    assert posted(standin) == [(i, i == refused) for i in ids]
    (aside,) = await store.list_set_aside(seeded_sim.group.id)
    assert aside.entry_id == refused and aside.stage == "send" and "400" in aside.reason
    # The stand-in flagged exactly the refused title (in the ten-embed message and its halves).
    assert standin.violations and all("title" in v for v in standin.violations)
    standin.violations.clear()
    assert (await store.outbox_stats()).total_pending == 0
    assert (
        await make_worker(store, client, too_long_title).drain_once()
    ).messages == 0  # a restart posts nothing again


async def test_a_crash_while_splitting_a_refused_message_neither_loses_nor_duplicates(
    store: Store, seeded_sim: SeededSim, vrc: VRChatClient, standin: DiscordStandIn, client: discord.Client
) -> None:
    """The halves are re-marked with their own nonces before they go out: a process that dies after
    the first half was sent leaves the rest in flight, and the next start finishes the job."""
    poller = await started_poller(vrc, store, seeded_sim)
    now = datetime.now(UTC)
    ids = [add(seeded_sim, f"entry {i}", now - timedelta(seconds=8 - i)) for i in range(8)]
    refused = ids[5]

    def too_long_title(item: OutboxItem) -> discord.Embed:
        embed = render_outbox_item(item)
        if item.entry.id == refused and item.set_aside is None:
            embed.title = "x" * 300
        return embed

    class Crash(BaseException):
        pass

    class CrashAfterFirstHalf(DiscordFeedSender):
        sent = 0

        async def send(self, channel_id: int, embeds, nonce: str, actions=()) -> int:  # type: ignore[no-untyped-def]
            message_id = await super().send(channel_id, embeds, nonce, actions)
            type(self).sent += 1
            if type(self).sent == 1:
                raise Crash  # the first half is in Discord, its rows still "sending"
            return message_id

    await poller.poll_safely()
    dying = OutboxWorker(
        store,
        CrashAfterFirstHalf(client),
        render=too_long_title,
        pacer_factory=lambda: SlidingWindowPacer(5, 0.05, margin=0.005),
    )
    with pytest.raises(Crash):
        await dying.drain_once()
    assert [k for k, _ in posted(standin)] == ids[:4]
    assert len(await store.rows_in_flight(FEED_CHANNEL_ID)) == 8

    await make_worker(store, client, too_long_title).drain_once()
    assert posted(standin) == [(i, i == refused) for i in ids]
    assert (await store.outbox_stats()).total_pending == 0
    standin.violations.clear()


async def test_an_entry_the_database_refuses_is_set_aside_and_announced(
    vrc: VRChatClient, store: Store, seeded_sim: SeededSim, standin: DiscordStandIn, client: discord.Client
) -> None:
    """PostgreSQL's btree index refuses a key over ~2.7 kB (after compression): an entry whose targetId
    is that long cannot be stored there (SQLite takes it). Either way the feed goes on."""
    poller = await started_poller(vrc, store, seeded_sim)
    now = datetime.now(UTC)
    before = add(seeded_sim, "before", now - timedelta(seconds=2))
    long_target = seeded_sim.sim.state.inject_unchecked_audit_entry(
        seeded_sim.group.id, {"targetId": "wrld_" + secrets.token_urlsafe(6000)}, now - timedelta(seconds=1)
    ).id
    after = add(seeded_sim, "after", now)
    result = await poller.poll_safely()
    assert result is not None and result.new == 3
    await make_worker(store, client).drain_once()
    refused = store.dialect_name == "postgresql"
    assert posted(standin) == [(before, False), (long_target, refused), (after, False)]
    aside = await store.list_set_aside(seeded_sim.group.id)
    if refused:
        (entry,) = aside
        assert entry.stage == "store" and "index row" in entry.reason and "wrld_" in (entry.raw or "")
    else:
        assert aside == []


async def test_an_id_another_groups_entry_holds_is_set_aside_not_lost(
    vrc: VRChatClient, store: Store, seeded_sim: SeededSim, standin: DiscordStandIn, client: discord.Client
) -> None:
    """VRChat's ids are global, so the store keys entries by id alone: a second group serving an id
    the first one's entry holds (or the same unreadable entry) would have it taken for a duplicate
    and dropped without a word. It is set aside under a key of its own group instead."""
    state, now = seeded_sim.sim.state, datetime.now(UTC)
    other = state.add_group("Other", short_code="OTHER", owner_id=seeded_sim.bot.id)
    other_channel = FEED_CHANNEL_ID + 7
    standin.add_channel(other_channel, guild_id=GUILD_ID, name="other-feed")
    poller = await started_poller(vrc, store, seeded_sim)
    await bind(store, other.id, other_channel)
    other_poller = AuditPoller(vrc, store, other.id)
    await other_poller.poll_once()

    mine = add(seeded_sim, "mine", now - timedelta(seconds=2))
    state.inject_unchecked_audit_entry(seeded_sim.group.id, {"id": DROP}, now - timedelta(seconds=1))
    await poller.poll_safely()
    state.add_audit_entry(other.id, "group.update", seeded_sim.bot.id, other.id, "x", created_at=now)
    state.inject_unchecked_audit_entry(other.id, {"id": mine}, now + timedelta(milliseconds=1))
    state.inject_unchecked_audit_entry(other.id, {"id": DROP}, now + timedelta(milliseconds=2))
    result = await other_poller.poll_safely()
    assert result is not None and result.new == 3 and result.set_aside == 2
    assert (await other_poller.poll_safely()).new == 0  # type: ignore[union-attr] # stable keys
    await make_worker(store, client).drain_once()

    assert [notice for _, notice in posted(standin)] == [False, True]
    theirs = [
        (embed.get("title") == NOTICE_TITLE, embed["footer"]["text"])
        for message in standin.messages(other_channel)
        for embed in message.embeds
    ]
    assert [notice for notice, _ in theirs] == [False, True, True]
    aside = {a.entry_id: a for a in await store.list_set_aside(other.id)}
    assert any("already used" in a.reason and mine in a.reason for a in aside.values())
    assert not set(aside) & {k for k, _ in posted(standin)}  # keys of their own
