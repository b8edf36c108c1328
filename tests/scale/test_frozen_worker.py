"""Issue #17: a worker frozen (SIGSTOP) past its lease in the middle of some work acts on nothing it
lost once it is let go (SIGCONT).

Two `groupbridge run --role worker` processes on one PostgreSQL database. The holder of the group
with the requests channel is frozen half way through a piece of work: a join-request card round
waiting on VRChat, or a feed message claimed and waiting for its turn under Discord's rate limit.
The other worker takes the group and its channel over and does that work. When the frozen worker
wakes, the database says the work is no longer its: it calls VRChat for nothing of that group, posts
no card and sends no message, and each card and feed message goes out once.

The one VRChat account is held by one of the two (bot.accounts): when that is not the frozen worker,
the frozen worker's calls are handed to it through the database, so what the frozen worker would
have asked after waking is looked for there too.

Who sent what: each process's VRChat requests carry its own User-Agent (tests.scale.fleet); Discord
requests all look alike, but a message's nonce is the same whichever process sends it, so a second
POST with it could only come from the frozen worker.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox.discord.models import RecordedRequest
from bot.sandbox.vrchat.faults import Fault
from bot.sandbox.world import REQUESTS_CHANNEL_ID, BotProcess, WorldSettings
from bot.store import Store
from bot.store.models import VRChatCallRow
from tests.scale.fleet import Fleet, build_world, owners, shares, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

GROUPS = 4
WORKERS = ("w1", "w2")
LEASE = 3.0
# README: a frozen process's leases run out and the other takes them at its next round, which it
# times for their expiry (every third of the lease at the latest).
TAKEOVER = LEASE + LEASE / 3
PACED_MESSAGES = 5  # the bot's own pacing of a feed channel: five messages per five seconds


@dataclass
class Pair:
    """The two workers, once they share the groups; `old` holds the group with the requests channel
    and its feed channel, and is the one the test freezes."""

    fleet: Fleet
    store: Store
    group: str
    feed: int
    old: str
    new: str

    @property
    def frozen(self) -> BotProcess:
        return self.fleet.processes[self.old]

    @property
    def workers(self) -> list[BotProcess]:
        return [self.fleet.processes[w] for w in WORKERS]

    async def holder(self, lease: str) -> str | None:
        owner = owners(await self.store.list_leases(), lease.partition(":")[0] + ":").get(lease)
        return self.fleet.label_of_owner(owner) if owner else None

    def signal_old(self, sig: signal.Signals) -> None:
        assert self.frozen.pid is not None
        os.kill(self.frozen.pid, sig)

    async def until_taken_over(self) -> None:
        async def taken_over() -> bool:
            return (
                await self.holder(f"group:{self.group}") == self.new
                and await self.holder(f"channel:{self.feed}") == self.new
            )

        # Idle or loaded, the takeover is quick (its lease runs out, the other's next round takes it):
        # the room is for a machine running the rest of the suite beside it.
        await wait_until(taken_over, "the other worker to take the group and its feed over", 6 * TAKEOVER)

    def repeated_nonces(self, channel_id: int) -> dict[str, int]:
        """Nonces POSTed to the channel more than once (a 429 is sent again, so not counted): Discord
        shows such a message once, but only a process that no longer owned it sends it again."""
        taken = Counter(str(p.json.get("nonce")) for p in self.posts(channel_id))
        return {nonce: n for nonce, n in taken.items() if n > 1}

    def posts(self, channel_id: int) -> list[RecordedRequest]:
        """The message POSTs to the channel that Discord took (a 429 is sent again)."""
        posts = self.fleet.world.discord.requests_to("POST", f"/channels/{channel_id}/messages")
        return [p for p in posts if p.status != 429]

    def calls_to(self, path: str) -> list[str]:
        """VRChat requests from either worker whose path contains `path`: a group's holder calls
        VRChat itself when it holds the account too, else the account's holder calls for it."""
        return [f"{r.method} {r.path}" for r in self.fleet.world.sim.requests if path in r.path]

    async def handed_over_since(self, since: datetime, needle: str) -> list[str]:
        """Calls handed to the account's holder (bot.accounts.desk) since `since` that mention `needle`:
        with the account held by the other worker, this is how the frozen one would reach VRChat."""
        async with self.store.engine.connect() as connection:
            rows = await connection.execute(
                select(VRChatCallRow.method, VRChatCallRow.arguments).where(VRChatCallRow.created_at >= since)
            )
            return [f"{method} {arguments}" for method, arguments in rows if needle in arguments]

    def calls_by_old(self, since: float, path: str) -> list[str]:
        """The frozen worker's VRChat requests since `since` (monotonic) whose path contains `path`."""
        return [
            f"{r.method} {r.path}"
            for r in self.fleet.world.sim.requests
            if r.at >= since
            and self.fleet.sender(r.headers.get("User-Agent", "")) == self.old
            and path in r.path
        ]


@asynccontextmanager
async def two_workers(
    postgres_db_url: str, tmp_path: Path, *, discord_rate_limit: tuple[int, float] = (5, 5.0)
) -> AsyncIterator[Pair]:
    settings = WorldSettings(
        database_url=postgres_db_url,
        discord_rate_limit=discord_rate_limit,
        poll_interval=1.0,
        validate=False,  # the spec check's CPU is better spent on the processes
        env={"GROUPBRIDGE_FEED__LEASE_SECONDS": str(LEASE)},
    )
    fleet = await build_world(tmp_path, settings, GROUPS)
    world = fleet.world
    store: Store | None = None
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
        group = world.community.group.id  # the one with a requests channel
        pair = Pair(fleet, store, group, fleet.channels[group], "", "")
        old = await pair.holder(f"group:{group}")
        assert old in WORKERS
        pair.old, pair.new = old, next(w for w in WORKERS if w != old)
        assert await pair.holder(f"channel:{pair.feed}") == old  # a channel goes with its group
        yield pair
        for process in workers:
            assert await process.stop() == 0
    finally:
        for process in fleet.processes.values():
            if process.running and process.pid is not None:
                os.kill(process.pid, signal.SIGCONT)  # a stopped process ignores SIGTERM until continued
        await fleet.stop_all()
        if store is not None:
            await store.close()
        await world.close()


async def test_a_worker_frozen_mid_card_round_past_its_lease_calls_and_posts_nothing_for_it(
    postgres_db_url: str, tmp_path: Path
) -> None:
    async with two_workers(postgres_db_url, tmp_path) as pair:
        world, state, group = pair.fleet.world, pair.fleet.world.sim.state, pair.group
        # A request whose requester's profile VRChat is slow to give: the holder's round waits on it.
        xavier = state.add_user("Xavier", bio="Let me in")
        world.sim.faults.add(Fault(method="GET", path=rf"^/users/{xavier.id}$", delay=1.0, times=1))
        state.request_to_join(group, xavier.id)

        async def profile_asked() -> bool:
            return bool(pair.calls_to(f"/users/{xavier.id}"))

        await wait_until(profile_asked, "the holder's card round to ask for the profile", 30, pair.workers)
        pair.signal_old(signal.SIGSTOP)  # frozen mid-round; VRChat's answer waits in its socket
        await pair.until_taken_over()
        bot_id = world.community.bot.id
        updates = [state.add_audit_entry(group, "group.update", bot_id, group, f"u{i}").id for i in range(3)]
        yuki = state.add_user("Yuki", bio="Me too")
        state.request_to_join(group, yuki.id)  # the new holder's round posts both cards

        async def both_cards() -> bool:
            titles = [str(m.embeds[0].get("title", "")) for m in world.cards()]
            return any("Xavier" in t for t in titles) and any("Yuki" in t for t in titles)

        await wait_until(both_cards, "the new holder's cards", 30, [pair.fleet.processes[pair.new]])

        woke_at, woke_wall = time.monotonic(), datetime.now(UTC)
        logged = len(pair.frozen.log())
        pair.signal_old(signal.SIGCONT)
        dropped = f"Join-request cards of {group}: left to the process that holds the group now"

        async def leaked() -> list[str]:
            return pair.calls_by_old(woke_at, xavier.id) + await pair.handed_over_since(woke_wall, xavier.id)

        async def dropped_or_carried_on() -> bool:
            return dropped in pair.frozen.log()[logged:] or bool(await leaked())

        await wait_until(dropped_or_carried_on, "the woken worker to drop its round", 30, pair.workers)
        assert await leaked() == []  # no profile, no groups lookup for the card it no longer owns

        async def feed_caught_up() -> bool:
            return set(updates) <= set(pair.fleet.delivered(pair.feed))

        await wait_until(feed_caught_up, "the feed to deliver the entries", 30, pair.workers)
        # The woken worker polled the group only if it took it back later, and only after that.
        lease = {x.name: x for x in await pair.store.list_leases("group:")}[f"group:{group}"]
        back_at = woke_at + (lease.acquired_at - woke_wall).total_seconds()
        polls = [at for at, label in pair.fleet.polls(group, woke_at) if label == pair.old]
        assert pair.fleet.label_of_owner(lease.owner) == pair.old or polls == [], polls
        assert all(at >= back_at for at in polls), (polls, back_at)

    titles = [str(m.embeds[0].get("title", "")) for m in world.cards()]
    assert sum("Xavier" in t for t in titles) == sum("Yuki" in t for t in titles) == 1, titles
    assert pair.repeated_nonces(REQUESTS_CHANNEL_ID) == {}  # no card posted twice, even collapsed
    delivered = pair.fleet.delivered(pair.feed)
    assert len(delivered) == len(set(delivered)) and [i for i in delivered if i in updates] == updates


async def test_a_worker_frozen_between_claiming_a_feed_message_and_sending_it_sends_nothing(
    postgres_db_url: str, tmp_path: Path
) -> None:
    # Discord's bucket roomier than the bot's own pacing (five messages per five seconds): the wait
    # before the sixth message is then the pacer's, after the claim, not discord.py's inside a request.
    async with two_workers(postgres_db_url, tmp_path, discord_rate_limit=(50, 5.0)) as pair:
        world, state, group, feed = pair.fleet.world, pair.fleet.world.sim.state, pair.group, pair.feed
        # Ten messages of ten entries: the sixth is claimed and then waits for its turn, for seconds.
        bot_id = world.community.bot.id
        burst = [state.add_audit_entry(group, "group.update", bot_id, group, f"b{i}").id for i in range(100)]

        async def sixth_waiting() -> bool:  # claimed (rows `sending`), not in the channel yet
            # Each of the first five is claimed too, for the moment of its guard check and POST: frozen
            # there, the worker would send it on waking, past the check (the window Discord's nonce
            # covers). Only the sixth waits on the pacer, before its check.
            if len(pair.posts(feed)) < PACED_MESSAGES:
                return False
            claimed = {row.entry.id for row in await pair.store.rows_in_flight(feed)}
            return bool(claimed) and not claimed & set(pair.fleet.delivered(feed))

        await wait_until(sixth_waiting, "the sixth message to be claimed", 30, pair.workers)
        pair.signal_old(signal.SIGSTOP)
        claimed = {row.entry.id for row in await pair.store.rows_in_flight(feed)}
        await pair.until_taken_over()

        async def claimed_message_sent() -> bool:  # by the new holder, with the same nonce
            return claimed <= set(pair.fleet.delivered(feed))

        await wait_until(claimed_message_sent, "the new holder to send the claimed message", 30)
        logged = len(pair.frozen.log())
        pair.signal_old(signal.SIGCONT)
        dropped = f"Feed channel {feed}: left to the process that holds it now"

        async def dropped_or_sent() -> bool:
            return dropped in pair.frozen.log()[logged:] or bool(pair.repeated_nonces(feed))

        await wait_until(dropped_or_sent, "the woken worker to drop the message", 30, pair.workers)
        assert pair.repeated_nonces(feed) == {}

        async def all_delivered() -> bool:
            return set(burst) <= set(pair.fleet.delivered(feed))

        await wait_until(all_delivered, "the burst in the channel", 60, pair.workers)
    delivered = pair.fleet.delivered(feed)
    assert len(delivered) == len(set(delivered)) and [i for i in delivered if i in burst] == burst
    assert pair.repeated_nonces(feed) == {}
