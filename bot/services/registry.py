"""Builds every service (`Services`) and names what the cogs use from bot.services.

No Discord here. Every mutating method checks permission itself (the cog's check is not trusted)
and validates its input before any VRChat request or database write.

    services = Services(vrchat, store, config)
    await services.requests.decide(actor, group_id, user_id, "accept")
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.activity import GroupActivity
from bot.config import Config
from bot.links.requesters import MemberLookup
from bot.requests.model import JoinRequest
from bot.requests.reconcile import CardChange
from bot.requests.service import Decision, JoinRequestService
from bot.services.access import Access
from bot.services.audit import AuditPage, AuditService, CsvExport
from bot.services.bindings import BindingService, ChannelStatus, GroupStatus, StatusReport
from bot.services.common import (
    ActionLog,
    Actor,
    AlreadyHandled,
    Clock,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    utcnow,
)
from bot.services.invites import InviteOutcome, InviteService
from bot.services.lookups import GroupInstances, GroupLine, InstanceLine, LookupService, UserProfile
from bot.services.member_roles import MemberRoleService
from bot.services.moderation import ModerationOutcome, ModerationService
from bot.services.posts import PostDraft, PostService
from bot.services.profile import BotProfile, ProfileService
from bot.services.rules import RulesService
from bot.services.stats import StatsService
from bot.services.users import UserDirectory
from bot.services.watchlist import WatchlistService
from bot.store import Store
from bot.vrchat import VRChatAPI


class Services:
    """Everything the cogs need, built once from the VRChat client, the store and the config."""

    def __init__(
        self,
        vrchat: VRChatAPI,
        store: Store,
        config: Config,
        *,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        members: MemberLookup | None = None,
        activity: GroupActivity | None = None,
        claimer: Callable[[], str | None] = lambda: None,
    ) -> None:
        """`vrchat` is one account's client, or the router of several (bot.vrchat.router): both are a
        VRChatAPI; `clock` dates decisions and reports; `monotonic` times the caches and the search
        rate limit; `members` says whether a Discord user is in a server (join-request cards show a
        requester's linked member; without it, linked requesters show as unknown); `activity` hears
        of every action taken on a group (bot.activity); `claimer` names this process (its lease
        owner id) on the join requests it claims."""
        # Each service takes only its port of the store (bot.store.ports: Access a BindingReader, the
        # rules a RuleBook, ...); handing it `store` here is where mypy checks Store provides each one.
        # /bridge status lists the accounts when there are several.
        accounts = vrchat.accounts
        # One action log for every feature, so each action reaches the activity hub (bot.activity).
        self.actions = actions = ActionLog(store, activity)
        users = UserDirectory(vrchat, monotonic=monotonic)
        self.access = Access(store, config)
        self.requests = JoinRequestService(
            vrchat, store, self.access, users, actions, clock, members=members, claimer=claimer
        )
        self.invites = InviteService(vrchat, self.access, users, actions)
        self.posts = PostService(vrchat, self.access, actions, monotonic=monotonic)
        self.moderation = ModerationService(vrchat, self.access, users, actions)
        self.member_roles = MemberRoleService(vrchat, self.access, users, actions, config)
        self.bindings = BindingService(vrchat, store, self.access, actions, clock, accounts=accounts)
        self.audit = AuditService(store, self.access, actions, clock)
        self.lookups = LookupService(vrchat, self.access, users, clock)
        self.profile = ProfileService(vrchat, self.access, actions)
        self.watchlist = WatchlistService(vrchat, store, self.access, actions)
        self.rules = RulesService(store, self.access, actions)
        self.stats = StatsService(store, self.access, clock)


__all__ = [
    "Access",
    "Actor",
    "AlreadyHandled",
    "AuditPage",
    "AuditService",
    "BindingService",
    "BotProfile",
    "CardChange",
    "ChannelStatus",
    "CsvExport",
    "Decision",
    "GroupInstances",
    "GroupLine",
    "GroupStatus",
    "InstanceLine",
    "InvalidInput",
    "InviteOutcome",
    "InviteService",
    "JoinRequest",
    "JoinRequestService",
    "LookupService",
    "MemberRoleService",
    "ModerationOutcome",
    "ModerationService",
    "NotFoundError",
    "PermissionDenied",
    "PostDraft",
    "PostService",
    "ProfileService",
    "RulesService",
    "ServiceError",
    "Services",
    "StatusReport",
    "UserProfile",
    "WatchlistService",
]
