"""`VRChatAPI`: what the rest of the bot may ask of "the VRChat client", as one typed Protocol.

Two classes provide it: `VRChatClient` (one account) and `GroupRouter` (several accounts, each call
sent to the account that should make it). The services, the feed and the session alert take a
`VRChatAPI`, so either fits without a cast, and mypy proves that both provide every method with a
compatible signature (the checks at the end of this module). A method added to the client for the
bot to call belongs here too; the router must then route it, or mypy fails. Callers never ask which
of the two they hold: what differs between one account and several is asked of `accounts`.

Logging in and closing are not part of it: they are per account, done by whoever opened the account
(the pool, `groupbridge login`, the dry run).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .auth import SessionState
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
from .pipeline import PipelineClient

if TYPE_CHECKING:
    from .pool import AccountPool


class VRChatAPI(Protocol):
    # -- accounts --------------------------------------------------------------------------------

    @property
    def accounts(self) -> AccountPool | None:
        """The several accounts behind this API (the router's pool: /bridge status, account moves,
        leases); None for one account's client, which serves every group itself."""

    def pipelines(self, url: str, **options: Any) -> dict[str, PipelineClient]:
        """One VRChat pipeline per account (bot.vrchat.pipeline), by account name ("" for one
        account's client). `options` go to PipelineClient."""

    # -- session ---------------------------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        """The bot's own user ID (with several accounts, the primary's)."""

    def user_id_for(self, group_id: str) -> str | None:
        """The user ID VRChat records as the actor of what the bot does in this group."""

    def share_rate(self, processes: int) -> None:
        """Keep to 1/`processes` of each account's rate: that many processes share the accounts."""

    @property
    def session_blocked(self) -> bool:
        """True while a lost session keeps (some) calls from reaching VRChat."""

    @property
    def session_state(self) -> SessionState: ...

    @property
    def password_logins(self) -> int: ...

    @property
    def request_count(self) -> int: ...

    # -- account ---------------------------------------------------------------------------------

    async def get_current_user(self) -> CurrentUser: ...

    async def update_user(
        self,
        user_id: str,
        *,
        status: UserStatus | str | None = None,
        status_description: str | None = None,
        bio: str | None = None,
        bio_links: Sequence[str] | None = None,
        pronouns: str | None = None,
    ) -> CurrentUser: ...

    # -- groups ----------------------------------------------------------------------------------

    async def get_group(self, group_id: str, *, include_roles: bool = False) -> Group: ...
    async def search_groups(self, query: str, *, n: int = 10, offset: int = 0) -> list[Group]: ...
    async def list_group_roles(self, group_id: str) -> list[GroupRole]: ...
    async def list_group_members(
        self,
        group_id: str,
        *,
        n: int = MAX_PAGE,
        offset: int = 0,
        sort: MemberSort | str | None = None,
        role_id: str | None = None,
    ) -> list[GroupMember]: ...
    # An async generator: called without await, iterated with `async for`.
    def iter_group_members(
        self,
        group_id: str,
        *,
        page_size: int = MAX_PAGE,
        sort: MemberSort | str = MemberSort.JOINED_ASC,
        role_id: str | None = None,
    ) -> AsyncIterator[GroupMember]: ...
    async def get_group_member(self, group_id: str, user_id: str) -> GroupMember | None: ...
    async def add_member_role(self, group_id: str, user_id: str, role_id: str) -> list[str]: ...
    async def remove_member_role(self, group_id: str, user_id: str, role_id: str) -> list[str]: ...
    async def kick_member(self, group_id: str, user_id: str) -> None: ...
    async def ban_member(self, group_id: str, user_id: str) -> GroupMember: ...
    async def unban_member(self, group_id: str, user_id: str) -> GroupMember: ...
    async def list_group_bans(
        self, group_id: str, *, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]: ...
    async def invite_user(
        self, group_id: str, user_id: str, *, confirm_override_block: bool = False
    ) -> None: ...
    async def list_group_invites(
        self, group_id: str, *, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]: ...
    async def cancel_invite(self, group_id: str, user_id: str) -> None: ...
    async def list_join_requests(
        self, group_id: str, *, blocked: bool = False, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]: ...
    async def respond_join_request(
        self, group_id: str, user_id: str, action: JoinRequestAction | str, block: bool = False
    ) -> None: ...
    async def list_posts(
        self, group_id: str, *, n: int = 20, offset: int = 0, public_only: bool | None = None
    ) -> list[GroupPost]: ...
    async def create_post(
        self,
        group_id: str,
        title: str,
        text: str,
        visibility: PostVisibility | str,
        role_ids: Iterable[str] = (),
        send_notification: bool = False,
    ) -> GroupPost: ...
    async def delete_post(self, group_id: str, post_id: str) -> None: ...
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
    ) -> AuditLogPage: ...
    async def list_audit_log_types(self, group_id: str) -> list[str]: ...
    async def list_group_instances(self, group_id: str) -> list[GroupInstance]: ...
    async def create_group_instance(
        self,
        group_id: str,
        world_id: str,
        *,
        access: GroupAccess | str = GroupAccess.MEMBERS,
        region: InstanceRegion | str = InstanceRegion.US,
        role_ids: Iterable[str] = (),
        age_gate: bool = False,
    ) -> Instance: ...
    async def close_group_instance(self, group_id: str, world_id: str, instance_id: str) -> Instance: ...

    # -- users -----------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> User: ...
    async def search_users(self, query: str, *, n: int = 10, offset: int = 0) -> list[LimitedUser]: ...
    async def list_user_groups(self, user_id: str) -> list[UserGroup]: ...
    async def list_user_group_instances(self, user_id: str) -> UserGroupInstances: ...


if TYPE_CHECKING:
    from .client import VRChatClient
    from .router import GroupRouter

    # mypy proves both providers give all of VRChatAPI, with compatible signatures. Here, not beside
    # each class: the protocol names AccountPool, whose module imports the client.
    _the_client_provides_the_api: type[VRChatAPI] = VRChatClient
    _the_router_provides_the_api: type[VRChatAPI] = GroupRouter
