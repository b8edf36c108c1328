"""`GroupRouter`: the VRChat API the bot calls (VRChatAPI), each call sent to the account that should make it.

Why a router rather than `pool.client_for(group_id)` in every caller: the services, the feed poller,
the card reconciler and the session alert all take a VRChatAPI (bot.vrchat.api) and call its
methods by name. An object that provides it changes none of them, and there is exactly one place
that decides which account a group's call goes out on. Each method is named in the class, made from
the client's own method (`_in_group(VRChatClient.kick_member)`) so that it keeps that signature, rather
than forwarded by __getattr__: a method added to the API cannot slip past the routing unnoticed, as
mypy checks that the router provides all of VRChatAPI (the end of bot.vrchat.api).

With several processes each account is used by one process at a time, the holder of its lease
(bot.leases): a call for an account held elsewhere is handed to that process (`AccountPool.call`,
bot.vrchat.remote) and its result or error comes back as if made here. A walk over pages
(`iter_group_members`) runs here, each page one such call.

Group calls (the group ID comes first) go to the account serving the group (bot.vrchat.pool), or
raise NoServingAccount; one that fails tells the pool first, which may move the group to a
better-suited account before the error reaches the caller (its next call goes out on that one).
Calls about the bot's own account go to the account that is that user (VRChat answers them only
for the caller), else to the primary; so do user lookups and searches.
`user_id` is the primary's; `user_id_for(group_id)` is the account acting in that group.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from .auth import SessionState
from .client import VRChatClient
from .errors import VRChatError
from .models import (
    CurrentUser,
)
from .pipeline import PipelineClient
from .pool import Account, AccountPool

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
# A client method, unbound, and the router's method made from it: the same parameters after `self`.
ClientMethod = Callable[Concatenate[VRChatClient, P], Coroutine[Any, Any, R]]
RouterMethod = Callable[Concatenate["GroupRouter", P], Coroutine[Any, Any, R]]
Pick = Callable[["GroupRouter", str], Awaitable[Account]]


def _first(method: Callable[..., object]) -> Callable[[tuple[object, ...], dict[str, object]], str]:
    """Reads `method`'s first argument after self (a group or user ID) from a call's arguments, given
    by position or by name."""
    name = list(inspect.signature(method).parameters)[1]
    return lambda args, kwargs: cast(str, args[0] if args else kwargs[name])


def _forward(method: ClientMethod[P, R], pick: Pick, *, in_group: bool = False) -> RouterMethod[P, R]:
    """The router's version of the client's `method`: its signature (so mypy holds the router to
    VRChatAPI through it), the call sent to the account that `pick` chooses by the first argument.
    Looked up on that account's client by name at call time, as `client.method(...)`."""
    name, first = method.__name__, _first(method)

    async def routed(self: GroupRouter, /, *args: P.args, **kwargs: P.kwargs) -> R:
        key = first(args, kwargs)
        account = await pick(self, key)
        try:
            return cast(R, await self.pool.call(account, name, *args, **kwargs))
        except VRChatError as exc:
            if in_group:
                await self.pool.call_failed(key, account, exc)
            raise

    routed.__name__ = routed.__qualname__ = name
    routed.__doc__ = method.__doc__
    return routed


def _in_group_iter(
    method: Callable[Concatenate[VRChatClient, P], AsyncIterator[T]],
) -> Callable[Concatenate[GroupRouter, P], AsyncIterator[T]]:
    """`_in_group` for an async generator: iterated on the account serving the group."""
    name, first = method.__name__, _first(method)

    async def routed(self: GroupRouter, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        group_id = first(args, kwargs)
        account = await self.pool.account_for(group_id)
        # Held elsewhere: the client's own walk, run here on the router, so each page it asks for is
        # one routed call to the account's holder.
        items: Callable[P, AsyncIterator[T]] = (
            getattr(account.client, name)
            if self.pool.held_here(account)
            else partial(getattr(VRChatClient, name), self)
        )
        try:
            async for item in items(*args, **kwargs):
                yield item
        except VRChatError as exc:
            await self.pool.call_failed(group_id, account, exc)
            raise

    routed.__name__ = routed.__qualname__ = name
    routed.__doc__ = method.__doc__
    return routed


async def _serving(router: GroupRouter, group_id: str) -> Account:
    return await router.pool.account_for(group_id)


async def _account_of(router: GroupRouter, user_id: str) -> Account:
    return router.pool.owner_of(user_id) or router.pool.primary


async def _primary(router: GroupRouter, _first: str) -> Account:
    return router.pool.primary


def _in_group(method: ClientMethod[P, R]) -> RouterMethod[P, R]:
    """A group call (the group ID first): sent on the account serving the group."""
    return _forward(method, _serving, in_group=True)


def _as_user(method: ClientMethod[P, R]) -> RouterMethod[P, R]:
    """A call about one of the bot's own accounts (its user ID first): sent on that account, else
    on the primary (VRChat answers these only for the caller)."""
    return _forward(method, _account_of)


def _on_primary(method: ClientMethod[P, R]) -> RouterMethod[P, R]:
    """A lookup or search anyone may make: sent on the primary account."""
    return _forward(method, _primary)


class GroupRouter:
    def __init__(self, pool: AccountPool) -> None:
        self.pool = pool

    def __repr__(self) -> str:
        return f"<GroupRouter {self.pool!r}>"

    def _primary(self) -> VRChatClient:
        return self.pool.primary.client

    # -- accounts --------------------------------------------------------------------------------

    @property
    def accounts(self) -> AccountPool:
        """The pool it routes over (VRChatAPI.accounts)."""
        return self.pool

    def pipelines(self, url: str, **options: Any) -> dict[str, PipelineClient]:
        """Each account's own pipeline, by account name (VRChatAPI.pipelines)."""
        return {a.name: a.client.pipeline(url, **options) for a in self.pool.accounts}

    # -- session ---------------------------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        """The primary account's user ID (moderation and lookups use it as "the bot itself")."""
        return self._primary().user_id

    def user_id_for(self, group_id: str) -> str | None:
        """The user ID VRChat records as the actor of what the bot does in this group."""
        account = self.pool.serving(group_id)
        return account.client.user_id if account is not None else self.user_id

    def share_rate(self, processes: int) -> None:
        """Without account leases every account is used by every process, so each keeps to
        1/`processes` of each rate. With them (`pool.calls`), an account is used by its holder alone,
        which keeps to the account's whole rate."""
        processes = 1 if self.pool.calls is not None else processes
        self.pool.processes = max(1, processes)
        for account in self.pool.accounts:
            account.client.share_rate(processes)

    @property
    def session_blocked(self) -> bool:
        """True when any account has lost its session: some groups are then on hold."""
        return any(a.client.session_blocked for a in self.pool.accounts)

    @property
    def session_state(self) -> SessionState:
        """A blocked account's state while any is blocked (the longest blocked), else that of the
        account whose session came back last: what the session alert and /bridge status tell."""
        states = [a.client.session_state for a in self.pool.accounts]
        blocked = [s for s in states if s.blocked]
        if blocked:
            return min(blocked, key=lambda s: s.lost_at or datetime.max.replace(tzinfo=UTC))
        recovered = [s for s in states if s.back_at is not None]
        return max(recovered, key=lambda s: s.back_at or datetime.min.replace(tzinfo=UTC), default=states[0])

    @property
    def password_logins(self) -> int:
        return sum(a.client.password_logins for a in self.pool.accounts)

    @property
    def request_count(self) -> int:
        return sum(a.client.request_count for a in self.pool.accounts)

    # -- account ---------------------------------------------------------------------------------

    async def get_current_user(self) -> CurrentUser:
        return cast(CurrentUser, await self.pool.call(self.pool.primary, "get_current_user"))

    update_user = _as_user(VRChatClient.update_user)

    # -- groups ----------------------------------------------------------------------------------

    get_group = _in_group(VRChatClient.get_group)
    list_group_roles = _in_group(VRChatClient.list_group_roles)
    list_group_members = _in_group(VRChatClient.list_group_members)

    iter_group_members = _in_group_iter(VRChatClient.iter_group_members)

    get_group_member = _in_group(VRChatClient.get_group_member)
    add_member_role = _in_group(VRChatClient.add_member_role)
    remove_member_role = _in_group(VRChatClient.remove_member_role)
    kick_member = _in_group(VRChatClient.kick_member)
    ban_member = _in_group(VRChatClient.ban_member)
    unban_member = _in_group(VRChatClient.unban_member)
    list_group_bans = _in_group(VRChatClient.list_group_bans)
    invite_user = _in_group(VRChatClient.invite_user)
    list_group_invites = _in_group(VRChatClient.list_group_invites)
    cancel_invite = _in_group(VRChatClient.cancel_invite)
    list_join_requests = _in_group(VRChatClient.list_join_requests)
    respond_join_request = _in_group(VRChatClient.respond_join_request)
    list_posts = _in_group(VRChatClient.list_posts)
    create_post = _in_group(VRChatClient.create_post)
    delete_post = _in_group(VRChatClient.delete_post)
    get_audit_logs = _in_group(VRChatClient.get_audit_logs)
    list_audit_log_types = _in_group(VRChatClient.list_audit_log_types)
    list_group_instances = _in_group(VRChatClient.list_group_instances)

    create_group_instance = _in_group(VRChatClient.create_group_instance)
    close_group_instance = _in_group(VRChatClient.close_group_instance)

    # -- users -----------------------------------------------------------------------------------

    get_user = _on_primary(VRChatClient.get_user)
    search_users = _on_primary(VRChatClient.search_users)
    search_groups = _on_primary(VRChatClient.search_groups)
    list_user_groups = _on_primary(VRChatClient.list_user_groups)
    list_user_group_instances = _as_user(VRChatClient.list_user_group_instances)
