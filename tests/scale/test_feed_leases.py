"""The mirror under leases, in one test process: two "processes" (own store, own keeper, own Discord
client) on one database, the VRChat simulator in, the Discord stand-in out."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.feed.outbox import OutboxWorker
from bot.feed.pacing import SlidingWindowPacer
from bot.feed.poller import AuditPoller
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.lease_names import channel_lease, group_lease
from bot.leases import LeaseKeeper, bound_lease_names
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.faults import Fault
from bot.store import BindingIn, Store
from bot.store.leases import LeaseLost
from tests.feed.test_outbox import GROUP, delivered_ids, make_entries
from tests.fixtures.discord_standin import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    logged_in_client,
    strict_standin,
)
from tests.fixtures.lease_moves import take_over, until_asked
from tests.fixtures.vrchat_sim import SeededSim, bot_client
from tests.scale.conftest import Clock, OpenStore

TTL = 30.0
SECOND_CHANNEL = FEED_CHANNEL_ID + 1


class Mono:
    """A keeper's monotonic clock, held still: the keeper never notices time passing by itself."""

    def __call__(self) -> float:
        return 1000.0


def fast_pacer() -> SlidingWindowPacer:
    return SlidingWindowPacer(5, 0.05, margin=0.005)


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with strict_standin(rate_limit=(5, 0.05)) as running:
        running.add_channel(SECOND_CHANNEL, guild_id=GUILD_ID, name="second")
        yield running


def keeper(store: Store, owner: str) -> LeaseKeeper:
    return LeaseKeeper(
        store, lambda: bound_lease_names(store), ttl=TTL, owner=owner, clock=Mono(), rng=random.Random(owner)
    )


async def test_a_holder_paused_past_its_lease_cannot_deliver_what_the_new_holder_delivers(
    open_store: OpenStore, clock: Clock, standin: DiscordStandIn
) -> None:
    store_a, store_b = await open_store(), await open_store()
    await store_a.add_binding(BindingIn(group_id=GROUP, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID))
    entries = make_entries(25)
    await store_a.ingest(GROUP, entries)
    a, b = keeper(store_a, "A"), keeper(store_b, "B")
    await a.tick()
    await b.tick()
    assert a.holds(channel_lease(FEED_CHANNEL_ID)) and not b.holds(channel_lease(FEED_CHANNEL_ID))
    posts = f"/channels/{FEED_CHANNEL_ID}/messages"
    async with logged_in_client(standin) as client_a, logged_in_client(standin) as client_b:
        worker_a = OutboxWorker(store_a, DiscordFeedSender(client_a), pacer_factory=fast_pacer, leases=a)
        worker_b = OutboxWorker(store_b, DiscordFeedSender(client_b), pacer_factory=fast_pacer, leases=b)
        assert (await worker_b.drain_once()).messages == 0  # not B's channel

        # A packs its first message and then stalls (a long GC pause, a frozen VM) past its lease...
        first = await store_a.pending_for_channel(FEED_CHANNEL_ID, limit=10)
        nonce = "stalled-message"
        fence = a.fence(channel_lease(FEED_CHANNEL_ID))
        assert await store_a.claim_pending([i.id for i in first], nonce, fence=fence)
        clock.advance(TTL + 1)
        round_b = await b.tick()
        assert channel_lease(FEED_CHANNEL_ID) in round_b.gained
        # ...wakes up still believing it holds the channel, and carries on. Issue #17: the send is
        # fenced too, so it sends nothing, not even the message it had claimed...
        assert a.holds(channel_lease(FEED_CHANNEL_ID))
        woke = await worker_a.drain_once()
        assert (woke.messages, woke.entries) == (0, 0)
        assert standin.requests_to("POST", posts) == []
        assert [i.id for i in await store_a.rows_in_flight(FEED_CHANNEL_ID)] == [i.id for i in first]
        await worker_b.drain_once()  # ...and the new holder sends that message (same nonce) and the rest
    assert delivered_ids(standin) == [e.id for e in entries]
    nonces = [p.json["nonce"] for p in standin.requests_to("POST", posts)]
    assert nonces[0] == nonce and len(set(nonces)) == len(nonces) == 3  # once each


async def test_each_process_polls_and_delivers_only_what_it_holds(
    open_store: OpenStore, standin: DiscordStandIn, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    state = seeded_sim.sim.state
    one = seeded_sim.group.id
    two = state.add_group("Second", short_code="SECOND", owner_id=seeded_sim.bot.id).id
    store_a, store_b = await open_store(), await open_store()
    for group, channel in ((one, FEED_CHANNEL_ID), (two, SECOND_CHANNEL)):
        await store_a.add_binding(BindingIn(group_id=group, guild_id=GUILD_ID, feed_channel_id=channel))
    a, b = keeper(store_a, "A"), keeper(store_b, "B")
    await a.tick()  # alone: all four leases
    await b.tick()
    await a.tick()  # gives back half
    await b.tick()  # takes them
    assert len(a.held) == len(b.held) == 3  # a group, a channel, its own presence

    async with (
        bot_client(seeded_sim, tmp_path / "session.json") as vrc,
        logged_in_client(standin) as client_a,
        logged_in_client(standin) as client_b,
    ):
        await vrc.login()
        services = []
        for store, client, held in ((store_a, client_a, a), (store_b, client_b, b)):
            worker = OutboxWorker(store, DiscordFeedSender(client), pacer_factory=fast_pacer, leases=held)
            services.append(FeedService(vrc, store, worker, leases=held))
        for service in services:
            await service.run_once()  # first polls: history stored, not posted
        new = {
            g: [state.add_audit_entry(g, "group.update", seeded_sim.bot.id, g, f"n{i}").id for i in range(3)]
            for g in (one, two)
        }
        cycles = [await service.run_once() for service in services]
        for service in services:  # a group's entries may be queued for the other process's channel
            await service.worker.drain_once()
    polled = [set(c.polls) for c in cycles]
    assert polled[0] | polled[1] == {one, two} and not polled[0] & polled[1]
    assert delivered_ids(standin) == new[one]
    assert delivered_ids(standin, SECOND_CHANNEL) == new[two]
    for group in (one, two):
        assert len(seeded_sim.sim.requests_to("GET", rf"/groups/{group}/auditLogs")) == 2  # once each time


async def answer_2fa(seeded: SeededSim) -> tuple[str, str]:
    return "totp", seeded.totp_now()


async def test_a_lost_session_is_announced_once_per_channel_not_once_per_process(
    open_store: OpenStore, standin: DiscordStandIn, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    second = seeded_sim.sim.state.add_group("Second", short_code="SECOND", owner_id=seeded_sim.bot.id).id
    store_a, store_b = await open_store(), await open_store()
    for group, channel in ((seeded_sim.group.id, FEED_CHANNEL_ID), (second, SECOND_CHANNEL)):
        await store_a.add_binding(BindingIn(group_id=group, guild_id=GUILD_ID, feed_channel_id=channel))
    a, b = keeper(store_a, "A"), keeper(store_b, "B")
    for held in (a, b, a, b):
        await held.tick()  # a group and its channel each
    async with (
        bot_client(seeded_sim, tmp_path / "a.json", totp_secret=None) as vrc_a,
        bot_client(seeded_sim, tmp_path / "b.json", totp_secret=None) as vrc_b,
        logged_in_client(standin) as client_a,
        logged_in_client(standin) as client_b,
    ):
        services = []
        for store, vrc, client, held in ((store_a, vrc_a, client_a, a), (store_b, vrc_b, client_b, b)):
            await vrc.login(prompt=lambda _methods: answer_2fa(seeded_sim))  # an operator at the login
            worker = OutboxWorker(store, DiscordFeedSender(client), pacer_factory=fast_pacer, leases=held)
            services.append(FeedService(vrc, store, worker, leases=held))
        seeded_sim.sim.expire_sessions(forget_devices=True)  # and no TOTP secret to log in again with
        for service in services:
            await service.run_once()
            await service.run_once()  # a second round of the same episode says nothing new
        assert vrc_a.session_blocked and vrc_b.session_blocked
        for name in ("a.json", "b.json"):  # the operator runs `groupbridge login` for each
            async with bot_client(seeded_sim, tmp_path / name, totp_secret=None) as operator:
                await operator.login(prompt=lambda _methods: answer_2fa(seeded_sim), force=True)
        for service in services:  # each picks up its session; the end is told once per channel too
            await service.run_once()
            await service.run_once()
        assert not (vrc_a.session_blocked or vrc_b.session_blocked)
    for channel in (FEED_CHANNEL_ID, SECOND_CHANNEL):
        titles = [e["title"] for m in standin.messages(channel) for e in m.embeds]
        assert titles == ["VRChat session expired", "VRChat session is back"], (channel, titles)


async def test_a_poller_that_wakes_after_its_group_moved_calls_vrchat_for_nothing_and_stores_nothing(
    open_store: OpenStore, clock: Clock, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    """Issue #17: a worker frozen past its lease (SIGSTOP, a paused VM) sent audit-log polls for groups
    another worker held as soon as it woke. Its keeper's clock stands still here, as a clock that
    did not notice the freeze: the database decides."""
    group, state = seeded_sim.group.id, seeded_sim.sim.state
    store_a, store_b = await open_store(), await open_store()
    await store_a.add_binding(BindingIn(group_id=group, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID))
    a, b = keeper(store_a, "A"), keeper(store_b, "B")
    await a.tick()
    await b.tick()
    lease = group_lease(group)
    async with bot_client(seeded_sim, tmp_path / "session.json") as vrc:
        await vrc.login()
        poller_a = AuditPoller(vrc, store_a, group, fence=lambda: a.fence(lease))
        assert await poller_a.poll_safely() is not None  # A's first poll, while A holds the group
        polls = len(seeded_sim.sim.requests_to("GET", rf"/groups/{group}/auditLogs"))

        clock.advance(TTL + 1)  # A freezes past its lease; B takes the group over
        assert lease in (await b.tick()).gained and a.holds(lease)
        new = [
            state.add_audit_entry(group, "group.update", seeded_sim.bot.id, group, f"n{i}").id
            for i in range(3)
        ]

        assert await poller_a.poll_safely() is None
        assert len(seeded_sim.sim.requests_to("GET", rf"/groups/{group}/auditLogs")) == polls
        # A write already on its way when the lease moved is refused whole by the database too.
        late = await store_a.get_cursor(group)
        with pytest.raises(LeaseLost):
            await store_a.ingest(group, make_entries(2), fence=a.fence(lease))
        assert await store_a.get_cursor(group) == late

        poller_b = AuditPoller(vrc, store_b, group, fence=lambda: b.fence(lease))
        result = await poller_b.poll_safely()
    assert result is not None and result.new == len(new)
    stored = {e.id for e in (await store_b.search_entries(group_id=group, limit=100)).entries}
    assert set(new) <= stored and not stored & {e.id for e in make_entries(2)}


async def test_a_poll_whose_group_moved_between_two_pages_asks_for_no_further_page(
    open_store: OpenStore, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    """Paging a long log can outlast the lease: each page after the first asks the database again."""
    group, state = seeded_sim.group.id, seeded_sim.sim.state
    store = await open_store()
    await store.add_binding(BindingIn(group_id=group, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID))
    a = keeper(store, "A")
    await a.tick()
    lease, logs = group_lease(group), rf"/groups/{group}/auditLogs"
    async with bot_client(seeded_sim, tmp_path / "session.json") as vrc:
        await vrc.login()
        poller = AuditPoller(vrc, store, group, fence=lambda: a.fence(lease))
        assert await poller.poll_safely() is not None
        cursor = await store.get_cursor(group)
        for i in range(150):  # two pages
            state.add_audit_entry(group, "group.update", seeded_sim.bot.id, group, f"n{i}")
        asked = len(seeded_sim.sim.requests_to("GET", logs))
        seeded_sim.sim.faults.add(Fault(method="GET", path=logs, delay=600, times=1))
        polling = asyncio.create_task(poller.poll_safely())
        await until_asked(seeded_sim.sim, logs, after=asked)
        await take_over(store, lease, "B")  # meanwhile
        seeded_sim.sim.faults.release_delays()  # the first page answers
        assert await polling is None
    assert len(seeded_sim.sim.requests_to("GET", logs)) == asked + 1  # no second page
    assert await store.get_cursor(group) == cursor
