"""Runs the audit-log mirror: a poller per bound group, the outbox worker, and retention.

Each group's poller is its own task with its own error handling, so one group's failure never stops
another's; the outbox worker is woken as soon as a poll queued something. After each poll the
session alert looks whether the VRChat client has given up on its session (bot.feed.alerts). With
several VRChat accounts, which one serves each polled group is looked at again now and then, and a
group that moves is told in its channels (bot.feed.account_moves).

With a LeaseKeeper (bot.leases) the service runs pollers only for the groups this process holds,
and starts and stops them as leases are won and lost; the outbox worker delivers only the channels
it holds. Without one it runs everything, as a lone process does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.lease_names import CHANNEL, GROUP, channel_lease, group_lease
from bot.leases import LeaseKeeper
from bot.store._base import utcnow
from bot.store.leases import LeaseFence
from bot.store.ports import FeedStore
from bot.store.wake_bus import OUTBOX
from bot.vrchat import VRChatAPI

from .account_moves import AccountMoves
from .alerts import SessionAlerts
from .outbox import DrainResult, OutboxWorker
from .poller import AuditPoller, PollResult, PollSettings
from .retention import RetentionSettings, purge_once

log = logging.getLogger(__name__)

RETENTION_EVERY = 6 * 3600.0  # seconds between retention purges
OUTBOX_IDLE = 5.0  # seconds between outbox looks when no poll woke it
OUTBOX_IDLE_SHARED = 1.0
# A group's mirror is live while its last poll went through within this many intervals (or the quiet
# ceiling and one interval more, for a quiet group polled at the ceiling).
LIVE_POLLS = 3


@dataclass
class CycleResult:
    polls: dict[str, PollResult | None]
    drain: DrainResult


class FeedService:
    def __init__(
        self,
        source: VRChatAPI,
        store: FeedStore,
        worker: OutboxWorker,
        settings: PollSettings | None = None,
        *,
        retention: RetentionSettings | None = None,
        leases: LeaseKeeper | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`clock`: what `mirror_live` measures with (the event loop's; a virtual one in tests)."""
        self.source = source
        self.store = store
        self.worker = worker
        self.settings = settings or PollSettings()
        self.retention = retention or RetentionSettings()
        self.pollers: dict[str, AuditPoller] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.alerts = SessionAlerts(source, store, worker.sender, leases=leases)
        pool = source.accounts
        self.moves = (
            AccountMoves(pool, store, worker.sender, speaks_for=self.holds_group)
            if pool is not None and len(pool) > 1
            else None
        )
        self._checks: set[asyncio.Task[list[int]]] = set()
        # Told the group's ID after a poll stored new entries (role sync reads them back at once).
        self._ingest_listeners: list[Callable[[str], None]] = []
        self.leases = leases
        if leases is not None:
            leases.subscribe(self._on_leases)
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._went_through: dict[str, float] = {}  # group -> clock time of its last poll that did
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def live_window(self) -> float:
        """How recent a group's last good poll must be for its mirror to count as live (seconds)."""
        interval = self.settings.interval
        ceiling = self.settings.quiet_ceiling or interval
        return max(LIVE_POLLS * interval, ceiling + interval)

    def mirror_live(self, group_id: str) -> bool:
        """Whether this process mirrors the group's audit log and its last poll went through within
        `live_window`: then a new join request reaches the store (as a `group.request.*` entry) within
        one poll, and listing the requests is only a reconcile (bot.requests.loop). False where the
        account may not view the log (every poll is refused), VRChat or the store keeps failing, or
        another process, or none, polls the group."""
        at = self._went_through.get(group_id)
        return group_id in self.pollers and at is not None and self._clock() - at <= self.live_window

    def _note_poll(self, group_id: str, result: PollResult | None) -> None:
        # A failed poll ends liveness at once: a refusal (no group-audit-view) or an outage means the
        # mirror no longer sees new requests, and the card loop goes back to listing them every round.
        if result is None:
            self._went_through.pop(group_id, None)
        else:
            self._went_through[group_id] = self._clock()

    async def bound_groups(self) -> list[str]:
        return sorted({b.group_id for b in await self.store.list_bindings()})

    def holds_group(self, group_id: str) -> bool:
        return self.leases is None or self.leases.holds(group_lease(group_id))

    def _fence_for(self, group_id: str) -> Callable[[], LeaseFence | None] | None:
        leases = self.leases
        if leases is None:
            return None
        return lambda: leases.fence(group_lease(group_id))

    def subscribe_ingest(self, listener: Callable[[str], None]) -> None:
        """`listener(group_id)` after every poll that stored new entries of the group (the
        runaway-moderator watchdog counts them)."""
        self._ingest_listeners.append(listener)

    def _stored(self, group_id: str, result: PollResult | None) -> None:
        if result is not None and result.new:
            for listener in self._ingest_listeners:
                listener(group_id)

    def wake(self, group_id: str) -> None:
        """Something happened in the group: its poller (if this process runs it) polls soon, and at
        the interval again if the group had been quiet."""
        poller = self.pollers.get(group_id)
        if poller is not None:
            poller.wake()

    def mark_active(self, group_id: str) -> None:
        """A moderator did something in the group: its poller (if here) is back at the interval."""
        poller = self.pollers.get(group_id)
        if poller is not None:
            poller.mark_active()

    async def sync_pollers(self) -> None:
        """One poller per bound group this process holds: start the missing ones, drop the others."""
        wanted = {g for g in await self.bound_groups() if self.holds_group(g)}
        for group_id in wanted - set(self.pollers):
            self.pollers[group_id] = AuditPoller(
                self.source, self.store, group_id, self.settings, fence=self._fence_for(group_id)
            )
        for group_id in set(self.pollers) - wanted:
            del self.pollers[group_id]
            self._went_through.pop(group_id, None)
            task = self._tasks.pop(group_id, None)
            if task is not None:
                task.cancel()
        if "outbox" in self._tasks:  # running: give new groups their loop now
            self._start_missing_tasks()

    async def _on_leases(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        """Stop the work of lost leases before returning (the keeper releases them after), then start
        what was gained."""
        groups = {n.removeprefix(GROUP) for n in lost if n.startswith(GROUP)}
        stopping = [task for g in groups if (task := self._tasks.pop(g, None)) is not None]
        for task in stopping:
            task.cancel()  # an ingest cut short rolls back whole; the next holder polls again
        await asyncio.gather(*stopping, return_exceptions=True)
        for group_id in groups:
            self.pollers.pop(group_id, None)
            self._went_through.pop(group_id, None)
        await self.worker.quiesce(int(n.removeprefix(CHANNEL)) for n in lost if n.startswith(CHANNEL))
        if gained:
            await self.sync_pollers()
            self._wake.set()  # a channel taken over may have a backlog

    async def run_once(self) -> CycleResult:
        """One poll of every group, then one drain of the outbox (what tests and `--once` use)."""
        await self.sync_pollers()
        polls = {group_id: await poller.poll_safely() for group_id, poller in self.pollers.items()}
        if any(result is not None for result in polls.values()):
            self.alerts.poll_went_through()
        for group_id, result in polls.items():
            self._note_poll(group_id, result)
            self._stored(group_id, result)
        await self.alerts.check()
        if self.moves is not None:
            await self.moves.tell()
        return CycleResult(polls=polls, drain=await self.worker.drain_once())

    # -- long-running ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._stop.clear()
        await self.sync_pollers()
        # Rows another process's poller queued for a channel held here wake the worker through the
        # wake bus (PostgreSQL). A notice can be lost, so with shared leases it still looks for them
        # every second while rows come, backing off to every five once none has come for a while.
        self._unsubscribe = self.store.wake_bus.subscribe(OUTBOX, self._on_queued_elsewhere)
        shared = self.leases is not None and not self.leases.exclusive
        idle, cap = (OUTBOX_IDLE_SHARED, OUTBOX_IDLE) if shared else (OUTBOX_IDLE, None)
        self._tasks["outbox"] = asyncio.create_task(
            self.worker.run(self._stop, self._wake, idle=idle, idle_cap=cap), name="outbox"
        )
        if self.retention.purges_anything:
            self._tasks["retention"] = asyncio.create_task(self._retention_loop(), name="retention")
        if self.moves is not None:
            self._tasks["accounts"] = asyncio.create_task(
                self.moves.run(self._stop, lambda: list(self.pollers), self.moves.pool.recheck_after),
                name="account recheck",
            )
        self._start_missing_tasks()

    def _on_queued_elsewhere(self, channel: str | None) -> None:
        """A process queued rows for `channel` (None: rows may have come while nobody listened)."""
        if channel is None or not channel.isdigit() or self.holds_channel(int(channel)):
            self._wake.set()

    def holds_channel(self, channel_id: int) -> bool:
        return self.leases is None or self.leases.holds(channel_lease(channel_id))

    def _start_missing_tasks(self) -> None:
        for group_id, poller in self.pollers.items():
            if group_id not in self._tasks:
                self._tasks[group_id] = asyncio.create_task(self._poll_loop(poller), name=f"poll {group_id}")

    async def _poll_loop(self, poller: AuditPoller) -> None:
        await poller.run(self._stop, on_result=lambda result: self._after_poll(result, poller.group_id))

    def _after_poll(self, result: PollResult | None, group_id: str | None = None) -> None:
        if group_id is not None:
            self._note_poll(group_id, result)
            self._stored(group_id, result)
        if result is not None:
            self.alerts.poll_went_through()
            if result.queued:
                self._wake.set()
        if self.alerts.needs_check():
            self._in_background(self._post_quietly(self.alerts.check, "the session alert"), "session alert")
        if self.moves is not None and self.moves.pending:
            self._in_background(self._post_quietly(self.moves.tell, "an account change"), "account moves")

    def _in_background(self, work: Coroutine[Any, Any, list[int]], name: str) -> None:
        if self._stop.is_set():  # a poll that ended during stop(): its follow-up would outlive the feed
            work.close()
            return
        task = asyncio.create_task(work, name=name)
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    @staticmethod
    async def _post_quietly(post: Callable[[], Awaitable[list[int]]], what: str) -> list[int]:
        try:
            return await post()
        except Exception:  # the store is unreachable, or the like: the next poll tries again
            log.exception("Checking whether to post %s failed", what)
            return []

    async def _retention_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if purged := (await purge_once(self.store, self.retention, utcnow())).describe():
                    log.info("Retention: purged %s", purged)
            except Exception:
                log.exception("Retention purge failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=RETENTION_EVERY)

    async def stop(self) -> None:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks: list[asyncio.Task[Any]] = [*self._tasks.values(), *self._checks]
        self._tasks.clear()
        done, pending = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("Feed task %s ended with an error", task.get_name(), exc_info=task.exception())
