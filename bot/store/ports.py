"""The narrow parts of the Store that each service is handed, so a reader sees what it touches.

`Store` provides every one of them (mypy checks it where the services are built: bot.services, the
feed, bot.bot); a service declares the port it needs, never the whole Store. A port lists only the
methods its users call; one that needs another's methods extends it. Each method's meaning is in its
implementation (the module named beside each port). The feature packages' ports (bot/requests,
bot/roles, ...) are in bot.store.feature_ports.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol, Unpack

import bot.store.types as t
from bot.store.bindings import BindingFilters
from bot.store.journal import ActionFilters
from bot.store.leases import FenceReader, Lease, LeaseFence
from bot.store.links import AttemptKind, Link, LinkChange, LinkCode
from bot.store.process_state import ProcessAccount, ProcessState
from bot.store.query import EntryFilters, TextSink
from bot.store.rules import RequestRule, RuleKind, RuleOutcome
from bot.store.stats import DailyCounts
from bot.store.vrchat_calls import VRChatCall
from bot.store.wake_bus import WakeBus
from bot.store.watchlist import WatchEntry


class BindingReader(Protocol):
    """bot.store.bindings: which group feeds which channels (nearly every part reads this)."""

    async def list_bindings(self, **where: Unpack[BindingFilters]) -> list[t.Binding]: ...


class ActionJournal(Protocol):
    """bot.store.journal: the action log a service writes (services.common.ActionLog)."""

    async def record_action(self, action: t.ActionIn) -> t.ActionRecord: ...


class ActionReader(Protocol):
    """bot.store.journal: the action log read back (feed attribution, /bridge status)."""

    async def list_actions(
        self, *, limit: int = 50, **where: Unpack[ActionFilters]
    ) -> list[t.ActionRecord]: ...


class EntrySearch(Protocol):
    """bot.store.query: a page of the stored audit log (what a card, role sync or /audit looks up)."""

    async def search_entries(
        self, *, limit: int = 25, before_cursor: str | None = None, **filters: Unpack[EntryFilters]
    ) -> t.EntryPage: ...


class AuditArchive(EntrySearch, Protocol):
    """bot.store.query: search and export of the stored audit log (services.audit)."""

    async def export_csv(
        self, stream: TextSink, *, limit: int | None = None, **filters: Unpack[EntryFilters]
    ) -> int: ...


class BindingAdmin(BindingReader, ActionReader, Protocol):
    """bot.store.bindings, outbox, journal: /bridge bind, unbind, resume, events and status
    (services.bindings)."""

    async def add_binding(
        self, binding: t.BindingIn, *, source: t.BindingSource = "command"
    ) -> t.Binding: ...
    async def remove_binding(self, binding_id: int) -> bool: ...
    async def set_event_families(self, binding_id: int, families: Iterable[str]) -> t.Binding | None: ...
    async def resume_binding(
        self, *, binding_id: int | None = None, channel_id: int | None = None
    ) -> int: ...
    async def list_cursors(self) -> list[t.GroupCursor]: ...
    async def outbox_stats(self, now: datetime | None = None) -> t.OutboxStats: ...
    async def unnotified_gaps(self, group_id: str | None = None) -> list[t.Gap]: ...
    async def write_problem(self) -> str | None: ...


class RuleReader(BindingReader, Protocol):
    """bot.store.rules: the join-request rules a binding applies (services.rule_flow)."""

    async def list_rules(self, binding_ids: Iterable[int]) -> list[RequestRule]: ...
    async def rules_shadow(self, binding_id: int) -> bool: ...


class RuleBook(RuleReader, Protocol):
    """bot.store.rules: /rules add, remove, shadow (services.rules)."""

    async def add_rule(
        self, binding_id: int, kind: RuleKind, parameter: str | None, outcome: RuleOutcome, created_by: int
    ) -> RequestRule: ...
    async def remove_rule(self, binding_id: int, position: int) -> bool: ...
    async def set_rules_shadow(self, binding_id: int, shadow: bool) -> None: ...


class WatchlistReader(BindingReader, Protocol):
    """bot.store.watchlist: the watchlist hits a join-request card shows (services.watchlist)."""

    async def list_watch(self, binding_ids: Iterable[int]) -> list[WatchEntry]: ...


class Watchlists(WatchlistReader, Protocol):
    """bot.store.watchlist: /watchlist (services.watchlist)."""

    async def add_watch(self, binding_id: int, group_id: str, note: str, added_by: int) -> WatchEntry: ...
    async def remove_watch(self, binding_id: int, group_id: str) -> bool: ...


class DailyCounter(Protocol):
    """bot.store.stats: /stats (services.stats)."""

    async def daily_counts(
        self, group_id: str, categories: Mapping[str, Collection[str]], *, first_day: date, days: int
    ) -> DailyCounts: ...


class LinkLookup(Protocol):
    """bot.store.links: the Discord accounts linked to VRChat users (links.requesters)."""

    async def links_of_vrchat(self, vrchat_user_ids: Iterable[str]) -> dict[str, Link]: ...


class MemberLinkLookup(Protocol):
    """bot.store.links: the VRChat account a Discord member linked (role sync, bans, alerts)."""

    async def link_of_discord(self, discord_user_id: int) -> Link | None: ...


class LinkBook(LinkLookup, MemberLinkLookup, Protocol):
    """bot.store.links: /link and its codes, and who is linked (links.service)."""

    async def remove_link(self, discord_user_id: int) -> Link | None: ...
    async def link_code(self, code_id: int) -> LinkCode | None: ...
    async def link_code_of(self, discord_user_id: int) -> LinkCode | None: ...
    async def issue_link_code(
        self,
        discord_user_id: int,
        vrchat_user_id: str,
        code_hash: str,
        *,
        now: datetime,
        expires_at: datetime,
        purge_before: datetime,
    ) -> LinkCode: ...
    async def complete_link(
        self, code_id: int, discord_user_id: int, vrchat_user_id: str, *, now: datetime
    ) -> LinkChange: ...
    async def take_link_attempt(
        self, discord_user_id: int, kind: AttemptKind, *, now: datetime, since: datetime, cap: int
    ) -> datetime | None: ...


class PollerStore(ActionReader, Protocol):
    """bot.store.store, journal: the poller's cursor, ingest and gaps (feed.poller, feed.reading,
    feed.attribution)."""

    async def get_cursor(self, group_id: str) -> t.GroupCursor | None: ...
    async def ingest(
        self,
        group_id: str,
        entries: Sequence[t.AuditEntryIn],
        *,
        cursor_update: t.CursorUpdate | None = None,
        enqueue: bool = True,
        delayed_ids: Collection[str] = (),
        fence: LeaseFence | None = None,
    ) -> t.IngestResult: ...
    async def still_holds(self, fence: LeaseFence) -> bool: ...
    async def record_poll(self, group_id: str, ok: bool, error: str | None = None) -> None: ...
    async def record_gap(self, group_id: str, start: datetime, end: datetime, reason: str) -> t.Gap: ...
    async def entry_groups(self, ids: Iterable[str]) -> dict[str, str]: ...


class WakeBusOwner(Protocol):
    """bot.store.wake_bus: told at once of rows other processes write for this one (PostgreSQL)."""

    @property
    def wake_bus(self) -> WakeBus: ...


class PipelineStore(BindingReader, WakeBusOwner, Protocol):
    """bindings and the wake bus: join-request notices passed to the process holding the group."""


class OutboxStore(BindingReader, FenceReader, WakeBusOwner, Protocol):
    """bot.store.outbox, journal, set_aside: the feed's Discord outbox (feed.outbox)."""

    async def pending_channels(self) -> list[int]: ...
    async def in_flight_channels(self) -> list[int]: ...
    async def pending_for_channel(self, channel_id: int, limit: int = 50) -> list[t.OutboxItem]: ...
    async def rows_in_flight(self, channel_id: int) -> list[t.OutboxItem]: ...
    async def claim_pending(
        self, row_ids: Iterable[int], nonce: str, *, fence: LeaseFence | None = None
    ) -> bool: ...
    async def mark_packed(self, row_ids: Iterable[int], nonce: str) -> int: ...
    async def mark_sent(self, row_ids: Iterable[int], discord_message_id: int) -> int: ...
    async def mark_failed(self, row_ids: Iterable[int], error: str, *, give_up: bool = False) -> int: ...
    async def pause_binding(
        self, *, binding_id: int | None = None, channel_id: int | None = None, reason: str
    ) -> int: ...
    async def unnotified_gaps(self, group_id: str | None = None) -> list[t.Gap]: ...
    async def mark_gap_notified(self, gap_ids: Iterable[int]) -> int: ...
    async def set_aside(self, entry_id: str, group_id: str, stage: t.SetAsideStage, reason: str) -> bool: ...


class LeaseStore(BindingReader, Protocol):
    """bot.store.leases: which process holds which group and channel (bot.leases)."""

    async def list_leases(self, prefix: str | None = None) -> list[Lease]: ...
    async def acquire_leases(
        self, names: Iterable[str], owner: str, ttl: float, *, force: bool = False
    ) -> dict[str, Lease]: ...
    async def release_leases(self, owner: str, names: Iterable[str] | None = None) -> int: ...
    async def purge_leases(self, expired_for: timedelta, *, prefix: str) -> int: ...


class ProcessStateStore(BindingReader, Protocol):
    """bot.store.process_state: what each bot process runs (bot.services.processes)."""

    async def report_process(
        self,
        owner: str,
        role: str,
        started_at: datetime,
        groups: Iterable[str],
        accounts: Iterable[ProcessAccount],
    ) -> datetime: ...
    async def list_process_states(self) -> list[ProcessState]: ...
    async def forget_process(self, owner: str) -> int: ...
    async def forget_other_processes(self, owner: str) -> int: ...
    async def purge_process_states(self, silent_for: timedelta) -> int: ...


class VRChatCallStore(WakeBusOwner, Protocol):
    """bot.store.vrchat_calls: VRChat calls handed to the process holding the account (bot.accounts)."""

    async def request_vrchat_call(self, account: str, method: str, arguments: str) -> int: ...
    async def vrchat_call(self, call_id: int) -> VRChatCall | None: ...
    async def drop_vrchat_call(self, call_id: int) -> bool: ...
    async def take_vrchat_calls(self, owner: str, accounts: Iterable[str]) -> list[VRChatCall]: ...
    async def finish_vrchat_call(self, call_id: int, owner: str, outcome: str) -> bool: ...
    async def purge_vrchat_calls(self, older_than: timedelta) -> int: ...


class WakeStore(WakeBusOwner, Protocol):
    """bot.store.wakes: a moderator's command reaching the process that polls the group (bot.activity)."""

    async def wake_groups(self, group_ids: Iterable[str]) -> dict[str, int]: ...
    async def group_wakes(self, group_ids: Iterable[str]) -> dict[str, int]: ...
    async def purge_group_wakes(self, older_than: timedelta) -> int: ...


class SessionNoticeStore(BindingReader, Protocol):
    """bot.store.session_notices, bindings: which channels heard each account's alarm (feed.alerts)."""

    async def claim_session_alarm(
        self, channel_ids: Iterable[int], *, account: str = "", fence: LeaseFence | None = None
    ) -> list[int]: ...
    async def claim_session_alerts(
        self, channel_ids: Iterable[int], *, account: str = "", fence: LeaseFence | None = None
    ) -> list[int]: ...


class RetentionStore(Protocol):
    """bot.store.query, cards, journal, ban_prompts, moderator_alerts: what retention forgets
    (feed.retention)."""

    async def purge_older_than(self, days: float, *, now: datetime | None = None) -> int: ...
    async def purge_closed_cards(self, before: datetime) -> int: ...
    async def purge_notified_gaps(self, before: datetime) -> int: ...
    async def purge_actions(
        self, before: datetime, *, credit_margin: timedelta, keep_latest: Collection[str] = ()
    ) -> int: ...
    async def purge_decided_ban_prompts(self, before: datetime) -> int: ...
    async def purge_resolved_alerts(self, before: datetime) -> int: ...


class FeedStore(PollerStore, OutboxStore, SessionNoticeStore, RetentionStore, Protocol):
    """Everything the feed's loops use, and retention (feed.service)."""
