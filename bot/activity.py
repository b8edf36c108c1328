"""Something was done in a VRChat group through the bot: a moderator's command, a decided join
request. Whoever polls the group listens, to look at it at the normal pace again (adaptive polling,
bot.feed.backoff): what the action did shows up in the group's log soon.

A hub the services can say it to and the feed can hear it from without either importing the other;
the bot connects them (bot.bot). In one process that is all. With several (on PostgreSQL), the
command is often taken by the gateway while a worker polls the group: a WakeRelay carries it there
through the database's per-group wake counters (bot.store.wakes). Each process with pollers reads the
counters of its own groups every WATCH_EVERY seconds, a single indexed read, and a counter that moved
is heard like a local command. A counter's move also wakes the relays through the wake bus
(bot.store.wake_bus: LISTEN/NOTIFY), which then read at once; the read a second stays, as the
fallback for a notice that was lost (a NOTIFY nobody heard, a listening connection being remade).

The same read carries the groups' asked counters (bot.store.wakes.asked_wake): work another process
wrote for the group's holder (a role-sync ask). A moved one is told to the `asked` listeners only: it
is no moderator's command, and changes neither the polling pace nor the request listing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from datetime import timedelta

from bot.store.ports import WakeStore
from bot.store.wake_bus import GROUP_WAKE
from bot.store.wakes import asked_wake

log = logging.getLogger(__name__)

WATCH_EVERY = 1.0  # seconds between two reads of this process's groups' wake counters
FORGET_WAKES_AFTER = timedelta(days=1)

#: Told the id of a group something was just done in.
ActivityListener = Callable[[str], None]


class GroupActivity:
    def __init__(self) -> None:
        self._listeners: list[ActivityListener] = []
        self._asked_listeners: list[ActivityListener] = []
        self._relay: ActivityListener | None = None

    def subscribe(self, listener: ActivityListener) -> None:
        self._listeners.append(listener)

    def subscribe_asked(self, listener: ActivityListener) -> None:
        """`listener(group_id)`: another process may have written work for the group's holder."""
        self._asked_listeners.append(listener)

    def asked(self, group_id: str) -> None:
        for listener in list(self._asked_listeners):
            self._tell(listener, group_id)

    def relay_to(self, relay: ActivityListener) -> None:
        """`relay` is told what is done in this process only, to tell the other processes."""
        self._relay = relay

    def touched(self, group_id: str) -> None:
        """Something was done in the group, here."""
        self.heard(group_id)
        if self._relay is not None:
            self._tell(self._relay, group_id)

    def heard(self, group_id: str) -> None:
        """Something was done in the group, here or in another process."""
        for listener in list(self._listeners):
            self._tell(listener, group_id)

    @staticmethod
    def _tell(listener: ActivityListener, group_id: str) -> None:
        try:
            listener(group_id)
        except Exception:  # a listener's bug must never fail the command that was done
            log.exception("An activity listener failed for %s", group_id)


class WakeRelay:
    """Carries GroupActivity between the processes sharing one database."""

    def __init__(
        self,
        activity: GroupActivity,
        store: WakeStore,
        *,
        watched: Callable[[], Collection[str]],
        every: float = WATCH_EVERY,
    ) -> None:
        """`watched`: the groups this process polls now (their wakes are the ones it wants to hear)."""
        self._activity, self._store, self._watched, self._every = activity, store, watched, every
        self._outgoing: set[str] = set()
        self._send_now = asyncio.Event()
        self._seen: dict[str, int] = {}  # the counters at the last read, of the groups watched then
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._unsubscribe: Callable[[], None] | None = None

    def _touched_here(self, group_id: str) -> None:
        self._outgoing.add(group_id)
        self._send_now.set()

    async def start(self) -> None:
        """The first read now, so that a command taken from here on is heard however soon it comes."""
        with contextlib.suppress(Exception):  # tidying only
            await self._store.purge_group_wakes(FORGET_WAKES_AFTER)
        with contextlib.suppress(Exception):  # the loop reads again in a second
            await self.listen()
        self._activity.relay_to(self._touched_here)
        self._unsubscribe = self._store.wake_bus.subscribe(GROUP_WAKE, self._moved_elsewhere)
        self._task = asyncio.create_task(self._run(), name="wake relay")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _moved_elsewhere(self, key: str | None) -> None:
        """A wake counter moved (None: some may have while nobody listened): read now if it is ours."""
        if key is None or key.partition("#")[0] in self._watched():
            self._send_now.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._send_now.wait(), timeout=self._every)
            self._send_now.clear()
            try:
                await self.send()
                await self.listen()
            except Exception as exc:  # the database is away: the polls carry on at their own pace
                if not self._failing:
                    log.warning("Could not pass moderators' commands between processes (%s).", exc)
                self._failing = True
            else:
                self._failing = False

    async def send(self) -> None:
        """Move the counters of the groups touched here since the last send."""
        groups, self._outgoing = self._outgoing, set()
        if not groups:
            return
        try:
            counts = await self._store.wake_groups(groups)
        except Exception:
            self._outgoing |= groups  # again next round
            raise
        for group_id, count in counts.items():
            if self._seen.get(group_id) == count - 1:  # ours alone: heard here already
                self._seen[group_id] = count

    async def listen(self) -> None:
        """Tell this process's listeners of each watched group whose counter moved since the last read.
        A group first watched is only read: what was done before it came here is in its first poll.
        The counters of groups no longer watched are kept: one that comes back is heard of whatever
        was done meanwhile (one look at the usual pace too many, at worst)."""
        watched = set(self._watched())
        if not watched:
            return
        asked = {asked_wake(g): g for g in watched}
        counts = await self._store.group_wakes(watched | set(asked))
        for group_id in sorted(watched):
            count, before = counts.get(group_id, 0), self._seen.get(group_id)
            self._seen[group_id] = count
            if before is not None and count != before:
                log.debug("%s was acted on in another process; polling it at the usual pace.", group_id)
                self._activity.heard(group_id)
        for key, group_id in sorted(asked.items()):
            count, before = counts.get(key, 0), self._seen.get(key)
            self._seen[key] = count
            if count != before:  # a first read too: work may have been asked before the group came here
                self._activity.asked(group_id)
