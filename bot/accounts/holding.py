"""Taking an account up when this process gains its lease (bot.leases), and nothing before.

A process calls VRChat with an account only while it holds `account:<name>` (the gate in each
client, bot.vrchat.transport), so the start logs no account in: the process that gains an account
loads its saved session (another process on this host may have renewed it since), checks it with
one `GET /auth`, and carries on with it. A refused session takes the existing path: one password
login where one is configured, else the session is blocked and the session alert tells; a lease that
comes and goes never makes a loop of logins, as a take-up is never retried before the lease is lost
and gained again (a lease time at least), and the client's own re-login interval still applies.

Losing the lease needs nothing here: the gate closes by itself, and the pipeline of the account stops
(bot.services.pipeline_events listens to the same changes). A process that does not hold an account
learns its user ID from the session file, without a request (who "the bot" is, in commands).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from bot.leases import ACCOUNT, LeaseView, account_lease
from bot.vrchat.pool import AccountPool

log = logging.getLogger(__name__)


class AccountHolding:
    def __init__(self, pool: AccountPool, leases: LeaseView) -> None:
        self._pool, self._leases = pool, leases
        self._taking: dict[str, asyncio.Task[bool]] = {}
        for account in pool.accounts:
            account.client.gate(partial(leases.holds, account_lease(account.name)), account.name)

    async def on_leases(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        """A LeaseKeeper listener. The take-up runs in the background: a slow VRChat must not hold
        up the renewal of this process's other leases."""
        for name in sorted(gained):
            if not name.startswith(ACCOUNT):
                continue
            account = self._pool.account(name.removeprefix(ACCOUNT))
            if (task := self._taking.get(account.name)) is None or task.done():
                self._taking[account.name] = asyncio.create_task(
                    self._pool.take_up(account), name=f"take up {account.name}"
                )
        for name in lost:
            if name.startswith(ACCOUNT):
                account = self._pool.account(name.removeprefix(ACCOUNT))
                if (task := self._taking.pop(account.name, None)) is not None:
                    task.cancel()
                log.info("VRChat account %s is no longer used from this process.", account.name)

    async def stop(self) -> None:
        tasks = list(self._taking.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
