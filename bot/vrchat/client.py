"""`VRChatClient`: the group-moderation slice of the VRChat Web API, for one account.

Every method checks its arguments before anything is sent, goes through the account's single rate
limiter, and returns typed models. What the bot calls is the contract in bot.vrchat.api (VRChatAPI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .auth import SessionManager, SessionState
from .errors import (
    AlreadyInvited,
    AlreadyMember,
    BadRequest,
    CannotInvite,
    Forbidden,
    NotFound,
    SessionExpired,
    Unauthorized,
)
from .ids import require_group_id, require_post_id, require_role_id, require_user_id
from .instances import InstanceCalls
from .members import GroupMemberCalls
from .models import (
    AuditLogPage,
    Group,
    GroupInstance,
    GroupMember,
    GroupPost,
    JoinRequestAction,
    PostVisibility,
    parse_items,
    parse_one,
)
from .paging import MAX_PAGE
from .paging import page_params as _page
from .paging import segment as _seg
from .pipeline import DEFAULT_PIPELINE_URL, PipelineClient
from .transport import Politeness, Response, Transport
from .two_factor import TwoFactorPrompt
from .users import UserCalls

DEFAULT_BASE_URL = "https://api.vrchat.cloud/api/1"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("dates sent to VRChat must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class VRChatClient(GroupMemberCalls, InstanceCalls, UserCalls):
    """One VRChat account. Use as `async with VRChatClient(...) as vrc:`; then `await vrc.login()`."""

    def __init__(
        self,
        *,
        user_agent: str,
        session_path: str | Path,
        base_url: str = DEFAULT_BASE_URL,
        username: str | None = None,
        password: str | None = None,
        totp_secret: str | None = None,
        politeness: Politeness | None = None,
        relogin_interval: float = 900.0,
        http_session: aiohttp.ClientSession | None = None,
        source_address: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self._transport = Transport(
            base_url,
            user_agent,
            politeness or Politeness(),
            session=http_session,
            source_address=source_address,
        )
        self._auth = SessionManager(
            self._transport,
            Path(session_path),
            username=username,
            password=password,
            totp_secret=totp_secret,
            relogin_interval=relogin_interval,
        )

    def __repr__(self) -> str:
        return f"<VRChatClient {self._transport.base_url} user_id={self._auth.user_id!r}>"

    async def __aenter__(self) -> VRChatClient:
        await self._transport.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    def gate(self, may_call: Callable[[], bool], account: str) -> None:
        """Send nothing for this account unless `may_call()` says this process may now (its lease):
        checked just before each request and each pipeline connection; a refused call raises
        AccountNotHeld naming `account`."""
        self._transport.may_call, self._transport.account_name = may_call, account

    def block_session(self, reason: str) -> None:
        """Stop calling VRChat with this account until a person logs in, as after an expired session:
        the session alert tells, and a new session file is picked up by itself."""
        self._auth.block(reason)

    def share_rate(self, processes: int) -> None:
        """Keep to 1/`processes` of the account's rate (see Transport.share_rate)."""
        self._transport.share_rate(processes)

    # -- session ---------------------------------------------------------------------------------

    @property
    def accounts(self) -> None:
        """One account, not a pool (VRChatAPI.accounts)."""
        return None

    def pipelines(self, url: str = DEFAULT_PIPELINE_URL, **options: Any) -> dict[str, PipelineClient]:
        """This account's pipeline alone, under the name "" (VRChatAPI.pipelines)."""
        return {"": self.pipeline(url, **options)}

    @property
    def user_id(self) -> str | None:
        """The bot account's own user ID, known after login, or from the session file in a process
        that does not hold the account (SessionManager.adopt_saved_identity): read until known."""
        return self._auth.user_id or self._auth.adopt_saved_identity()

    def user_id_for(self, group_id: str) -> str | None:
        """One account acts in every group: its own user ID."""
        return self.user_id

    @property
    def session_blocked(self) -> bool:
        """True after SessionExpired: no call reaches VRChat until a login succeeds."""
        return self._auth.blocked

    @property
    def session_state(self) -> SessionState:
        """Whether the session is blocked, since when and why, and when and how it last came back."""
        return self._auth.state

    @property
    def password_logins(self) -> int:
        return self._auth.password_logins

    @property
    def request_count(self) -> int:
        return self._transport.request_count

    async def login(self, prompt: TwoFactorPrompt | None = None, *, force: bool = False) -> str:
        """Reuse the saved session if VRChat still accepts it, else log in with the password (and 2FA).

        Returns the account's user ID. `prompt` answers 2FA interactively; without it only a configured
        TOTP secret can, and otherwise TwoFactorRequired is raised.
        """
        return await self._auth.login(prompt, force=force)

    def pipeline(self, url: str = DEFAULT_PIPELINE_URL, **options: Any) -> PipelineClient:
        """This account's pipeline (bot.vrchat.pipeline): the same HTTP session, User-Agent and auth
        cookie, and the same session checks; it never logs in. `options` go to PipelineClient."""
        return PipelineClient(self._transport, self._auth, url, **options)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        auth = self._auth
        if auth.blocked and not await auth.adopt_new_session_file():
            if not auth.relogin_allowed_now():
                raise SessionExpired("The VRChat session has expired; run `groupbridge login`.")
            await auth.recover(auth.generation)
        generation = auth.generation
        try:
            return await self._transport.request(method, path, **kwargs)
        except Unauthorized as refused:
            # Raises CallRefused when the session is fine, SessionExpired when it is lost for good.
            await auth.recover(generation, refused)
        try:
            return await self._transport.request(method, path, **kwargs)
        except Unauthorized as refused:
            await auth.check_refused_again(refused)  # CallRefused or SessionExpired

    async def _get(self, path: str, **params: Any) -> Any:
        return (await self._call("GET", path, params=params)).data

    # -- groups ----------------------------------------------------------------------------------

    async def get_group(self, group_id: str, *, include_roles: bool = False) -> Group:
        gid = require_group_id(group_id)
        return parse_one(Group, await self._get(f"/groups/{_seg(gid)}", includeRoles=include_roles or None))

    async def search_groups(self, query: str, *, n: int = 10, offset: int = 0) -> list[Group]:
        """Groups whose name or short code matches (VRChat's search: a group that is not
        searchable is not found this way)."""
        query = query.strip()
        if not query:
            raise ValueError("a group search needs some text")
        if len(query) > 100:
            raise ValueError("a group search is limited to 100 characters")
        return parse_items(Group, await self._get("/groups", query=query, **_page(n, offset)))

    async def kick_member(self, group_id: str, user_id: str) -> None:
        path = f"/groups/{_seg(require_group_id(group_id))}/members/{_seg(require_user_id(user_id))}"
        await self._call("DELETE", path)

    async def ban_member(self, group_id: str, user_id: str) -> GroupMember:
        gid, uid = require_group_id(group_id), require_user_id(user_id)
        response = await self._call("POST", f"/groups/{_seg(gid)}/bans", json={"userId": uid})
        return parse_one(GroupMember, response.data)

    async def unban_member(self, group_id: str, user_id: str) -> GroupMember:
        path = f"/groups/{_seg(require_group_id(group_id))}/bans/{_seg(require_user_id(user_id))}"
        return parse_one(GroupMember, (await self._call("DELETE", path)).data)

    async def list_group_bans(
        self, group_id: str, *, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]:
        data = await self._get(f"/groups/{_seg(require_group_id(group_id))}/bans", **_page(n, offset))
        return parse_items(GroupMember, data)

    async def invite_user(self, group_id: str, user_id: str, *, confirm_override_block: bool = False) -> None:
        """Invite a user. AlreadyMember / AlreadyInvited / CannotInvite explain the usual refusals."""
        gid, uid = require_group_id(group_id), require_user_id(user_id)
        body: dict[str, Any] = {"userId": uid}
        if confirm_override_block:
            body["confirmOverrideBlock"] = True
        try:
            await self._call("POST", f"/groups/{_seg(gid)}/invites", json=body)
        except BadRequest as exc:
            # VRChat answers 400 for both "already a member" and "already invited"; tell them apart by
            # asking for the membership, not by parsing the message text.
            status = await self._membership_status(gid, uid)
            kind = {"member": AlreadyMember, "invited": AlreadyInvited}.get(status or "", BadRequest)
            raise kind(exc.message, status=exc.status, method=exc.method, path=exc.path) from None
        except Forbidden as exc:
            raise CannotInvite(exc.message, status=exc.status, method=exc.method, path=exc.path) from None

    async def _membership_status(self, group_id: str, user_id: str) -> str | None:
        try:
            member = await self.get_group_member(group_id, user_id)
        except (BadRequest, Forbidden, NotFound):
            return None
        return member.membership_status if member else None

    async def list_group_invites(
        self, group_id: str, *, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]:
        data = await self._get(f"/groups/{_seg(require_group_id(group_id))}/invites", **_page(n, offset))
        return parse_items(GroupMember, data)

    async def cancel_invite(self, group_id: str, user_id: str) -> None:
        path = f"/groups/{_seg(require_group_id(group_id))}/invites/{_seg(require_user_id(user_id))}"
        await self._call("DELETE", path)

    async def list_join_requests(
        self, group_id: str, *, blocked: bool = False, n: int = MAX_PAGE, offset: int = 0
    ) -> list[GroupMember]:
        gid = require_group_id(group_id)
        data = await self._get(f"/groups/{_seg(gid)}/requests", blocked=blocked, **_page(n, offset))
        return parse_items(GroupMember, data)

    async def respond_join_request(
        self, group_id: str, user_id: str, action: JoinRequestAction | str, block: bool = False
    ) -> None:
        try:
            verb = JoinRequestAction(action)
        except ValueError:
            raise ValueError(f"action must be 'accept' or 'reject', not {action!r}") from None
        if block and verb is not JoinRequestAction.REJECT:
            raise ValueError("block=True only goes with action 'reject'")
        path = f"/groups/{_seg(require_group_id(group_id))}/requests/{_seg(require_user_id(user_id))}"
        body: dict[str, Any] = {"action": verb.value}
        if block:
            body["block"] = True
        await self._call("PUT", path, json=body)

    async def list_posts(
        self, group_id: str, *, n: int = 20, offset: int = 0, public_only: bool | None = None
    ) -> list[GroupPost]:
        gid = require_group_id(group_id)
        data = await self._get(f"/groups/{_seg(gid)}/posts", publicOnly=public_only, **_page(n, offset))
        posts = data.get("posts") if isinstance(data, dict) else None
        return parse_items(GroupPost, posts)

    async def create_post(
        self,
        group_id: str,
        title: str,
        text: str,
        visibility: PostVisibility | str,
        role_ids: Iterable[str] = (),
        send_notification: bool = False,
    ) -> GroupPost:
        gid = require_group_id(group_id)
        try:
            vis = PostVisibility(visibility)
        except ValueError:
            raise ValueError(f"visibility must be 'group' or 'public', not {visibility!r}") from None
        roles = [require_role_id(r) for r in role_ids]
        if roles and vis is not PostVisibility.GROUP:
            raise ValueError("roles can only be chosen for a post with 'group' visibility")
        if not title.strip() or not text.strip():
            raise ValueError("a post needs both a title and a text")
        body: dict[str, Any] = {
            "title": title,
            "text": text,
            "visibility": vis.value,
            "sendNotification": bool(send_notification),
        }
        if roles:
            body["roleIds"] = roles
        response = await self._call("POST", f"/groups/{_seg(gid)}/posts", json=body)
        return parse_one(GroupPost, response.data)

    async def delete_post(self, group_id: str, post_id: str) -> None:
        path = f"/groups/{_seg(require_group_id(group_id))}/posts/{_seg(require_post_id(post_id))}"
        await self._call("DELETE", path)

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
        """One page of the audit log, newest first, with VRChat's totalCount and hasNext."""
        gid = require_group_id(group_id)
        params: dict[str, Any] = {
            **_page(n, offset),
            "startDate": _iso(start_date),
            "endDate": _iso(end_date),
            "eventTypes": list(event_types) if event_types else None,
            "actorIds": [require_user_id(a) for a in actor_ids] if actor_ids else None,
            "targetIds": list(target_ids) if target_ids else None,
        }
        return parse_one(AuditLogPage, await self._get(f"/groups/{_seg(gid)}/auditLogs", **params))

    async def list_audit_log_types(self, group_id: str) -> list[str]:
        data = await self._get(f"/groups/{_seg(require_group_id(group_id))}/auditLogTypes")
        return [str(item) for item in data or []]

    async def list_group_instances(self, group_id: str) -> list[GroupInstance]:
        data = await self._get(f"/groups/{_seg(require_group_id(group_id))}/instances")
        return parse_items(GroupInstance, data)
