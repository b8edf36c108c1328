"""The desk: VRChat calls for an account this process does not hold, run by the process that does.

VRChat ties a session to the address that logged in, so each account's requests go out from the one
process holding its lease (bot.leases). A call for an account held elsewhere (a slash command taken
by the gateway, a poll of a group whose account another worker holds) is written to the database
(bot.store.vrchat_calls) as the method's name and its JSON arguments (bot.vrchat.remote); the holder
takes it, runs it on its own client (its rate limiter applies) and writes the outcome, which the
caller decodes into the same result or VRChatError a local call would have given.

The caller looks for the outcome every POLL_EVERY seconds up to CALL_DEADLINE. Nobody took the call by
then: it is withdrawn (so it never runs late) and AccountNotHeld says no running process holds the
account. Taken but no outcome: OutcomeUnknown, as for a request that timed out. The holder looks for
calls every TAKE_EVERY seconds, only while it holds an account: one indexed query.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.lease_names import account_lease
from bot.store.leases import LeaseView
from bot.store.ports import VRChatCallStore
from bot.store.vrchat_calls import VRChatCall
from bot.vrchat.errors import AccountNotHeld, OutcomeUnknown, VRChatError
from bot.vrchat.pool import AccountPool
from bot.vrchat.remote import JSON, encode_error, run_encoded

log = logging.getLogger(__name__)

POLL_EVERY = 0.1  # seconds between a caller's looks at its call
TAKE_EVERY = 0.25  # seconds between the holder's looks for calls
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
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._store, self._leases, self._pool, self.owner = store, leases, pool, owner
        self._deadline, self._poll_every, self._take_every = deadline, poll_every, take_every
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.served = 0  # calls run here for other processes

    # -- the caller's side --------------------------------------------------------------------------

    def holds(self, account: str) -> bool:
        return self._leases.holds(account_lease(account))

    async def call(self, account: str, method: str, arguments: dict[str, JSON]) -> JSON:
        call_id = await self._store.request_vrchat_call(account, method, json.dumps(arguments))
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
        self._task = asyncio.create_task(self._run(), name="account desk")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._running) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _held(self) -> list[str]:
        return [a.name for a in self._pool.accounts if self.holds(a.name)]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        purge_at = loop.time() + PURGE_EVERY
        failing = False
        while True:
            await asyncio.sleep(self._take_every)
            if not (held := self._held()):
                continue
            try:
                for call in await self._store.take_vrchat_calls(self.owner, held):
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
