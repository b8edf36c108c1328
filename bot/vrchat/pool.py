"""Several VRChat accounts behind one bot: which account serves each group, and how much of its
request budget each one is using.

Each account is a whole VRChatClient (its own session file, login, 2FA and rate limiter), so the
politeness rules hold per account whatever the others do. A group is served by an account VRChat
reports as a member with the permissions the bot needs there: `GET /groups/{id}` tells the caller its
own `membershipStatus` and `myMember.permissions`. Of the accounts that can, the one serving the
fewest groups takes it (ties: the primary, then config order), so the periodic polling spreads;
groups only one account can serve are placed first.

When it is decided: `assign()` (the bot passes the allow-list at start), and for a group not seen
yet (a binding made later with /bridge link) at the first call for it. A group no account can serve
is never handed to the primary: its calls raise NoServingAccount (a Forbidden, which every caller
already handles) without a request, and it is looked at again after `recheck_after` seconds, so a
role granted in VRChat is picked up without a restart.

A served group moves to another account without a restart when that account is strictly better
suited: the serving one is no longer a member with the permissions, or its session is blocked, and
the other is fine (`recheck()`, which the feed runs every `recheck_after` seconds for the groups it
polls; and at once, through the router, when a group call is refused with VRChat's 403 or its
account's session blocks). Each look asks every account about the group once. Against flapping: an
account merely as good never takes a group over (a session that comes back does not pull its
groups back), a group moves at most once per `recheck_after` period, and a failed call triggers at
most one look per group in that period. When no account is better the group stays, and its calls go
on answering 403, which reaches the feed's last error and /bridge status. Each move is logged and
told to the listeners (`on_move`): the feed posts a notice in the group's channels.

With one account there is nothing to choose: every group goes to it without asking VRChat, exactly
as before there were several.

The accounts themselves (lookup, login, lifetime) and where a call made with one goes, here or to
the process holding it, are the base class's: bot.vrchat.account_set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .account_set import Account, AccountSet
from .client import VRChatClient
from .errors import Forbidden, NotFound, VRChatError
from .meter import BUDGET_WINDOW, RequestMeter
from .serving import PROVEN, REQUIRED_PERMISSIONS, UNFIT, NoServingAccount, Standing

__all__ = [
    "BUDGET_WINDOW",
    "REQUIRED_PERMISSIONS",
    "Account",
    "AccountPool",
    "AccountUsage",
    "Move",
    "NoServingAccount",
    "RequestMeter",
    "Standing",
]

log = logging.getLogger(__name__)

RECHECK_AFTER = 900.0  # seconds between looks at which account should serve a group


@dataclass(frozen=True, slots=True)
class Move:
    """A group handed to a better-suited account; names only, never a secret."""

    group_id: str
    old: str
    new: str
    old_blocked: bool  # the old account's session was blocked (else it lost membership or a permission)

    @property
    def reason(self) -> str:
        if self.old_blocked:
            return f"the VRChat session of {self.old} is blocked"
        return f"{self.old} is no longer a member there with the permissions the bot needs"


MoveListener = Callable[[Move], None]


@dataclass(frozen=True, slots=True)
class AccountUsage:
    """One account's line in /bridge status."""

    name: str
    user_id: str | None
    session_blocked: bool
    groups: int
    used: int  # requests in the last minute
    budget: int  # what its rate allows this process in a minute


class AccountPool(AccountSet):
    def __init__(
        self,
        accounts: Sequence[Account],
        *,
        required_permissions: Sequence[str] = REQUIRED_PERMISSIONS,
        recheck_after: float = RECHECK_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(accounts)
        self.required_permissions = tuple(required_permissions)
        self.recheck_after = recheck_after
        self._clock = clock
        self._served: dict[str, Account] = {}
        self._unservable: dict[str, float] = {}  # group -> when no account could serve it
        self._deciding: dict[str, asyncio.Lock] = {}
        # Per group, the recheck period (see `_period`) of its last move and of its last look
        # triggered by a failed call: at most one of each per period.
        self._born = clock()
        self._moved_in: dict[str, int] = {}
        self._triggered_in: dict[str, int] = {}
        self._move_listeners: list[MoveListener] = []
        self.processes = 1  # processes sharing every account's rate (GroupRouter.share_rate)

    # -- which account serves a group -------------------------------------------------------------

    def serving(self, group_id: str) -> Account | None:
        """The account decided for the group, without asking VRChat (None: not decided, or nobody)."""
        if len(self._accounts) == 1:
            return self._accounts[0]
        return self._served.get(group_id)

    def serving_name(self, group_id: str) -> str | None:
        """The name of the account decided for the group (None: not decided, or nobody)."""
        account = self.serving(group_id)
        return account.name if account is not None else None

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
            if since is None or self._clock() - since >= self.recheck_after:
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
        looks = await self._look(group_id)
        capable = [
            (account, look)
            for account, look in looks.items()
            if isinstance(look, Standing) and look.can_serve(self.required_permissions)
        ]
        failure = next((look for look in looks.values() if isinstance(look, VRChatError)), None)
        if not capable and failure is not None:
            raise failure
        return capable

    async def _look(self, group_id: str) -> dict[Account, Standing | VRChatError]:
        """Each account's standing in the group, or what kept it from answering."""
        results = await asyncio.gather(
            *(self._standing(a, group_id) for a in self._accounts), return_exceptions=True
        )
        looks: dict[Account, Standing | VRChatError] = {}
        for account, result in zip(self._accounts, results, strict=True):
            if not isinstance(result, Standing | VRChatError):
                raise result
            looks[account] = result
        return looks

    async def _standing(self, account: Account, group_id: str) -> Standing:
        try:
            group = await self.call(account, "get_group", group_id)
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
        account = self._preferred([(a, look.suitability(self.required_permissions)) for a, look in capable])
        self._served[group_id] = account
        self._unservable.pop(group_id, None)
        log.info("VRChat group %s is served by account %s.", group_id, account.name)
        return account

    def _preferred(self, ranked: list[tuple[Account, int]]) -> Account:
        """The best suited of these accounts; among equals the one serving the fewest groups, then
        the primary, then config order."""
        load = Counter(self._served.values())
        order = {a: i for i, a in enumerate(self._accounts)}
        account, _ = min(ranked, key=lambda c: (c[1], load[c[0]], not c[0].primary, order[c[0]]))
        return account

    # -- moving a group to a better-suited account ------------------------------------------------

    def on_move(self, listener: MoveListener) -> None:
        """`listener(move)` after each group moved to another account."""
        self._move_listeners.append(listener)

    def _period(self) -> int:
        """Which recheck period it is: moves and triggered looks are limited per period."""
        return int((self._clock() - self._born) // self.recheck_after)

    async def recheck(self, group_ids: Iterable[str]) -> list[Move]:
        """Look again at which account should serve each of these groups (one `GET /groups/{id}`
        per account and group), and move those a strictly better-suited account can serve. Groups
        not served (not decided yet, or no account could) are left to their next call."""
        if len(self._accounts) == 1:
            return []
        served = [g for g in dict.fromkeys(group_ids) if g in self._served]
        moves = await asyncio.gather(*(self._reconsider(g) for g in served))
        return [m for m in moves if m is not None]

    async def call_failed(self, group_id: str, account: Account, error: VRChatError) -> None:
        """A call for the group, sent on `account`, failed. When VRChat refused it (its own 403) or
        the account's session is blocked, the group is looked at again now, before the caller sees
        the error. Each group of a blocked account meets the block at its own next call, so each is
        looked at then. At most one such look per group and recheck period: a group nobody can
        serve better does not cost a look per failed poll."""
        if len(self._accounts) == 1 or self._served.get(group_id) is not account:
            return
        refused = isinstance(error, Forbidden) and bool(error.method)  # VRChat's, not NoServingAccount
        if not (refused or account.client.session_blocked):
            return
        period = self._period()
        if self._triggered_in.get(group_id) == period:
            return
        self._triggered_in[group_id] = period
        try:
            await self._reconsider(group_id)
        except Exception:  # the caller's own error is what it must see
            log.exception("Looking for a better VRChat account for %s failed", group_id)

    async def _reconsider(self, group_id: str) -> Move | None:
        async with self._deciding.setdefault(group_id, asyncio.Lock()):
            current = self._served.get(group_id)
            if current is None or self._moved_in.get(group_id) == self._period():
                return None
            looks = await self._look(group_id)
            now = self._suitability(current, looks[current])
            if now is None or now == PROVEN:
                return None  # nothing to gain, or not known now (an outage): it stays
            better = [
                (account, rank)
                for account, look in looks.items()
                if account is not current
                and (rank := self._suitability(account, look)) is not None
                and rank < now
            ]
            if not better:
                return None
            account = self._preferred(better)
            self._served[group_id] = account
            self._moved_in[group_id] = self._period()
            move = Move(group_id, current.name, account.name, old_blocked=current.client.session_blocked)
        log.info(
            "VRChat group %s moves from account %s to account %s, because %s.",
            group_id,
            move.old,
            move.new,
            move.reason,
        )
        for listener in self._move_listeners:
            try:
                listener(move)
            except Exception:  # one listener's bug must not undo the move or silence the others
                log.exception("A listener failed to hear that %s moved", group_id)
        return move

    def _suitability(self, account: Account, look: Standing | VRChatError) -> int | None:
        """PROVEN, UNPROVEN (a member VRChat told no permissions of) or UNFIT (not a member with
        the permissions, or its session is blocked); None when it could not be asked (an outage)."""
        if account.client.session_blocked:
            return UNFIT
        if isinstance(look, VRChatError):
            return None
        return look.suitability(self.required_permissions)

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
