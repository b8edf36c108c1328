"""Several VRChat accounts behind one bot: which account serves each group, and how much of its
request budget each one is using.

Each account is a whole VRChatClient (its own session file, login, 2FA and rate limiter), so the
politeness rules hold per account whatever the others do. A group is served by an account VRChat
reports as a member with the permissions the bot needs there: `GET /groups/{id}` tells the caller its
own `membershipStatus` and `myMember.permissions`. Of the accounts that can, the one serving the
fewest groups takes it (ties: the primary, then config order), so the periodic polling spreads;
groups only one account can serve are placed first.

When it is decided: `assign()` (the bot passes the allow-list at start), and for a group not seen
yet (a binding made later with /bridge link) at the first call for it. A served group keeps its
account until the next `assign()` or restart: when VRChat takes a permission away, the calls
themselves answer 403, which reaches the feed's last error and /bridge status; moving the group
quietly would hide that. A group no account can serve is never handed to the primary: its calls
raise NoServingAccount (a Forbidden, which every caller already handles) without a request, and it
is looked at again after `recheck_after` seconds, so a role granted in VRChat is picked up without
a restart.

With one account there is nothing to choose: every group goes to it without asking VRChat, exactly
as before there were several.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from .client import VRChatClient
from .errors import Forbidden, NotFound, VRChatError
from .models import Group

log = logging.getLogger(__name__)

#: What the bot does in every group it serves: mirror the audit log and handle join requests.
REQUIRED_PERMISSIONS: tuple[str, ...] = ("group-audit-view", "group-invites-manage")
BUDGET_WINDOW = 60.0  # seconds: the budget is "requests in the last minute"
RECHECK_AFTER = 900.0  # seconds before a group no account could serve is looked at again


class NoServingAccount(Forbidden):
    """No account of the bot is a member of the group with the permissions it needs there."""

    def __init__(self, group_id: str, names: Sequence[str], permissions: Sequence[str]) -> None:
        super().__init__(
            f"none of the bot's VRChat accounts ({', '.join(names)}) is a member of this group with "
            f"the permissions {', '.join(permissions)}",
            status=403,
            path=f"/groups/{group_id}",
        )
        self.group_id = group_id

    def __str__(self) -> str:  # no request was made, so not "VRChat answered 403"
        return f"No VRChat account can serve {self.group_id}: {self.message}."


@dataclass(frozen=True, slots=True)
class Standing:
    """An account's place in a group, as VRChat tells that account."""

    member: bool
    permissions: tuple[str, ...] | None  # None: VRChat did not say

    @classmethod
    def of(cls, group: Group) -> Standing:
        # The client's Group model keeps the fields it does not declare (extra="allow").
        extra: dict[str, Any] = group.model_extra or {}
        mine = extra.get("myMember")
        perms = mine.get("permissions") if isinstance(mine, dict) else None
        return cls(
            member=extra.get("membershipStatus") == "member",
            permissions=tuple(str(p) for p in perms) if isinstance(perms, list) else None,
        )

    def can_serve(self, required: Sequence[str]) -> bool:
        if not self.member:
            return False
        # Unknown permissions do not rule a member out; the calls will tell (ranked after proven ones).
        return self.permissions is None or "*" in self.permissions or set(required) <= set(self.permissions)


class RequestMeter:
    """Every HTTP request one account really sent (retries and logins too), over a sliding minute."""

    def __init__(
        self,
        requests_per_second: float,
        *,
        window: float = BUDGET_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_second = requests_per_second
        self.window = window
        self.total = 0
        self._clock = clock
        self._sent: deque[float] = deque()

    @property
    def budget(self) -> int:
        """What the account's limiter lets through in one window at its sustained rate."""
        return int(self.requests_per_second * self.window)

    def record(self) -> None:
        now = self._clock()
        self._sent.append(now)
        self.total += 1
        self._trim(now)

    def used(self) -> int:
        """Requests sent in the last window."""
        self._trim(self._clock())
        return len(self._sent)

    def _trim(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()

    def session(self, timeout: float) -> aiohttp.ClientSession:
        """An HTTP session for the account's client that counts what it sends (call it inside the event
        loop). No cookie jar, like the client's own: the client keeps each account's cookies itself."""

        async def sent(*_: object) -> None:
            self.record()

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(sent)
        return aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=timeout),
            trace_configs=[trace],
        )


@dataclass(eq=False)
class Account:
    """One account of the pool; `name` (the username) is what status and `login --account` show."""

    name: str
    client: VRChatClient
    meter: RequestMeter
    primary: bool = False
    http_session: aiohttp.ClientSession | None = None  # the pool closes it; the client does not own it


@dataclass(frozen=True, slots=True)
class AccountUsage:
    """One account's line in /bridge status."""

    name: str
    user_id: str | None
    session_blocked: bool
    groups: int
    used: int  # requests in the last minute
    budget: int  # what its rate allows this process in a minute


class AccountPool:
    def __init__(
        self,
        accounts: Sequence[Account],
        *,
        required_permissions: Sequence[str] = REQUIRED_PERMISSIONS,
        recheck_after: float = RECHECK_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not accounts:
            raise ValueError("an AccountPool needs at least one account")
        names = [a.name.casefold() for a in accounts]
        if len(set(names)) != len(names):
            raise ValueError("account names must be unique")
        self._accounts = tuple(accounts)
        self.required_permissions = tuple(required_permissions)
        self._recheck_after = recheck_after
        self._clock = clock
        self._served: dict[str, Account] = {}
        self._unservable: dict[str, float] = {}  # group -> when no account could serve it
        self._deciding: dict[str, asyncio.Lock] = {}
        self.processes = 1  # processes sharing every account's rate (GroupRouter.share_rate)

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

    async def close(self) -> None:
        for account in self._accounts:
            await account.client.close()
            if account.http_session is not None:
                await account.http_session.close()

    # -- which account serves a group -------------------------------------------------------------

    def serving(self, group_id: str) -> Account | None:
        """The account decided for the group, without asking VRChat (None: not decided, or nobody)."""
        if len(self._accounts) == 1:
            return self._accounts[0]
        return self._served.get(group_id)

    def unservable(self, group_id: str) -> bool:
        """True when, at the last look, no account could serve the group."""
        return group_id in self._unservable

    async def client_for(self, group_id: str) -> VRChatClient:
        return (await self.account_for(group_id)).client

    async def account_for(self, group_id: str) -> Account:
        """The account serving the group, deciding now if this is the first call for it."""
        if len(self._accounts) == 1:
            return self._served.setdefault(group_id, self._accounts[0])
        if (account := self._served.get(group_id)) is not None:
            return account
        async with self._deciding.setdefault(group_id, asyncio.Lock()):  # one decision per group
            if (account := self._served.get(group_id)) is not None:
                return account
            since = self._unservable.get(group_id)
            if since is None or self._clock() - since >= self._recheck_after:
                account = self._place(group_id, await self._candidates(group_id))
            if account is None:
                raise NoServingAccount(group_id, [a.name for a in self._accounts], self.required_permissions)
            return account

    async def assign(self, group_ids: Iterable[str]) -> dict[str, Account | None]:
        """Decide afresh for exactly these groups (others are forgotten). Returns the account of each,
        None for a group no account can serve; a group VRChat could not be asked about now (an
        outage, an expired session) is left out and decided at its first call."""
        groups = list(dict.fromkeys(group_ids))
        self._served.clear()
        self._unservable.clear()
        if len(self._accounts) == 1:
            self._served.update((g, self._accounts[0]) for g in groups)
            return dict(self._served)
        # Each account is asked about each group, through its own limiter: at the default rate this
        # takes about a second per group, the accounts in parallel.
        log.info("Asking which of %d VRChat accounts can serve each of %d groups.", len(self), len(groups))
        outcomes = await asyncio.gather(*(self._candidates(g) for g in groups), return_exceptions=True)
        decided: dict[str, Account | None] = {}
        # Groups with fewer candidates first, so the flexible ones fill in around them.
        ranked = sorted(
            zip(groups, outcomes, strict=True),
            key=lambda pair: len(pair[1]) if isinstance(pair[1], list) else 0,
        )
        for group_id, outcome in ranked:
            if isinstance(outcome, VRChatError):
                log.warning("Could not ask VRChat which account can serve %s yet: %s", group_id, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                decided[group_id] = self._place(group_id, outcome)
        return decided

    async def _candidates(self, group_id: str) -> list[tuple[Account, Standing]]:
        """The accounts that can serve the group. Raises what kept an account from answering when no
        other account can serve it: "nobody can" is only said when every account answered."""
        results = await asyncio.gather(
            *(self._standing(a, group_id) for a in self._accounts), return_exceptions=True
        )
        capable: list[tuple[Account, Standing]] = []
        failure: BaseException | None = None
        for account, result in zip(self._accounts, results, strict=True):
            if isinstance(result, Standing):
                if result.can_serve(self.required_permissions):
                    capable.append((account, result))
            elif isinstance(result, VRChatError):
                failure = failure or result
            else:
                raise result
        if not capable and failure is not None:
            raise failure
        return capable

    @staticmethod
    async def _standing(account: Account, group_id: str) -> Standing:
        try:
            group = await account.client.get_group(group_id)
        except (NotFound, Forbidden):  # a private group, or none: this account cannot serve it
            return Standing(member=False, permissions=None)
        return Standing.of(group)

    def _place(self, group_id: str, capable: list[tuple[Account, Standing]]) -> Account | None:
        if not capable:
            self._unservable[group_id] = self._clock()
            log.warning(
                "No VRChat account can serve %s: none is a member with the permissions %s.",
                group_id,
                ", ".join(self.required_permissions),
            )
            return None
        load = Counter(self._served.values())
        order = {a: i for i, a in enumerate(self._accounts)}
        account, _ = min(
            capable,
            key=lambda c: (c[1].permissions is None, load[c[0]], not c[0].primary, order[c[0]]),
        )
        self._served[group_id] = account
        self._unservable.pop(group_id, None)
        log.info("VRChat group %s is served by account %s.", group_id, account.name)
        return account

    # -- status -----------------------------------------------------------------------------------

    def usage(self) -> list[AccountUsage]:
        load = Counter(self._served.values())
        return [
            AccountUsage(
                name=a.name,
                user_id=a.client.user_id,
                session_blocked=a.client.session_blocked,
                groups=load[a],
                used=a.meter.used(),
                budget=a.meter.budget // self.processes,  # this process's part: it counts only its own
            )
            for a in self._accounts
        ]
