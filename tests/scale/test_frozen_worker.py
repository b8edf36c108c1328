"""Issue #17: a worker frozen (SIGSTOP) in the middle of a join-request card round, past its lease,
acts on nothing it lost once it is let go (SIGCONT).

Two `groupbridge run --role worker` processes on one PostgreSQL database. The holder of the group
with the requests channel starts a card round for a new request and is frozen while VRChat answers
the requester's profile; the other worker takes the group over, and its own round posts the cards.
When the frozen worker wakes, the database says the group is no longer its: it calls VRChat for
nothing of that group, posts no card, and each card and feed message goes out once.

Who sent what: each process's VRChat requests carry its own User-Agent (tests.scale.fleet); Discord
requests all look alike, but a card's nonce is the same whichever process posts it, so a second
POST with it could only come from the frozen worker.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sandbox.vrchat.faults import Fault
from bot.sandbox.world import REQUESTS_CHANNEL_ID, WorldSettings
from bot.store import Store
from tests.scale.fleet import Fleet, build_world, owners, shares, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

GROUPS = 4
WORKERS = ("w1", "w2")
LEASE = 3.0


def card_nonces(fleet: Fleet) -> Counter[str]:
    posts = fleet.world.discord.requests_to("POST", f"/channels/{REQUESTS_CHANNEL_ID}/messages")
    return Counter(str(p.json.get("nonce")) for p in posts)


def calls_by(fleet: Fleet, label: str, since: float, path: str) -> list[str]:
    """The paths of the VRChat requests `label` sent since `since` (monotonic) whose path matches."""
    return [
        f"{r.method} {r.path}"
        for r in fleet.world.sim.requests
        if r.at >= since and fleet.sender(r.headers.get("User-Agent", "")) == label and path in r.path
    ]


async def test_a_worker_frozen_mid_round_past_its_lease_acts_on_nothing_it_lost(
    postgres_db_url: str, tmp_path: Path
) -> None:
    settings = WorldSettings(
        database_url=postgres_db_url,
        poll_interval=1.0,
        validate=False,  # the spec check's CPU is better spent on the processes
        env={"GROUPBRIDGE_FEED__LEASE_SECONDS": str(LEASE)},
    )
    fleet = await build_world(tmp_path, settings, GROUPS)
    world, state = fleet.world, fleet.world.sim.state
    group = world.community.group.id  # the one with a requests channel
    store: Store | None = None
    frozen = None
    try:
        first = await fleet.start("w1", "worker")  # alone first: it logs in and saves the session
        await world.wait_for(lambda: "Leases acquired" in first.log(), "w1 to start", 60, process=first)
        await fleet.start("w2", "worker")
        store = await Store.open(postgres_db_url)
        workers = [fleet.processes[w] for w in WORKERS]

        async def balanced() -> bool:
            want = {w: GROUPS // len(WORKERS) for w in WORKERS}
            return await shares(store, fleet, "group:") == want

        async def first_polls_done() -> bool:
            return sum(c.backfill_done for c in await store.list_cursors()) == GROUPS

        await wait_until(balanced, "an even share for each worker", 60, workers)
        await wait_until(first_polls_done, "every group's first poll", 30, workers)

        async def holder() -> str | None:
            owner = owners(await store.list_leases(), "group:").get(f"group:{group}")
            return fleet.label_of_owner(owner) if owner else None

        old = await holder()
        assert old in WORKERS
        new = next(w for w in WORKERS if w != old)
        frozen = fleet.processes[old]
        assert frozen.pid is not None

        # A request whose requester's profile VRChat is slow to give: the holder's round waits on it.
        xavier = state.add_user("Xavier", bio="Let me in")
        world.sim.faults.add(Fault(method="GET", path=rf"^/users/{xavier.id}$", delay=1.0, times=1))
        state.request_to_join(group, xavier.id)

        async def profile_asked() -> bool:
            return bool(calls_by(fleet, old, 0.0, f"/users/{xavier.id}"))

        await wait_until(profile_asked, "the holder's card round to ask for the profile", 30, workers)
        os.kill(frozen.pid, signal.SIGSTOP)  # frozen mid-round; VRChat's answer waits in its socket

        async def taken_over() -> bool:
            return await holder() == new

        await wait_until(taken_over, "the other worker to take the group over", 8 * LEASE)
        bot_id = world.community.bot.id
        updates = [state.add_audit_entry(group, "group.update", bot_id, group, f"u{i}").id for i in range(3)]
        yuki = state.add_user("Yuki", bio="Me too")
        state.request_to_join(group, yuki.id)  # the new holder's round posts both cards

        async def both_cards() -> bool:
            titles = [str(m.embeds[0].get("title", "")) for m in world.cards()]
            return any("Xavier" in t for t in titles) and any("Yuki" in t for t in titles)

        await wait_until(both_cards, "the new holder's cards", 30, [fleet.processes[new]])

        woke_at, woke_wall = time.monotonic(), datetime.now(UTC)
        logged = len(frozen.log())
        os.kill(frozen.pid, signal.SIGCONT)
        dropped = f"Join-request cards of {group}: left to the process that holds the group now"

        async def dropped_or_carried_on() -> bool:
            return dropped in frozen.log()[logged:] or bool(calls_by(fleet, old, woke_at, xavier.id))

        await wait_until(dropped_or_carried_on, "the woken worker to drop its round", 30, workers)
        leaked = calls_by(fleet, old, woke_at, xavier.id)
        assert leaked == [], leaked  # no profile, no groups lookup for the card it no longer owns

        async def feed_caught_up() -> bool:
            return set(updates) <= set(fleet.delivered(fleet.channels[group]))

        await wait_until(feed_caught_up, "the feed to deliver the entries", 30, workers)
        # The woken worker polled the group only if it took it back later, and only after that.
        lease = {x.name: x for x in await store.list_leases("group:")}[f"group:{group}"]
        back_at = woke_at + (lease.acquired_at - woke_wall).total_seconds()
        polls = [at for at, label in fleet.polls(group, woke_at) if label == old]
        assert fleet.label_of_owner(lease.owner) == old or polls == [], polls
        assert all(at >= back_at for at in polls), (polls, back_at)

        for process in workers:
            assert await process.stop() == 0
        titles = [str(m.embeds[0].get("title", "")) for m in world.cards()]
        assert sum("Xavier" in t for t in titles) == sum("Yuki" in t for t in titles) == 1, titles
        repeated = {nonce: n for nonce, n in card_nonces(fleet).items() if n > 1}
        assert repeated == {}  # no card was posted a second time, not even one Discord collapsed
        delivered = fleet.delivered(fleet.channels[group])
        assert len(delivered) == len(set(delivered))  # nothing twice in the feed
        assert [i for i in delivered if i in updates] == updates  # nothing lost, in order
    finally:
        if frozen is not None and frozen.running and frozen.pid is not None:
            os.kill(frozen.pid, signal.SIGCONT)  # a stopped process ignores SIGTERM until continued
        await fleet.stop_all()
        if store is not None:
            await store.close()
        await world.close()
