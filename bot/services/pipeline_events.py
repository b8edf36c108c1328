"""Join requests in seconds: VRChat's pipeline (bot.vrchat.pipeline), for the groups this process serves.

One connection per account serving a bound group, from the process holding the account's lease
(bot.leases, bot.accounts; the pool's `held_here` says which): the one process that calls VRChat
with that account at all, so two processes never run one account's pipeline, and the connection
leaves from the address the session belongs to (each client's gate also refuses to connect without
the lease). A lone process holds every account. What decides is looked at again on every lease
change and every RECHECK_EVERY seconds (bindings come and go, and with several accounts a group's
account is known only once it has been decided).

A join-request notice for a bound group this process also holds (its cards and polling) tells the
listeners, with the group's id and the requester's user ID when the notice names one: the card
loop fetches that group's pending requests and posts their cards now, and the feed polls the group
soon. A notice that names no group tells them about every held group the account serves.
Nothing from the notice itself is trusted beyond "look at this group now": the requests are fetched
from the API, which stays the source of truth. A notice about a bound group another process holds
is passed on to it through the wake bus (bot.store.wake_bus, PostgreSQL), whose listeners are then
told as if its own pipeline had heard it; a pass that is lost leaves the group to that process's
polling, as notices about unbound groups are, and everything while the pipeline is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.logs import register_secret
from bot.store.ports import PipelineStore
from bot.store.wake_bus import PIPELINE
from bot.vrchat import VRChatAPI
from bot.vrchat.pipeline import JoinRequestNotice, PipelineClient, PipelineEvent, PipelineStats

log = logging.getLogger(__name__)

RECHECK_EVERY = 60.0
# While a bound group's account is not known yet (a process that just gained an account decides its
# groups at their first call), look again this soon: its pipeline starts seconds, not a minute, later.
RECHECK_UNDECIDED = 5.0

#: Told the id of a bound group, held here, that VRChat says has a new join request, and the VRChat
#: user ID of the requester when the notice named them.
JoinRequestListener = Callable[[str, str | None], None]


@dataclass(eq=False)
class _Account:
    name: str
    pipeline: PipelineClient
    task: asyncio.Task[None] | None = None


class PipelineEvents:
    def __init__(
        self,
        vrchat: VRChatAPI,
        store: PipelineStore,
        url: str,
        *,
        holds_group: Callable[[str], bool] = lambda _: True,
        recheck_every: float = RECHECK_EVERY,
        pipeline_options: dict[str, Any] | None = None,
    ) -> None:
        options = {"on_token": register_secret, **(pipeline_options or {})}
        pool = vrchat.accounts
        if pool is not None:
            serving: Callable[[str], str | None] = pool.serving_name

            def holds(name: str) -> bool:
                return pool.held_here(pool.account(name))

        else:

            def serving(group_id: str) -> str | None:
                return ""  # one account serves every group

            def holds(name: str) -> bool:
                return True  # a lone client is this process's own

        self._serving = serving
        self._holds_account = holds
        pipelines = vrchat.pipelines(url, **options)
        self._accounts = [_Account(name, pipeline) for name, pipeline in pipelines.items()]
        self._several = len(pipelines) > 1  # then the log lines name the account
        self._store = store
        self._holds_group = holds_group
        self._recheck_every = recheck_every
        self._listeners: list[JoinRequestListener] = []
        self._deciding = asyncio.Lock()
        self._rechecking: asyncio.Task[None] | None = None
        self._stopped = False
        self._undecided = False
        self._unsubscribe: Callable[[], None] | None = None
        self.url = url

    def subscribe(self, listener: JoinRequestListener) -> None:
        self._listeners.append(listener)

    @property
    def stats(self) -> dict[str, PipelineStats]:
        """Each account's pipeline, by account name ("" for a lone client)."""
        return {a.name: a.pipeline.stats for a in self._accounts}

    def listening_for(self, group_id: str) -> bool:
        """True while this process's pipeline of the group's account is connected: a new join request
        there would be told at once, so a quiet group's request listing may slow down."""
        name = self._serving(group_id)
        return any(
            a.name == name and a.task is not None and a.pipeline.stats.connected for a in self._accounts
        )

    @property
    def running(self) -> list[str]:
        """The accounts whose pipeline this process runs."""
        return [a.name for a in self._accounts if a.task is not None]

    # -- which accounts -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopped = False
        if self._unsubscribe is None:
            self._unsubscribe = self._store.wake_bus.subscribe(PIPELINE, self._on_passed_on)
        await self.recheck()
        self._rechecking = asyncio.create_task(self._recheck_loop(), name="pipeline recheck")

    async def stop(self) -> None:
        self._stopped = True  # the lease listener may still hear of leases going: no restart then
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = [t for t in (self._rechecking, *(a.task for a in self._accounts)) if t is not None]
        self._rechecking = None
        for account in self._accounts:
            account.task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def on_leases(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        """A LeaseKeeper listener: which groups this process holds has changed."""
        await self.recheck()

    async def recheck(self) -> None:
        """Run the pipelines of the accounts held here that serve a bound group; stop the others."""
        async with self._deciding:
            if self._stopped:
                return
            groups = await self._bound_groups()
            self._undecided = any(self._serving(g) is None for g in groups)
            for account in self._accounts:
                serves = any(self._serving(g) == account.name for g in groups)
                wanted = serves and self._holds_account(account.name)
                if wanted and account.task is None:
                    log.info("Listening to VRChat's pipeline%s for new join requests.", self._of(account))
                    account.task = asyncio.create_task(
                        account.pipeline.run(partial(self._handle, account)),
                        name=f"pipeline {account.name}".strip(),
                    )
                elif not wanted and account.task is not None:
                    log.info("No longer listening to VRChat's pipeline%s here.", self._of(account))
                    account.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await account.task
                    account.task = None

    async def _recheck_loop(self) -> None:
        while True:
            undecided = self._undecided and any(a.task is None for a in self._accounts)
            await asyncio.sleep(
                min(RECHECK_UNDECIDED, self._recheck_every) if undecided else self._recheck_every
            )
            try:
                await self.recheck()
            except Exception:  # the store is unreachable, or the like: the pipelines run on as they are
                log.exception("Deciding which VRChat pipelines to run failed; trying again later")

    async def _bound_groups(self) -> list[str]:
        return sorted({b.group_id for b in await self._store.list_bindings()})

    # -- what they say ------------------------------------------------------------------------------

    async def _handle(self, account: _Account, event: PipelineEvent) -> None:
        if not isinstance(event, JoinRequestNotice):
            return  # a refusal: the pipeline client deals with it (and logs it)
        bound = [g for g in await self._bound_groups() if self._serving(g) == account.name]
        if event.group_id is not None:
            bound = [g for g in bound if g == event.group_id]
        targets = [g for g in bound if self._holds_group(g)]
        for group_id in (g for g in bound if g not in targets):  # its cards are another process's
            try:
                await self._store.wake_bus.send(PIPELINE, f"{group_id}:{event.user_id or ''}")
            except Exception as exc:  # the database is away: the group's holder polls it anyway
                log.debug("Could not pass the notice for %s on (%s).", group_id, type(exc).__name__)
        if not targets:
            log.debug("A join-request notice for %s is not for a group held here.", event.group_id)
            return
        log.debug("VRChat says %s has a new join request; looking now.", ", ".join(targets))
        self._tell(targets, event.user_id)

    def _on_passed_on(self, key: str | None) -> None:
        """Another process's pipeline heard of a join request in a group (key None: a reconnection,
        after which polling finds what was missed)."""
        group_id, _, user_id = (key or "").partition(":")
        if group_id and self._holds_group(group_id):
            log.debug("Another process's pipeline says %s has a new join request; looking now.", group_id)
            self._tell([group_id], user_id or None)

    def _tell(self, group_ids: Collection[str], user_id: str | None) -> None:
        for group_id in group_ids:
            for listener in self._listeners:
                try:
                    listener(group_id, user_id)
                except Exception:  # one listener's bug must not keep the others from hearing it
                    log.exception("A join-request listener failed for %s", group_id)

    def _of(self, account: _Account) -> str:
        return f" of {account.name}" if self._several else ""
