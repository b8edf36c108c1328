"""When role sync runs: three ways in, one run per binding at a time (the service's lock).

1. The mirrored audit log: after a poll stored new entries (FeedService tells us, `nudge`), the
   group's role assign/unassign, join, leave, remove and ban entries are read back from the store
   and only those members are reconciled — within the poll that brought them. Entries the bot's own
   VRChat account wrote are skipped: they are the bot's writes coming back.
2. Links made or removed (the action log's link.* lines): those members, at the next tick.
3. A full reconcile of every binding that is not off, about every FULL_EVERY seconds (jittered),
   paging the group's members.
4. Discord member updates when the Server Members intent is on (the cog calls
   `discord_member_changed`). They reach only the process connected to Discord's gateway: for a
   group another process holds, it writes an ask (bot.store.role_sync_asks), which the holder reads
   at its next tick. Not at every tick: only after the group's asked counter moved (heard within a
   second through bot.activity's WakeRelay, which wakes the loop), after this process gained a
   group, at its start, and after each full round (a last resort, should a move go unheard).
Only groups this process holds (bot.leases) are run here, and each run asks the database for the
group's lease before it writes (a process frozen past its lease wakes up still believing it holds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from bot.lease_names import GROUP, group_lease
from bot.roles.service import RoleSyncService
from bot.store import Binding
from bot.store.feature_ports import RoleSyncFeed
from bot.store.leases import LeaseLost, LeaseView, lease_guard
from bot.store.role_sync_asks import ASKS_READ
from bot.vrchat import VRChatAPI, VRChatError

log = logging.getLogger(__name__)

FULL_EVERY = 900.0  # seconds between full reconciles of a binding
FORGET_ASKS_AFTER = timedelta(days=1)  # asks nobody read: their binding stopped syncing
FIRST_FULL_AFTER = 5.0  # the first full round, soon after the start
LOOKBACK = timedelta(minutes=10)  # entries reach the mirror after the event; seen ones are skipped by id
EVENT_TYPES = (
    "group.member.role.assign",
    "group.member.role.unassign",
    "group.member.join",
    "group.member.leave",
    "group.member.remove",
    "group.user.ban",
    "group.member.user.ban",
)
PAGE = 100
MAX_PAGES = 5


class RoleSyncLoop:
    def __init__(
        self,
        service: RoleSyncService,
        store: RoleSyncFeed,
        vrchat: VRChatAPI,
        *,
        holds_group: Callable[[str], bool],
        leases: Callable[[], LeaseView | None] = lambda: None,
        tick: float = 10.0,
        full_every: float = FULL_EVERY,
    ) -> None:
        self._service = service
        self._store = store
        self._vrchat = vrchat
        self._holds = holds_group
        self._leases = leases  # asked at each run: the bot's keeper starts after the cogs load
        self._tick = tick
        self._full_every = full_every
        self._nudged: set[str] = set()
        self._wake = asyncio.Event()
        self._asks_waiting = True  # asks written before this process started are read at its first tick
        self._seen: dict[str, datetime] = {}
        now = datetime.now(UTC)
        self._entries_checked_at = now
        self._links_checked_at = now

    def nudge(self, group_id: str) -> None:
        """The mirror stored new entries for this group: look at them now."""
        self._nudged.add(group_id)
        self._wake.set()

    def asked(self, group_id: str) -> None:
        """Another process may have asked about members of this group (bot.activity): read the asks."""
        if self._holds(group_id):
            self._asks_waiting = True
            self._wake.set()

    async def leases_changed(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        """A LeaseKeeper listener: a group gained may have asks waiting for its holder."""
        if any(name.startswith(GROUP) for name in gained):
            self._asks_waiting = True

    async def run(self, stop: asyncio.Event) -> None:
        clock = asyncio.get_running_loop().time
        next_full = clock() + FIRST_FULL_AFTER
        while not stop.is_set():
            try:
                await self.check_events()
                await self.check_links()
                await self.check_asks()
                if clock() >= next_full:
                    await self.full_round()
                    await self._store.purge_role_sync_asks(FORGET_ASKS_AFTER)
                    next_full = clock() + self._full_every * random.uniform(0.8, 1.2)
            except Exception:  # the store is unreachable, or the like: the next tick tries again
                log.exception("Role sync failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=min(self._tick, max(next_full - clock(), 0.1))
                )
            self._wake.clear()

    async def _bindings(self, group_ids: Collection[str] | None = None) -> list[Binding]:
        synced = set(await self._store.role_synced_bindings())
        return [
            b
            for b in await self._store.list_bindings()
            if b.id in synced and self._holds(b.group_id) and (group_ids is None or b.group_id in group_ids)
        ]

    async def full_round(self) -> int:
        done = 0
        for binding in await self._bindings():
            done += await self._run(binding, None)
        self._asks_waiting = True  # the asks it covered are dropped, and any whose counter went unheard
        return done

    async def _run(self, binding: Binding, scope: Collection[str] | None) -> int:
        guard = lease_guard(self._leases(), self._store, group_lease(binding.group_id))
        if guard is None:
            return 0  # given up since the bindings were listed
        try:
            outcome = await self._service.reconcile(binding, scope, guard=guard)
        except LeaseLost as exc:
            log.info(
                "Role sync of %s: left to the process that holds the group now (%s).", binding.group_id, exc
            )
            return 0
        except VRChatError as exc:
            log.warning("Role sync of %s failed: %s", binding.group_id, exc)
            return 0
        except Exception:
            log.exception("Role sync of %s failed; trying again later", binding.group_id)
            return 0
        if outcome is None:
            return 0
        if outcome.applied or outcome.refused or outcome.failed:
            log.info(
                "Role sync of %s: %d change(s) made, %d refused, %d failed%s.",
                binding.group_id,
                outcome.applied,
                outcome.refused,
                outcome.failed,
                f", {outcome.plan.held_back} removal(s) held back" if outcome.plan.held_back else "",
            )
        for note in outcome.notes:
            log.warning("Role sync of %s: %s; nothing was removed.", binding.group_id, note)
        return outcome.applied

    async def check_events(self) -> int:
        """Reconcile the members named by new role and membership entries of the mirrored audit log."""
        groups, self._nudged = self._nudged, set()
        now = datetime.now(UTC)
        since = self._entries_checked_at - LOOKBACK
        targets: dict[str, set[str]] = {}
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self._store.search_entries(
                event_types=list(EVENT_TYPES), since=since, limit=PAGE, before_cursor=cursor
            )
            for entry in page.entries:
                if entry.id in self._seen:
                    continue
                self._seen[entry.id] = entry.created_at
                bot_account = self._vrchat.user_id_for(entry.group_id)
                if entry.target_id and not (bot_account and entry.actor_id == bot_account):
                    targets.setdefault(entry.group_id, set()).add(entry.target_id)
            cursor = page.next_cursor
            if cursor is None:
                break
        self._entries_checked_at = now
        self._seen = {k: at for k, at in self._seen.items() if at >= now - LOOKBACK}
        del groups  # the nudge only woke us: the store says what is new
        if not targets:
            return 0
        done = 0
        for binding in await self._bindings(set(targets)):
            done += await self._run(binding, targets[binding.group_id])
        return done

    async def check_links(self) -> int:
        """Reconcile the VRChat accounts linked or unlinked since the last look, in every binding."""
        now = datetime.now(UTC)
        actions = await self._store.list_actions(action="link", since=self._links_checked_at, limit=500)
        self._links_checked_at = now
        users = {a.target_id for a in actions if a.target_id}
        if not users:
            return 0
        done = 0
        for binding in await self._bindings():
            done += await self._run(binding, users)
        return done

    async def discord_member_changed(self, guild_id: int, discord_user_id: int) -> int:
        """A member's roles changed in Discord (the Server Members intent): reconcile their link here
        in the bindings this process holds, and ask the holders of the others."""
        link = await self._store.link_of_discord(discord_user_id)
        if link is None:
            return 0
        synced = set(await self._store.role_synced_bindings())
        done = 0
        for binding in await self._store.list_bindings():
            if binding.guild_id != guild_id or binding.id not in synced:
                continue
            if self._holds(binding.group_id):
                done += await self._run(binding, {link.vrchat_user_id})
            else:
                await self._store.ask_role_sync(binding.id, binding.group_id, link.vrchat_user_id)
        return done

    async def check_asks(self) -> int:
        """Reconcile the members other processes asked about, in the bindings this one holds; the
        asks are dropped once their runs are over (bot.store.role_sync_asks). Only when some may be
        waiting: an idle tick asks the database nothing here."""
        if not self._asks_waiting:
            return 0
        self._asks_waiting = False  # cleared before the read: an ask heard meanwhile is read next tick
        try:
            return await self._answer_asks()
        except BaseException:
            self._asks_waiting = True  # the asks are still there: read them again next tick
            raise

    async def _answer_asks(self) -> int:
        bindings = {b.id: b for b in await self._bindings()}
        asks = await self._store.role_sync_asks(bindings)
        if not asks:
            return 0
        users: dict[int, set[str]] = {}
        for ask in asks:
            users.setdefault(ask.binding_id, set()).add(ask.vrchat_user_id)
        done = 0
        for binding_id, members in users.items():
            done += await self._run(bindings[binding_id], members)
        await self._store.drop_role_sync_asks(a.id for a in asks)
        if len(asks) >= ASKS_READ:  # a burst: the rest at the next tick
            self._asks_waiting = True
        return done
