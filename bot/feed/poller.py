"""The audit-log poller: one loop per bound group, paging VRChat's log into the store.

Each poll walks the log newest-first until it meets entries it already stored, then hands every new
entry (oldest first) to `Store.ingest`, which stores them, queues them for the feed channels and moves
the cursor in one transaction. Nothing is acknowledged before it is stored: a poll that fails half way
stores nothing and the next poll fetches the same pages again.

How long it waits between polls adapts (bot.feed.backoff): a group whose log stays empty is polled
less and less often, up to `PollSettings.quiet_ceiling`, and back at the interval as soon as
something happens there — a new entry, a moderator's command (`mark_active`), a pipeline notice
(`wake`). Its clock is injectable (`PollClock`), so tests and the bench run minutes of it at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from bot import crashpoints
from bot.store import AuditEntryIn, CursorUpdate, GroupCursor
from bot.store.leases import LeaseFence, LeaseGuard, LeaseLost
from bot.store.ports import PollerStore
from bot.vrchat import Forbidden, VRChatAPI, VRChatError
from bot.vrchat.models import AuditLogPage
from bot.vrchat.permissions import AUDIT_VIEW, refused_because

from .attribution import credit_from_store
from .backoff import JITTER_SECONDS, QuietBackoff
from .reading import MAX_FUTURE, claim_keys, page_entries, to_entry_in

__all__ = ["MAX_FUTURE", "AuditPoller", "LoopClock", "PollClock", "PollResult", "PollSettings", "to_entry_in"]

log = logging.getLogger(__name__)

POLL_FLOOR_SECONDS = 30.0
PAGE_SIZE = 100  # the API's maximum


@dataclass(frozen=True)
class PollSettings:
    interval: float = 60.0
    # Each wait is moved by up to this many seconds either way (never on a fixed clock); a wait at
    # the interval stays within interval + jitter_seconds (bot.feed.backoff).
    jitter_seconds: float = JITTER_SECONDS
    backfill: Literal["none", "last", "all"] = "none"
    backfill_count: int = 100
    post_backfill: bool = False
    # Late entries: keep reading this far behind the newest stored entry before stopping.
    overlap: timedelta = timedelta(minutes=5)
    # ...but never more than this many already-stored entries: after a burst the five minutes can hold
    # hundreds of entries, and an idle poll should still cost one request.
    overlap_entries: int = PAGE_SIZE
    max_pages: int = 50  # beyond this, what was not reached is recorded as a gap
    # Protects VRChat even from a caller that skipped the config check; only a simulator on loopback
    # (the demo, benchmarks) is polled with a lower floor.
    floor: float = POLL_FLOOR_SECONDS
    # A quiet group's wait grows up to this (bot.feed.backoff); None: the interval, i.e. it never grows.
    quiet_ceiling: float | None = None

    def __post_init__(self) -> None:
        if self.interval < self.floor:
            raise ValueError(f"poll interval must be at least {self.floor:g} s")
        if self.quiet_ceiling is not None and self.quiet_ceiling < self.interval:
            raise ValueError(f"the quiet ceiling must be at least the poll interval ({self.interval:g} s)")

    def backoff(self) -> QuietBackoff:
        ceiling = self.interval if self.quiet_ceiling is None else self.quiet_ceiling
        return QuietBackoff(self.interval, ceiling, jitter_seconds=self.jitter_seconds, floor=self.floor)


class PollClock(Protocol):
    """What the poller's loop waits with: the event loop's clock in the bot, a virtual one in tests."""

    def time(self) -> float: ...

    async def wait(self, events: Sequence[asyncio.Event], seconds: float) -> None:
        """Return when one of `events` is set or `seconds` have passed, whichever is first."""
        ...


class LoopClock:
    def time(self) -> float:
        return asyncio.get_running_loop().time()

    async def wait(self, events: Sequence[asyncio.Event], seconds: float) -> None:
        waits = {asyncio.ensure_future(event.wait()) for event in events}
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()


@dataclass
class PollResult:
    requests: int = 0
    new: int = 0
    queued: int = 0
    delayed: int = 0
    set_aside: int = 0  # new entries stored as set-aside placeholders (see bot.store.set_aside)
    backfill: bool = False
    gap: tuple[datetime, datetime] | None = None
    newest: list[str] = field(default_factory=list)


def _log_set_aside(group_id: str, entries: list[AuditEntryIn], ids: list[str]) -> None:
    """One line per entry newly set aside (the overlap reads an entry again; it is logged once)."""
    reasons = {e.id: e.set_aside.reason for e in entries if e.set_aside is not None}
    for entry_id in ids:
        if entry_id in reasons:
            log.warning("Audit entry %s of %s set aside: %s", entry_id, group_id, reasons[entry_id])


def _oldest_first(newest_first: list[AuditEntryIn]) -> list[AuditEntryIn]:
    """Oldest first. Entries of the same millisecond keep VRChat's own order (its list is newest
    first): that position is the only record of which happened first, and the outbox keeps it."""
    return sorted(reversed(newest_first), key=lambda e: e.created_at)


class AuditPoller:
    def __init__(
        self,
        source: VRChatAPI,
        store: PollerStore,
        group_id: str,
        settings: PollSettings | None = None,
        *,
        rng: random.Random | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        fence: Callable[[], LeaseFence | None] | None = None,
        clock: PollClock | None = None,
    ) -> None:
        """`fence`, with several processes: this process's proof that it holds the group's lease, or
        None once it does not. Each VRChat call and each write is made under it."""
        self.source = source
        self.store = store
        self.group_id = group_id
        self.settings = settings or PollSettings()
        self._rng = rng or random.Random()
        self._now = now
        self._fence = fence
        self.last_result: PollResult | None = None
        self._woken = asyncio.Event()
        self._active = asyncio.Event()  # activity while waiting: the wait shrinks to the interval
        self._clock: PollClock = clock or LoopClock()
        self._last_poll_at: float | None = None  # clock time the last poll started
        self.backoff = self.settings.backoff()

    # -- one iteration ---------------------------------------------------------------------------

    async def poll_once(self) -> PollResult:
        """Fetch what is new since the last poll and store it; raises on VRChat or database errors,
        and LeaseLost when the group is no longer this process's."""
        fence = self._held_fence()
        # The local clock may not have noticed a freeze (a paused VM): the database is asked once per
        # poll before VRChat is, so a late waker does not call VRChat for a group another process holds.
        if fence is not None and not await self.store.still_holds(fence):
            raise LeaseLost(f"lease {fence.name} passed to another process")
        cursor = await self.store.get_cursor(self.group_id)
        if cursor is None or not cursor.backfill_done:
            result = await self._first_poll()
        else:
            result = await self._incremental_poll(cursor)
        self.last_result = result
        return result

    def _bot_user_id(self) -> str | None:
        """The account VRChat records as the actor of the bot's own actions in this group: with
        several accounts (GroupRouter) the one serving it."""
        return self.source.user_id_for(self.group_id)

    def _held_fence(self) -> LeaseFence | None:
        """The fence to work under (None without leases); LeaseLost once the lease is gone."""
        if self._fence is None:
            return None
        fence = self._fence()
        if fence is None:
            raise LeaseLost(f"the lease on {self.group_id} is no longer held by this process")
        return fence

    async def _page(self, offset: int, result: PollResult) -> AuditLogPage:
        fence = self._held_fence()
        if offset and fence is not None:  # the first page's was asked in poll_once, just before
            await LeaseGuard(self.store, fence).check()  # paging a long log can outlast the lease
        result.requests += 1
        page = await self.source.get_audit_logs(self.group_id, n=PAGE_SIZE, offset=offset)
        crashpoints.reached("poller.after_fetch")
        return page

    async def _first_poll(self) -> PollResult:
        """First start for this group: store history as configured, without flooding the channel."""
        s, result = self.settings, PollResult(backfill=True)
        wanted = {"none": 1, "last": s.backfill_count, "all": None}[s.backfill]
        fetched: list[AuditEntryIn] = []
        untimed: set[str] = set()
        offset = 0
        while True:
            page = await self._page(offset, result)
            read = await claim_keys(self.store, self.group_id, page_entries(page, self._now(), self.group_id))
            fetched.extend(read.entries)
            untimed |= read.untimed
            offset += page.size
            if not page.size or not page.has_next:
                break
            if wanted is not None and len(fetched) >= wanted:
                # Enough history; read on only while still inside the overlap the next poll will look at.
                horizon = max(e.created_at for e in fetched) - s.overlap
                oldest = min(e.created_at for e in fetched)
                if oldest < horizon or len(fetched) >= wanted + s.overlap_entries:
                    break
        newest = max(
            (e for e in fetched if e.id not in untimed), key=lambda e: (e.created_at, e.id), default=None
        )
        if wanted is not None and newest is not None:
            # Also keep (unposted) what lies within the overlap of the newest entry: the next poll reads
            # that far back for late entries, and must not mistake this history for them.
            horizon = newest.created_at - s.overlap
            fetched = [e for i, e in enumerate(fetched) if i < wanted or e.created_at >= horizon]
        ingest = await self.store.ingest(
            self.group_id,
            _oldest_first(fetched),
            enqueue=s.post_backfill and s.backfill != "none",
            fence=self._held_fence(),
            cursor_update=CursorUpdate(
                newest_entry_id=newest.id if newest else None,
                newest_created_at=newest.created_at if newest else None,
                backfill_done=True,
            ),
        )
        result.new, result.queued, result.set_aside = (
            len(ingest.new_ids),
            ingest.queued,
            len(ingest.set_aside),
        )
        _log_set_aside(self.group_id, fetched, ingest.set_aside)
        if s.backfill == "none":
            log.info("Audit log of %s: mirrored from now on (feed.backfill = none).", self.group_id)
        else:
            posted = "posting them to the feed" if result.queued else "none for the feed channels' events"
            log.info(
                "Audit log of %s: stored %s of its history (feed.backfill = %s); %s.",
                self.group_id,
                "1 entry" if result.new == 1 else f"{result.new} entries",
                s.backfill,
                posted if s.post_backfill else "not posted (feed.post_backfill = false)",
            )
        return result

    async def _incremental_poll(self, cursor: GroupCursor) -> PollResult:
        s, result = self.settings, PollResult()
        horizon = cursor.newest_created_at - s.overlap if cursor.newest_created_at else None
        fresh: dict[str, AuditEntryIn] = {}
        untimed: set[str] = set()
        offset, reached_known, known_seen = 0, False, 0
        for _ in range(s.max_pages):
            page = await self._page(offset, result)
            read = await claim_keys(self.store, self.group_id, page_entries(page, self._now(), self.group_id))
            entries, untimed, known = read.entries, untimed | read.untimed, read.known
            known_seen += len(known)
            for entry in entries:  # newest first
                if entry.id in known:
                    reached_known = True
                elif not (reached_known and horizon is not None and entry.created_at < horizon):
                    # Past what we know, only the overlap window counts (late entries); older unknown
                    # entries are history the backfill setting chose not to keep.
                    fresh.setdefault(entry.id, entry)
            offset += page.size
            oldest = min((e.created_at for e in entries), default=None)
            behind_horizon = horizon is None or (oldest is not None and oldest < horizon)
            overlap_done = behind_horizon or known_seen >= s.overlap_entries
            if not page.has_next or not entries or (reached_known and overlap_done):
                break
        else:
            # Paged max_pages deep without meeting what we had: VRChat holds more than we can reach now.
            oldest_seen = min((e.created_at for e in fresh.values()), default=self._now())
            since = cursor.newest_created_at or oldest_seen
            result.gap = (since, oldest_seen)
            await self.store.record_gap(
                self.group_id, since, oldest_seen, f"more than {s.max_pages * PAGE_SIZE} new entries at once"
            )
            log.warning("Audit log of %s: gap between %s and %s", self.group_id, since, oldest_seen)

        bot_user_id = self._bot_user_id()
        batch = await credit_from_store(
            self.store, self.group_id, _oldest_first(list(fresh.values())), bot_user_id
        )
        newest = next((e for e in reversed(batch) if e.id not in untimed), None)
        delayed = [
            e.id for e in batch if cursor.newest_created_at and e.created_at < cursor.newest_created_at
        ]
        ingest = await self.store.ingest(
            self.group_id,
            batch,
            delayed_ids=delayed,
            fence=self._held_fence(),
            cursor_update=CursorUpdate(
                newest_entry_id=newest.id if newest else None,
                newest_created_at=newest.created_at if newest else None,
            ),
        )
        result.new, result.queued, result.delayed = len(ingest.new_ids), ingest.queued, len(delayed)
        result.set_aside = len(ingest.set_aside)
        _log_set_aside(self.group_id, batch, ingest.set_aside)
        if result.new:
            log.info(
                "Audit log of %s: %s, %s.",
                self.group_id,
                "1 new entry" if result.new == 1 else f"{result.new} new entries",
                "queued for the feed" if result.queued else "none of them for the feed channels' events",
            )
            log.debug("Audit log of %s: %d outbox rows queued.", self.group_id, result.queued)
        return result

    # -- the loop --------------------------------------------------------------------------------

    def next_delay(self) -> float:
        """The wait before the next poll: the interval, or longer while the group is quiet; jittered."""
        return self.backoff.delay(self._rng)

    async def poll_safely(self) -> PollResult | None:
        """One iteration as the loop runs it: an error is logged and recorded, never raised."""
        try:
            return await self.poll_once()
        except asyncio.CancelledError:
            raise
        except LeaseLost as exc:  # not a failure: the group's new holder polls it
            log.info("Audit log of %s: not polled by this process any more (%s).", self.group_id, exc)
        except VRChatError as exc:
            reason = str(exc)
            if isinstance(exc, Forbidden) and exc.method:  # VRChat's own 403, not a local refusal
                reason = f"VRChat refused to show the audit log: {refused_because(AUDIT_VIEW)}"
                log.debug("Audit log poll of %s: VRChat said %s", self.group_id, exc)
            log.warning("Audit log poll of %s failed: %s", self.group_id, reason)
            await self._record_failure(reason)
        except Exception as exc:
            log.exception("Audit log poll of %s failed unexpectedly", self.group_id)
            await self._record_failure(f"{type(exc).__name__}: {exc}")
        return None

    async def run(
        self, stop: asyncio.Event, *, on_result: Callable[[PollResult | None], None] | None = None
    ) -> None:
        """Poll until `stop` is set, with a jittered pause between polls; errors never end the loop."""
        delay = self._rng.uniform(0, min(5.0, self.settings.interval))  # spread groups' first polls
        while True:
            if await self._pause(stop, delay):
                return
            self._woken.clear()
            self._active.clear()  # this poll is the look the activity asked for
            self._last_poll_at = self._clock.time()
            result = await self.poll_safely()
            if result is not None:  # a failed poll says nothing about how quiet the group is
                self.backoff.polled(new_entries=result.new > 0)
            if on_result is not None:
                on_result(result)
            delay = self.next_delay()

    def wake(self) -> None:
        """The group is active (VRChat's pipeline said so): back to the base interval, and poll soon,
        though never sooner than the floor after the last poll, instead of at the next interval."""
        self.backoff.reset()
        self._woken.set()

    def mark_active(self) -> None:
        """Something was done in the group (a moderator's command): back to the base interval; a
        longer wait already under way is cut to the interval after the last poll."""
        if self.backoff.quiet:  # at the interval already: nothing to cut
            self._active.set()
        self.backoff.reset()

    async def _pause(self, stop: asyncio.Event, delay: float) -> bool:
        """Wait `delay` seconds, less once woken or marked active; True when `stop` was set meanwhile."""
        clock = self._clock
        deadline = clock.time() + delay
        while not stop.is_set():
            last = self._last_poll_at
            if self._active.is_set():
                self._active.clear()
                deadline = min(deadline, (last if last is not None else clock.time()) + self.next_delay())
            woken = self._woken.is_set()
            due = min(deadline, last + self.settings.floor) if woken and last is not None else deadline
            if woken and last is None:
                due = clock.time()
            remaining = due - clock.time()
            if remaining <= 0:
                return False
            # Once woken, only a stop (or more activity) matters until the floor has passed.
            await clock.wait([stop, self._active] if woken else [stop, self._active, self._woken], remaining)
        return True

    async def _record_failure(self, error: str) -> None:
        try:
            await self.store.record_poll(self.group_id, ok=False, error=error[:500])
        except Exception:
            log.exception("Could not record the failed poll of %s", self.group_id)
