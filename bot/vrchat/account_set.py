"""The accounts behind one bot (bot.vrchat.pool), before any group is placed on one: finding an account
by name or user, opening, logging in and closing them all, and where a call made with one goes.

With several processes an account is called by the one process holding its lease (bot.leases): a
call for an account held elsewhere is encoded and handed to that process (`calls`, bot.vrchat.remote),
its result or error decoded back. Which account serves each group is the pool's business.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from .client import VRChatClient
from .errors import AccountNotHeld, VRChatError
from .meter import RequestMeter
from .remote import AccountCalls, encode_arguments, outcome_of

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Account:
    """One account of the pool; `name` (the username) is what status and `login --account` show."""

    name: str
    client: VRChatClient
    meter: RequestMeter
    primary: bool = False
    http_session: aiohttp.ClientSession | None = None  # the pool closes it; the client does not own it


class AccountSet:
    """The pool's accounts and their calls; AccountPool adds which account serves each group."""

    def __init__(self, accounts: Sequence[Account]) -> None:
        if not accounts:
            raise ValueError("an AccountPool needs at least one account")
        names = [a.name.casefold() for a in accounts]
        if len(set(names)) != len(names):
            raise ValueError("account names must be unique")
        self._accounts = tuple(accounts)
        # With several processes: how a call reaches the process holding its account (bot.vrchat.remote).
        self.calls: AccountCalls | None = None

    def __len__(self) -> int:
        return len(self._accounts)

    def __repr__(self) -> str:
        return f"<AccountPool {', '.join(a.name for a in self._accounts)}>"

    @property
    def accounts(self) -> tuple[Account, ...]:
        return self._accounts

    @property
    def primary(self) -> Account:
        return next((a for a in self._accounts if a.primary), self._accounts[0])

    def account(self, name: str) -> Account:
        wanted = name.casefold()
        for account in self._accounts:
            if account.name.casefold() == wanted:
                return account
        raise KeyError(f"no account {name!r}; the accounts are {', '.join(a.name for a in self._accounts)}")

    def owner_of(self, user_id: str) -> Account | None:
        """The account that is this VRChat user (known once logged in)."""
        return next((a for a in self._accounts if a.client.user_id == user_id), None)

    # -- lifetime ---------------------------------------------------------------------------------

    async def open(self) -> None:
        for account in self._accounts:
            await account.client.__aenter__()

    async def login(self) -> dict[str, str]:
        """Log each account in, in turn: its saved session, else (unattended) password and TOTP. The
        first failure is raised, after a log line naming the account and how to fix it."""
        user_ids: dict[str, str] = {}
        for account in self._accounts:
            try:
                user_ids[account.name] = await account.client.login()
            except VRChatError:
                fix = "groupbridge login" + (f" --account {account.name}" if len(self) > 1 else "")
                log.error("VRChat account %s could not log in; run `%s`.", account.name, fix)
                raise
        return user_ids

    async def call(self, account: Account, method: str, *args: Any, **kwargs: Any) -> Any:
        """`account.client.<method>(*args, **kwargs)`, here when this process holds the account (or
        there are no leases), else in the process that holds it (`calls`, bot.vrchat.remote)."""
        calls = self.calls
        if calls is None:
            return await getattr(account.client, method)(*args, **kwargs)
        if calls.holds(account.name):
            try:
                return await getattr(account.client, method)(*args, **kwargs)
            except AccountNotHeld:
                # The lease moved while the call waited its turn. The gate refused before sending,
                # and nothing sent earlier in this call can have taken effect (a write is never
                # repeated, a 429 was not processed): the new holder makes it.
                if calls.holds(account.name):
                    raise
        encoded = encode_arguments(method, args, kwargs)
        return outcome_of(method, await calls.call(account.name, method, encoded))

    def held_here(self, account: Account) -> bool:
        return self.calls is None or self.calls.holds(account.name)

    async def close(self) -> None:
        for account in self._accounts:
            await account.client.close()
            if account.http_session is not None:
                await account.http_session.close()
