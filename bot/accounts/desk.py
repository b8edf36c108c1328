"""The desk: VRChat calls for an account this process does not hold, run by the process that does.

VRChat ties a session to the address that logged in, so each account's requests go out from the one
process holding its lease (bot.leases). A call for an account held elsewhere (a slash command taken
by the gateway, a poll of a group whose account another worker holds) is written to the database
(bot.store.vrchat_calls) as the method's name and its JSON arguments (bot.vrchat.remote); the holder
takes it, runs it on its own client (its rate limiter applies) and writes the outcome, which the
caller decodes into the same result or VRChatError a local call would have given.

The caller looks for the outcome every POLL_EVERY seconds up to CALL_DEADLINE. Nobody took the call by
then: it is withdrawn (so it never runs late) and AccountNotHeld says no running process holds the
account. Taken but no outcome: OutcomeUnknown, as for a request that timed out.

The holder looks for calls only while it holds an account (one indexed query a look): TAKE_EVERY
seconds after a look that took a call, twice as long after each empty one up to TAKE_IDLE_CAP, so a
quiet holder asks the database a few times a minute rather than four times a second. A call written by
another process waits TAKE_IDLE_CAP seconds at most before it is taken, well within its caller's
CALL_DEADLINE. A call written in this very process (where desks share memory: tests, a lease that
moved while the call was being handed over) rings the holder's doorbell, which looks at once; so
does a call written by another process on PostgreSQL, through the wake bus (bot.store.wake_bus), the
polling above staying as the fallback for a notice that was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.lease_names import account_lease
from bot.store.leases import LeaseView
from bot.store.ports import VRChatCallStore
from bot.store.vrchat_calls import VRChatCall
from bot.store.wake_bus import VRCHAT_CALL
from bot.vrchat.errors import AccountNotHeld, OutcomeUnknown, VRChatError
from bot.vrchat.pool import AccountPool
from bot.vrchat.remote import JSON, encode_error, run_encoded

log = logging.getLogger(__name__)

POLL_EVERY = 0.1  # seconds between a caller's looks at its call
TAKE_EVERY = 0.25  # seconds between the holder's looks for calls while it is taking some
TAKE_IDLE_CAP = 2.0  # seconds between them at most, when idle: a tenth of CALL_DEADLINE
CALL_DEADLINE = 20.0  # seconds a caller waits for the holder
PURGE_EVERY = 600.0
PURGE_AFTER = timedelta(hours=1)


class AccountDesk:
    """Both sides: `holds`/`call` for this process's own calls (bot.vrchat.remote.AccountCalls), and
    the loop running other processes' calls for the accounts held here."""

    def __init__(
        self,
        store: VRChatCallStore,
        leases: LeaseView,
        pool: AccountPool,
        owner: str,
        *,
        deadline: float = CALL_DEADLINE,
        poll_every: float = POLL_EVERY,
        take_every: float = TAKE_EVERY,
        take_idle_cap: float = TAKE_IDLE_CAP,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._store, self._leases, self._pool, self.owner = store, leases, pool, owner
        self._deadline, self._poll_every, self._take_every = deadline, poll_every, take_every
        self._take_idle_cap = max(take_idle_cap, take_every)
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._doorbell = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.served = 0  # calls run here for other processes

    # -- the caller's side --------------------------------------------------------------------------

    def holds(self, account: str) -> bool:
        return self._leases.holds(account_lease(account))

    async def call(self, account: str, method: str, arguments: dict[str, JSON]) -> JSON:
        call_id = await self._store.request_vrchat_call(account, method, json.dumps(arguments))
        _ring_holders(account)
        now = self._clock or asyncio.get_running_loop().time
        give_up = now() + self._deadline
        try:
            while now() < give_up:
                await asyncio.sleep(self._poll_every)
                call = await self._store.vrchat_call(call_id)
                if call is not None and call.state == "done" and call.outcome is not None:
                    return json.loads(call.outcome)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # not run late for a caller that left
                await asyncio.shield(self._store.drop_vrchat_call(call_id))
            raise
        if await self._store.drop_vrchat_call(call_id):
            raise AccountNotHeld(
                f"no running process holds VRChat account {account} (is a worker running?)", account=account
            )
        raise OutcomeUnknown(
            f"the process holding VRChat account {account} took the call but gave no outcome within "
            f"{self._deadline:g} s; it may or may not have been made",
            method=method,
        )

    # -- the holder's side --------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        _HOLDERS.add(self)
        self._unsubscribe = self._store.wake_bus.subscribe(VRCHAT_CALL, self._on_call_elsewhere)
        self._task = asyncio.create_task(self._run(), name="account desk")

    async def stop(self) -> None:
        _HOLDERS.discard(self)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = [t for t in (self._task, *self._running) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _held(self) -> list[str]:
        return [a.name for a in self._pool.accounts if self.holds(a.name)]

    def _ring(self, account: str) -> None:
        """A call for `account` was just written in this process's memory: look now if it is ours."""
        if self._loop is asyncio.get_running_loop() and self.holds(account):
            self._doorbell.set()

    def _on_call_elsewhere(self, account: str | None) -> None:
        """Another process wrote a call for `account` (None: calls may have come while nobody listened)."""
        if account is None:
            self._doorbell.set()
        else:
            self._ring(account)

    async def _until_next_look(self, wait: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._doorbell.wait()
        self._doorbell.clear()  # before the look: a ring during it makes the next look at once

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        purge_at = loop.time() + PURGE_EVERY
        failing = False
        wait = self._take_every
        while True:
            await self._until_next_look(wait)
            if not (held := self._held()):
                wait = self._take_every  # no query made: an account gained is looked for soon
                continue
            took = False
            try:
                for call in await self._store.take_vrchat_calls(self.owner, held):
                    took = True
                    task = asyncio.create_task(self._serve(call), name=f"vrchat call {call.id}")
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                if loop.time() >= purge_at:
                    purge_at = loop.time() + PURGE_EVERY
                    await self._store.purge_vrchat_calls(PURGE_AFTER)
            except Exception as exc:  # the database is away: the lease keeper says so too
                if not failing:
                    log.warning("Could not look for VRChat calls from other processes (%s).", exc)
                failing = True
            else:
                failing = False
            wait = self._take_every if took else min(2 * wait, self._take_idle_cap)

    async def _serve(self, call: VRChatCall) -> None:
        outcome: dict[str, Any]
        try:
            account = self._pool.account(call.account)
            outcome = await run_encoded(account.client, call.method, json.loads(call.arguments))
        except Exception as exc:  # a bug or a bad row: the caller must hear, not wait out the deadline
            log.exception("Running VRChat call %d (%s) for another process failed", call.id, call.method)
            outcome = {"error": encode_error(VRChatError(f"the call failed in the account's process: {exc}"))}
        self.served += 1
        try:
            await self._store.finish_vrchat_call(call.id, self.owner, json.dumps(outcome))
        except Exception as exc:
            log.warning("Could not record the outcome of VRChat call %d (%s).", call.id, exc)


# The desks of this process that hold accounts (several only where processes share memory: tests).
_HOLDERS: weakref.WeakSet[AccountDesk] = weakref.WeakSet()


def _ring_holders(account: str) -> None:
    for desk in list(_HOLDERS):
        desk._ring(account)
