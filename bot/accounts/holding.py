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

from bot.accounts.desk import AccountDesk
from bot.lease_names import ACCOUNT, account_lease
from bot.leases import LeaseKeeper
from bot.store.ports import VRChatCallStore
from bot.vrchat.errors import AuthError, VRChatError
from bot.vrchat.pool import Account, AccountPool

log = logging.getLogger(__name__)


class AccountHolding:
    """Gates every account of the pool on its lease, takes an account up when it is gained, and runs
    the desk (bot.accounts.desk) that carries calls between this process and the accounts' holders."""

    def __init__(self, pool: AccountPool, leases: LeaseKeeper, store: VRChatCallStore) -> None:
        self._pool, self._leases = pool, leases
        self._taking: dict[str, asyncio.Task[bool]] = {}
        for account in pool.accounts:
            account.client.gate(partial(leases.holds, account_lease(account.name)), account.name)
        self.desk = AccountDesk(store, leases, pool, leases.owner)
        pool.calls = self.desk
        leases.subscribe(self.on_leases)

    async def start(self) -> None:
        """Before the leases start: calls for the accounts gained in their first round are heard."""
        await self.desk.start()

    async def on_leases(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        """A LeaseKeeper listener. The take-up runs in the background: a slow VRChat must not hold
        up the renewal of this process's other leases."""
        for name in sorted(gained):
            if not name.startswith(ACCOUNT):
                continue
            account = self._pool.account(name.removeprefix(ACCOUNT))
            if (task := self._taking.get(account.name)) is None or task.done():
                self._taking[account.name] = asyncio.create_task(
                    self.take_up(account), name=f"take up {account.name}"
                )
        for name in lost:
            if name.startswith(ACCOUNT):
                account = self._pool.account(name.removeprefix(ACCOUNT))
                if (task := self._taking.pop(account.name, None)) is not None:
                    task.cancel()
                log.info("VRChat account %s is no longer used from this process.", account.name)

    async def take_up(self, account: Account) -> bool:
        """This process now holds `account`: its saved session again, checked with one `GET /auth`;
        a refused one gets one password login where one is configured, else the session is blocked
        and the session alert tells. True when the session works."""
        try:
            user_id = await account.client.login()
        except AuthError as exc:
            log.error("VRChat account %s has no usable session here: %s", account.name, exc)
            account.client.block_session(str(exc))
            return False
        except VRChatError as exc:  # VRChat did not answer: the session is tried at the next call
            log.warning("Could not check the VRChat session of %s yet: %s", account.name, exc)
            return False
        log.info(
            "VRChat session OK for %s (%s); this process now calls VRChat with it.", account.name, user_id
        )
        return True

    async def stop(self) -> None:
        tasks = list(self._taking.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.desk.stop()
