"""`GroupRouter`: the VRChat API the bot calls (VRChatAPI), each call sent to the account that should make it.

Why a router rather than `pool.client_for(group_id)` in every caller: the services, the feed poller,
the card reconciler and the session alert all take a VRChatAPI (bot.vrchat.api) and call its
methods by name. An object that provides it changes none of them, and there is exactly one place
that decides which account a group's call goes out on. Each method is written out rather than
forwarded by __getattr__, so a method added to the API cannot slip past the routing unnoticed: mypy
checks that the router provides all of VRChatAPI (the end of this module).

Group calls (the group ID comes first) go to the account serving the group (bot.vrchat.pool), or
raise NoServingAccount. Calls about the bot's own account go to the account that is that user
(VRChat answers them only for the caller), else to the primary; so do user lookups and searches.
`user_id` is the primary's; `user_id_for(group_id)` is the account acting in that group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .auth import SessionState
from .client import VRChatClient
from .instances import GroupAccess, InstanceRegion
from .models import (
    AuditLogPage,
    CurrentUser,
    Group,
    GroupInstance,
    GroupMember,
    GroupPost,
    GroupRole,
    Instance,
    JoinRequestAction,
    LimitedUser,
    MemberSort,
    PostVisibility,
    User,
    UserGroup,
    UserGroupInstances,
    UserStatus,
)
from .paging import MAX_PAGE
from .pool import AccountPool

if TYPE_CHECKING:
    from .api import VRChatAPI


class GroupRouter:
    def __init__(self, pool: AccountPool) -> None:
        self.pool = pool

    def __repr__(self) -> str:
        return f"<GroupRouter {self.pool!r}>"

    def _primary(self) -> VRChatClient:
        return self.pool.primary.client

    def _self(self, user_id: str) -> VRChatClient:
        owner = self.pool.owner_of(user_id)
        return owner.client if owner is not None else self._primary()

    async def _group(self, group_id: str) -> VRChatClient:
        return await self.pool.client_for(group_id)

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
        """Every account is used by every process, so each keeps to 1/`processes` of each rate."""
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
        return await self._primary().get_current_user()

    async def update_user(
        self,
        user_id: str,
        *,
        status: UserStatus | str | None = None,
        status_description: str | None = None,
        bio: str | None = None,
        bio_links: Sequence[str] | None = None,
        pronouns: str | None = None,
    ) -> CurrentUser:
        return await self._self(user_id).update_user(
            user_id,
            status=status,
            status_description=status_description,
            bio=bio,
            bio_links=bio_links,
            pronouns=pronouns,
        )

    # -- groups ----------------------------------------------------------------------------------

    async def get_group(self, group_id: str, *, include_roles: bool = False) -> Group:
        return await (await self._group(group_id)).get_group(group_id, include_roles=include_roles)

    async def list_group_roles(self, group_id: str) -> list[GroupRole]:
        return await (await self._group(group_id)).list_group_roles(group_id)

    async def list_group_members(
        self,
        group_id: str,
        *,
        n: int = MAX_PAGE,
        offset: int = 0,
        sort: MemberSort | str | None = None,
        role_id: str | None = None,
    ) -> list[GroupMember]:
        client = await self._group(group_id)
        return await client.list_group_members(group_id, n=n, offset=offset, sort=sort, role_id=role_id)

    async def iter_group_members(
        self,
        group_id: str,
        *,
        page_size: int = MAX_PAGE,
        sort: MemberSort | str = MemberSort.JOINED_ASC,
        role_id: str | None = None,
    ) -> AsyncIterator[GroupMember]:
        client = await self._group(group_id)
        async for member in client.iter_group_members(
            group_id, page_size=page_size, sort=sort, role_id=role_id
        ):
            yield member

    async def get_group_member(self, group_id: str, user_id: str) -> GroupMember | None:
        return await (await self._group(group_id)).get_group_member(group_id, user_id)

    async def add_member_role(self, group_id: str, user_id: str, role_id: str) -> list[str]:
        return await (await self._group(group_id)).add_member_role(group_id, user_id, role_id)

    async def remove_member_role(self, group_id: str, user_id: str, role_id: str) -> list[str]:
        return await (await self._group(group_id)).remove_member_role(group_id, user_id, role_id)

    async def kick_member(self, group_id: str, user_id: str) -> None:
        await (await self._group(group_id)).kick_member(group_id, user_id)

    async def ban_member(self, group_id: str, user_id: str) -> GroupMember:
        return await (await self._group(group_id)).ban_member(group_id, user_id)

    async def unban_member(self, group_id: str, user_id: str) -> GroupMember:
        return await (await self._group(group_id)).unban_member(group_id, user_id)

    async def list_group_bans(
        self, group_id: str, *, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]:
        return await (await self._group(group_id)).list_group_bans(group_id, n=n, offset=offset)

    async def invite_user(self, group_id: str, user_id: str, *, confirm_override_block: bool = False) -> None:
        client = await self._group(group_id)
        await client.invite_user(group_id, user_id, confirm_override_block=confirm_override_block)

    async def list_group_invites(
        self, group_id: str, *, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]:
        return await (await self._group(group_id)).list_group_invites(group_id, n=n, offset=offset)

    async def cancel_invite(self, group_id: str, user_id: str) -> None:
        await (await self._group(group_id)).cancel_invite(group_id, user_id)

    async def list_join_requests(
        self, group_id: str, *, blocked: bool = False, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]:
        client = await self._group(group_id)
        return await client.list_join_requests(group_id, blocked=blocked, n=n, offset=offset)

    async def respond_join_request(
        self, group_id: str, user_id: str, action: JoinRequestAction | str, block: bool = False
    ) -> None:
        await (await self._group(group_id)).respond_join_request(group_id, user_id, action, block)

    async def list_posts(
        self, group_id: str, *, n: int = 20, offset: int = 0, public_only: bool | None = None
    ) -> list[GroupPost]:
        client = await self._group(group_id)
        return await client.list_posts(group_id, n=n, offset=offset, public_only=public_only)

    async def create_post(
        self,
        group_id: str,
        title: str,
        text: str,
        visibility: PostVisibility | str,
        role_ids: Iterable[str] = (),
        send_notification: bool = False,
    ) -> GroupPost:
        client = await self._group(group_id)
        return await client.create_post(group_id, title, text, visibility, role_ids, send_notification)

    async def delete_post(self, group_id: str, post_id: str) -> None:
        await (await self._group(group_id)).delete_post(group_id, post_id)

    async def get_audit_logs(
        self,
        group_id: str,
        n: int = MAX_PAGE,
        offset: int = 0,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        event_types: Sequence[str] | None = None,
        actor_ids: Sequence[str] | None = None,
        target_ids: Sequence[str] | None = None,
    ) -> AuditLogPage:
        client = await self._group(group_id)
        return await client.get_audit_logs(
            group_id, n, offset, start_date, end_date, event_types, actor_ids, target_ids
        )

    async def list_audit_log_types(self, group_id: str) -> list[str]:
        return await (await self._group(group_id)).list_audit_log_types(group_id)

    async def list_group_instances(self, group_id: str) -> list[GroupInstance]:
        return await (await self._group(group_id)).list_group_instances(group_id)

    async def create_group_instance(
        self,
        group_id: str,
        world_id: str,
        *,
        access: GroupAccess | str = GroupAccess.MEMBERS,
        region: InstanceRegion | str = InstanceRegion.US,
        role_ids: Iterable[str] = (),
        age_gate: bool = False,
    ) -> Instance:
        client = await self._group(group_id)
        return await client.create_group_instance(
            group_id, world_id, access=access, region=region, role_ids=role_ids, age_gate=age_gate
        )

    async def close_group_instance(self, group_id: str, world_id: str, instance_id: str) -> Instance:
        return await (await self._group(group_id)).close_group_instance(group_id, world_id, instance_id)

    # -- users -----------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> User:
        return await self._primary().get_user(user_id)

    async def search_users(self, query: str, *, n: int = 10, offset: int = 0) -> list[LimitedUser]:
        return await self._primary().search_users(query, n=n, offset=offset)

    async def list_user_groups(self, user_id: str) -> list[UserGroup]:
        return await self._primary().list_user_groups(user_id)

    async def list_user_group_instances(self, user_id: str) -> UserGroupInstances:
        return await self._self(user_id).list_user_group_instances(user_id)


if TYPE_CHECKING:
    # mypy proves the router provides all of VRChatAPI, with compatible signatures.
    _provides_the_api: type[VRChatAPI] = GroupRouter
