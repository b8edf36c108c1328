"""The narrow parts of the Store that the feature packages' services are handed (bot/desk, instances,
requests, roles, banbridge, watchdog), beside those of bot.store.ports, which they extend.

As there, `Store` provides each of them (mypy checks it where the services are built: bot.services,
bot.bot), a port lists only the methods its users call, and a service declares the port it needs,
never the whole Store (tests/test_import_graph.py fails on a parameter typed `Store` elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import bot.store.types as t
from bot.store.ban_prompts import (
    BAN_TRIGGER,
    DEFAULT_DISCORD_KICK,
    BanPrompt,
    BanPromptState,
    BanSetting,
    DiscordBanMode,
    DiscordKickMode,
)
from bot.store.cards import CardState, HandledWhere, RequestCard
from bot.store.history import EventTally, HistoryPage
from bot.store.history_pagers import HistoryPager
from bot.store.instance_reports import InstanceReport, InstanceTrace, ReportState
from bot.store.leases import FenceReader
from bot.store.moderator_alerts import AlertSettingsRecord, EpisodeWrite, ModeratorAlert, Resolution
from bot.store.notes import ModeratorNote
from bot.store.ports import (
    ActionReader,
    BindingReader,
    EntrySearch,
    LinkLookup,
    MemberLinkLookup,
    RuleReader,
    WatchlistReader,
)
from bot.store.query import TextSink
from bot.store.role_sync import (
    Direction,
    HeldKey,
    RoleMapping,
    RoleSyncSettings,
    RoleWrite,
    Side,
    SyncMode,
    WriteOp,
    WriteState,
)
from bot.store.role_sync_asks import RoleSyncAsk


class MemberHistory(BindingReader, Protocol):
    """bot.store.history, notes, history_pagers: a member's history, the moderators' notes on them and
    the pages of a history reply seen (desk.service)."""

    async def user_history(
        self, *, guild_id: int, group_id: str, user_id: str, limit: int = 10, before_cursor: str | None = None
    ) -> HistoryPage: ...
    async def user_event_tallies(
        self, group_id: str, user_id: str, *, before: datetime | None = None
    ) -> dict[str, EventTally]: ...
    async def export_history_csv(
        self, stream: TextSink, *, guild_id: int, group_id: str, user_id: str, limit: int | None = None
    ) -> int: ...
    async def latest_note(self, guild_id: int, group_id: str, user_id: str) -> ModeratorNote | None: ...
    async def note_count(self, guild_id: int, group_id: str, user_id: str) -> int: ...
    async def add_note(
        self,
        *,
        guild_id: int,
        group_id: str,
        vrchat_user_id: str,
        text: str,
        author_discord_id: int,
        author_name: str,
        now: datetime | None = None,
    ) -> ModeratorNote: ...
    async def get_note(self, note_id: int) -> ModeratorNote | None: ...
    async def edit_note(self, note_id: int, text: str, *, at: datetime) -> ModeratorNote | None: ...
    async def delete_note(self, note_id: int) -> bool: ...
    async def recent_notes(
        self, guild_id: int, *, author_discord_id: int | None, containing: str = "", limit: int = 25
    ) -> list[ModeratorNote]: ...
    async def open_history_pager(
        self,
        *,
        guild_id: int,
        group_id: str,
        user_id: str,
        opener_discord_id: int,
        cursors: Sequence[str | None],
        now: datetime,
    ) -> HistoryPager: ...
    async def history_pager(self, pager_id: int, *, now: datetime) -> HistoryPager | None: ...
    async def history_page_seen(
        self, pager_id: int, *, seen: Sequence[str | None], cursors: Sequence[str | None], now: datetime
    ) -> bool: ...


class InstanceReportMover(BindingReader, Protocol):
    """bot.store.instance_reports: an age-gate report moved from one state to the next."""

    async def move_instance_report(
        self,
        report_id: int,
        from_states: Iterable[ReportState],
        to_state: ReportState,
        *,
        by_discord_id: int | None = None,
    ) -> bool: ...


class InstanceReportDesk(InstanceReportMover, Protocol):
    """bot.store.instance_reports: /vrc instances and the buttons on a report (instances.service)."""

    async def instance_report(self, report_id: int) -> InstanceReport | None: ...
    async def recent_instance_traces(self, group_id: str, limit: int = 200) -> list[InstanceTrace]: ...
    async def reported_world_names(self, group_id: str, limit: int = 200) -> dict[str, str]: ...


class AgeGateReports(InstanceReportMover, Protocol):
    """bot.store.instance_reports: each report claimed before the age gate posts it (instances.age_gate)."""

    async def instance_reports(
        self, binding_ids: Iterable[int], states: Iterable[ReportState] | None = None
    ) -> list[InstanceReport]: ...
    async def claim_instance_report(
        self, binding_id: int, group_id: str, location: str, world_name: str, state: ReportState
    ) -> InstanceReport | None: ...
    async def set_report_message(self, report_id: int, channel_id: int, message_id: int) -> None: ...
    async def prune_instance_reports(self, before: datetime) -> int: ...


class RequestCards(EntrySearch, Protocol):
    """bot.store.cards, query: the join-request cards kept in step with VRChat (requests.reconcile)."""

    async def list_cards(self, group_id: str, state: CardState | None = None) -> list[RequestCard]: ...
    async def cards_for(self, group_id: str, user_id: str) -> list[RequestCard]: ...
    async def upsert_card(
        self,
        group_id: str,
        user_id: str,
        channel_id: int,
        *,
        display_name: str | None = None,
        message_id: int | None = None,
        requested_at: datetime | None = None,
    ) -> RequestCard: ...
    async def reopen_cards(self, group_id: str, user_id: str, *, handled_before: datetime) -> int: ...
    async def claim_card(
        self,
        group_id: str,
        user_id: str,
        new_state: CardState,
        *,
        by_discord_id: int | None,
        by_name: str | None,
        where: HandledWhere,
        at: datetime | None = None,
        claimed_by: str | None = None,
    ) -> bool: ...


class JoinRequestStore(RequestCards, RuleReader, WatchlistReader, LinkLookup, Protocol):
    """bot.store.cards, rules, watchlist, links: a click on a card, and the rules and summaries a new
    card gets (requests.service)."""

    async def release_claim(
        self,
        group_id: str,
        user_id: str,
        state: CardState,
        by_discord_id: int,
        *,
        handled_at: datetime | None = None,
    ) -> int: ...
    async def set_card_closed(self, group_id: str, user_id: str, channel_id: int) -> bool: ...


class RoleWriteLog(Protocol):
    """bot.store.role_sync: the role writes a binding has pending or refused."""

    async def role_writes(self, binding_id: int, state: WriteState | None = None) -> list[RoleWrite]: ...


class RoleWrites(RoleWriteLog, LinkLookup, MemberLinkLookup, Protocol):
    """bot.store.role_sync, links: each role write noted before it is made, and what both sides
    agreed on (roles.sync)."""

    async def begin_role_write(
        self, binding_id: int, side: Side, op: WriteOp, user_id: str, role_id: str, details: Mapping[str, Any]
    ) -> RoleWrite: ...
    async def finish_role_write(
        self, write_id: int, action: t.ActionIn | None, agreed: tuple[int, HeldKey, bool | None] | None = None
    ) -> bool: ...
    async def refuse_role_write(self, write_id: int, reason: str) -> bool: ...
    async def role_sync_held(self, binding_id: int) -> dict[HeldKey, bool]: ...
    async def update_role_sync_held(
        self, binding_id: int, agreed: Mapping[HeldKey, bool], forget: Iterable[tuple[int, str]] = ()
    ) -> None: ...


class RoleMappings(RoleWriteLog, Protocol):
    """bot.store.role_sync: /roles map, unmap, mode and the refusals cleared (roles.service)."""

    async def role_mappings(self, binding_id: int) -> list[RoleMapping]: ...
    async def add_role_mapping(
        self,
        binding_id: int,
        vrchat_role_id: str,
        discord_role_id: int,
        direction: Direction,
        source_of_truth: Side,
        *,
        allow_management: bool,
        created_by: int,
    ) -> RoleMapping: ...
    async def remove_role_mapping(self, binding_id: int, mapping_id: int) -> RoleMapping | None: ...
    async def role_sync_settings(self, binding_id: int) -> RoleSyncSettings: ...
    async def set_role_sync_settings(
        self, binding_id: int, mode: SyncMode, membership_role_id: int | None
    ) -> RoleSyncSettings: ...
    async def clear_role_refusals(self, binding_id: int, role_ids: Iterable[str] | None = None) -> int: ...


class RoleSyncFeed(BindingReader, ActionReader, EntrySearch, MemberLinkLookup, FenceReader, Protocol):
    """bot.store.role_sync, query, journal: which bindings sync roles and the mirrored entries that
    start a sync (roles.loop)."""

    async def role_synced_bindings(self) -> list[int]: ...
    async def ask_role_sync(self, binding_id: int, group_id: str, vrchat_user_id: str) -> None: ...
    async def role_sync_asks(self, binding_ids: Iterable[int]) -> list[RoleSyncAsk]: ...
    async def drop_role_sync_asks(self, ask_ids: Iterable[int]) -> int: ...
    async def purge_role_sync_asks(self, older_than: timedelta) -> int: ...


class BanSettings(BindingReader, Protocol):
    """bot.store.ban_prompts: /bridge bans and the config's ban settings (banbridge.service)."""

    async def ban_setting(self, binding_id: int) -> BanSetting: ...
    async def set_ban_setting(
        self,
        binding_id: int,
        discord_ban: DiscordBanMode,
        prompt_channel_id: int | None,
        *,
        by: int,
        discord_kick: DiscordKickMode = DEFAULT_DISCORD_KICK,
    ) -> BanSetting: ...


class BanPrompts(BanSettings, MemberLinkLookup, Protocol):
    """bot.store.ban_prompts: a Discord ban or kick, its prompt, then the VRChat ban (banbridge.service)."""

    async def open_ban_prompt(
        self,
        *,
        binding_id: int,
        guild_id: int,
        group_id: str,
        discord_user_id: int,
        vrchat_user_id: str,
        channel_id: int,
        state: Literal["auto", "open"],
        trigger: str = BAN_TRIGGER,
    ) -> BanPrompt | None: ...
    async def ban_prompt(self, prompt_id: int) -> BanPrompt | None: ...
    async def unposted_ban_prompts(self) -> list[BanPrompt]: ...
    async def set_ban_prompt_message(self, prompt_id: int, round_: int, message_id: int) -> bool: ...
    async def move_ban_prompt(
        self,
        prompt_id: int,
        round_: int,
        *,
        from_states: tuple[BanPromptState, ...],
        to: BanPromptState,
        by_discord_id: int | None = None,
        by_name: str | None = None,
        note: str | None = None,
        stale_before: datetime | None = None,
    ) -> bool: ...
    async def lift_ban_prompts(self, guild_id: int, discord_user_id: int) -> list[BanPrompt]: ...
    async def audit_mark(self, guild_id: int) -> int | None: ...
    async def move_audit_mark(self, guild_id: int, entry_id: int) -> None: ...


class AlertSettingsWriter(BindingReader, Protocol):
    """bot.store.moderator_alerts: a binding's alert settings written (watchdog.settings)."""

    async def put_alert_settings(self, settings: AlertSettingsRecord) -> AlertSettingsRecord: ...


class ModeratorAlerts(AlertSettingsWriter, MemberLinkLookup, Protocol):
    """bot.store.moderator_alerts, bindings: /bridge alerts, the episodes found and their alerts'
    buttons (watchdog.service)."""

    async def get_binding(self, binding_id: int) -> t.Binding | None: ...
    async def alert_settings(self, binding_ids: Iterable[int]) -> dict[int, AlertSettingsRecord]: ...
    async def entries_of_types(
        self, group_id: str, event_types: Sequence[str], since: datetime, *, limit: int = 5000
    ) -> list[t.StoredEntry]: ...
    async def record_episodes(self, episodes: Sequence[EpisodeWrite]) -> list[int]: ...
    async def latest_alerts(
        self, binding_id: int, actor_keys: Iterable[str]
    ) -> dict[str, ModeratorAlert]: ...
    async def get_alert(self, alert_id: int) -> ModeratorAlert | None: ...
    async def note_alert(self, alert_id: int, note: str) -> None: ...
    async def reopen_alert(self, alert_id: int, note: str) -> None: ...
    async def resolve_alert(
        self, alert_id: int, resolution: Resolution, by: int | None, note: str | None = None
    ) -> bool: ...
