"""Linking a Discord account to a VRChat account: issue a code, verify it, show, remove, look up.

No Discord here. The rules, each enforced where it cannot be bypassed:
- a code is bound to the Discord user who asked and the VRChat user they named; it links only when
  that Discord user verifies it and VRChat shows it, as a whole token, in that VRChat user's bio or
  status description (read fresh, never from a cache), and only once (a conditional UPDATE);
- one open code per Discord user (a new one replaces it), 10 minutes, capped per hour both ways;
- one VRChat account to one Discord account, for the whole deployment, by the database's constraints;
  a new verification replaces the old links of either account;
- whatever the bio says is never repeated back: every refusal is one sentence of our own.
Every refusal is a ServiceError (bot.views.errors shows its text); refusals by the code's owner that come
before VRChat is asked, and every refusal of someone else, write nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.links.codes import code_digest, holds_code, new_code
from bot.links.requesters import DiscordLink, MemberLookup, discord_links
from bot.services.access import GUILD_ONLY
from bot.services.common import (
    ActionLog,
    Actor,
    Clock,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    utcnow,
)
from bot.services.users import require_user_id
from bot.store import CodeNotClaimable, Link, LinkChange, LinkCode, LinkConflict
from bot.store.ports import LinkBook
from bot.vrchat import NotFound
from bot.vrchat.models import User

CODE_LIFETIME = timedelta(minutes=10)
CAP_WINDOW = timedelta(hours=1)
ISSUE_CAP = 5  # codes per Discord user per hour
VERIFY_CAP = 10  # verifications (each one VRChat request) per Discord user per hour
PURGE_AFTER = timedelta(days=1)  # used and expired codes are kept this long, to say why they fail


class LinkRefused(ServiceError):
    """A verification or code request that cannot go ahead; the text says why, in one line."""


class UserReader(Protocol):
    """The one VRChat call linking makes (VRChatClient and the router both have it)."""

    async def get_user(self, user_id: str) -> User: ...


class ServerModerators(Protocol):
    """Who moderates this server: a moderator role of any of its bindings, or Manage Server
    (bot.services.lookups.LookupService.require_moderator, the rule /vrc user follows)."""

    async def require_moderator(self, actor: Actor) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str  # shown once, to the Discord user it was issued to; the database keeps its digest
    code_id: int
    vrchat_user_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkStatus:
    link: Link | None
    open_code: LinkCode | None  # unused and unexpired


@dataclass(frozen=True, slots=True)
class Unlinked:
    link: Link | None  # None: there was no link
    cancelled_code: bool  # an open code was dropped with it


def discord_time(moment: datetime, style: Literal["R", "t", "f"] = "R") -> str:
    """A Discord timestamp: every reader sees it in their own time zone."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def _in_guild(actor: Actor) -> int:
    if actor.guild_id is None:
        raise PermissionDenied(GUILD_ONLY)
    return actor.guild_id


class LinkService:
    def __init__(
        self,
        vrchat: UserReader,
        store: LinkBook,
        moderators: ServerModerators,
        actions: ActionLog,
        *,
        members: MemberLookup | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._vrchat = vrchat
        self._store = store
        self._moderators = moderators
        self._actions = actions
        self._members = members
        self._clock = clock

    # ------------------------------------------------------------------ the member's own link

    async def issue(self, actor: Actor, user_text: str) -> IssuedCode:
        """A new code for linking the actor to that VRChat account; it replaces their open one."""
        user_id = require_user_id(user_text)
        _in_guild(actor)
        current = await self._store.link_of_discord(actor.user_id)
        if current is not None and current.vrchat_user_id == user_id:
            raise InvalidInput(f"Your Discord account is already linked to {user_id}.")
        now = self._clock()
        await self._take_attempt(actor, "issue", now)
        code = new_code()
        stored = await self._store.issue_link_code(
            actor.user_id,
            user_id,
            code_digest(code),
            now=now,
            expires_at=now + CODE_LIFETIME,
            purge_before=now - PURGE_AFTER,
        )
        return IssuedCode(code, stored.id, user_id, stored.expires_at)

    async def check_click(self, actor: Actor, code_id: int) -> LinkCode:
        """Whether a Verify click can go on, from the database alone: the code exists, was issued to
        this Discord user, is unused and unexpired. Writes nothing."""
        _in_guild(actor)
        code = await self._store.link_code(code_id)
        if code is None:
            raise LinkRefused(
                "This code is no longer valid: a newer code replaced it, or the link was removed. "
                "Use your newest code, or run /link start again."
            )
        if code.discord_user_id != actor.user_id:
            raise LinkRefused("This code was issued to another Discord account.")
        if code.used_at is not None:
            raise LinkRefused(
                "Already used: this code has linked an account once; run /link start for a new one."
            )
        if self._clock() >= code.expires_at:
            raise LinkRefused("This code has expired; run /link start again.")
        return code

    async def verify(self, actor: Actor, code_id: int) -> LinkChange:
        """Link the actor to the code's VRChat account if VRChat shows the code there now."""
        code = await self.check_click(actor, code_id)
        await self._take_attempt(actor, "verify", self._clock())
        try:
            user = await self._vrchat.get_user(code.vrchat_user_id)
        except NotFound:
            raise LinkRefused(
                f"VRChat has no user {code.vrchat_user_id}; run /link start with your own user ID or "
                "profile link."
            ) from None
        if not holds_code((user.bio, user.status_description), code.code_hash):
            raise LinkRefused(
                f"The code wasn't found in the bio or status of {code.vrchat_user_id}. Put it there exactly "
                "as shown (VRChat can take a minute to show a change), then press Verify again."
            )
        change = await self._complete(code, actor.user_id, user.id)
        await self._actions.record(
            actor,
            None,
            "link.add",
            target_id=change.link.vrchat_user_id,
            details={
                "discord_user_id": str(actor.user_id),
                "replaced": [f"{r.discord_user_id} {r.vrchat_user_id}" for r in change.replaced],
            },
        )
        return change

    async def _complete(self, code: LinkCode, discord_id: int, vrchat_id: str) -> LinkChange:
        # Two verifications for one account at the same moment: the database lets one commit and the
        # other fails whole (its code stays unused); tried once more, it replaces the first, as a
        # verification that comes a moment later would.
        for attempt in range(2):
            try:
                # The clicker, not the code's owner: the store links only a code's owner, so even a
                # missed check above could not link someone else's account.
                return await self._store.complete_link(code.id, discord_id, vrchat_id, now=self._clock())
            except CodeNotClaimable:
                raise LinkRefused(
                    "Already used: this code has linked an account once; run /link start for a new one."
                ) from None
            except LinkConflict:
                if attempt:
                    break
        raise ServiceError("Another link for this account was made at the same moment; press Verify again.")

    async def status(self, actor: Actor) -> LinkStatus:
        _in_guild(actor)
        code = await self._store.link_code_of(actor.user_id)
        usable = code is not None and code.used_at is None and self._clock() < code.expires_at
        return LinkStatus(await self._store.link_of_discord(actor.user_id), code if usable else None)

    async def unlink_self(self, actor: Actor) -> Unlinked:
        """Remove the actor's own link (and any code they have)."""
        _in_guild(actor)
        code = await self._store.link_code_of(actor.user_id)
        removed = await self._store.remove_link(actor.user_id)
        if removed is not None:
            await self._actions.record(
                actor,
                None,
                "link.remove",
                target_id=removed.vrchat_user_id,
                details={"discord_user_id": str(removed.discord_user_id), "by": "self"},
            )
        open_code = code is not None and code.used_at is None and self._clock() < code.expires_at
        return Unlinked(removed, open_code)

    # ------------------------------------------------------------------ moderators

    async def unlink_member(self, actor: Actor, discord_user_id: int, *, in_server: bool) -> Link:
        """A moderator removes a member's link. Only members of this server: a moderator has no say
        over people elsewhere."""
        if discord_user_id == actor.user_id:
            removed = (await self.unlink_self(actor)).link
            if removed is None:
                raise NotFoundError("Your Discord account is not linked to a VRChat account.")
            return removed
        await self._moderators.require_moderator(actor)
        if not in_server:
            raise InvalidInput("That user is not a member of this server.")
        removed = await self._store.remove_link(discord_user_id)
        if removed is None:
            raise NotFoundError("That member is not linked to a VRChat account.")
        await self._actions.record(
            actor,
            None,
            "link.remove",
            target_id=removed.vrchat_user_id,
            details={"discord_user_id": str(discord_user_id), "by": "moderator"},
        )
        return removed

    async def whois_member(self, actor: Actor, discord_user_id: int, *, in_server: bool) -> Link | None:
        await self._moderators.require_moderator(actor)
        if not in_server:
            raise InvalidInput(
                "That user is not a member of this server; /whois looks up this server's members."
            )
        return await self._store.link_of_discord(discord_user_id)

    async def whois_vrchat(self, actor: Actor, user_text: str) -> tuple[str, DiscordLink]:
        """The VRChat account's link as this server may see it: the Discord member when they are in
        this server, otherwise only that a link exists."""
        user_id = require_user_id(user_text)
        await self._moderators.require_moderator(actor)
        guild_id = _in_guild(actor)
        found = await discord_links(self._store, self._members, [(user_id, guild_id)])
        return user_id, found[(user_id, guild_id)]

    # ------------------------------------------------------------------ caps

    async def _take_attempt(self, actor: Actor, kind: Literal["issue", "verify"], now: datetime) -> None:
        cap = ISSUE_CAP if kind == "issue" else VERIFY_CAP
        retry_at = await self._store.take_link_attempt(
            actor.user_id, kind, now=now, since=now - CAP_WINDOW, cap=cap
        )
        if retry_at is not None:
            what = "asked for a link code" if kind == "issue" else "pressed Verify"
            # Minutes, not a Discord timestamp: refusals go through bot.views.errors, which breaks "<t:".
            minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
            raise LinkRefused(
                f"You have {what} {cap} times in the last hour; try again in {minutes} minute"
                f"{'' if minutes == 1 else 's'}."
            )
