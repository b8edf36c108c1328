"""Database layer: the mirrored audit log, the Discord outbox, bindings, gaps, the action log,
join-request cards and Discord-VRChat links.

Knows nothing about Discord or the VRChat HTTP API: plain values in (bot.store.types), plain
values out. Entry point: ``store = await Store.open(url); await store.upgrade()``.
"""

from bot.store.ban_prompts import BanPrompt, BanPromptState, BanSetting, DiscordBanMode, DiscordKickMode
from bot.store.cards import CARD_STATES, NO_CHANNEL, CardState, HandledWhere, RequestCard
from bot.store.history import EventTally, HistoryItem, HistoryPage
from bot.store.links import CodeNotClaimable, Link, LinkChange, LinkCode, LinkConflict
from bot.store.notes import ModeratorNote
from bot.store.process_state import ProcessAccount, ProcessState
from bot.store.store import IngestHook, Store
from bot.store.types import (
    ActionIn,
    ActionOutcome,
    ActionRecord,
    AuditEntryIn,
    Binding,
    BindingIn,
    BindingSource,
    ChannelBacklog,
    ConfigSyncResult,
    CursorUpdate,
    DuplicateBindingError,
    EntryPage,
    Gap,
    GroupCursor,
    IngestResult,
    InvalidCursorError,
    OutboxItem,
    OutboxState,
    OutboxStats,
    SetAside,
    SetAsideIn,
    SetAsideStage,
    StoredEntry,
    StoreError,
)
from bot.store.watchlist import DuplicateWatchError, WatchEntry

__all__ = [
    "CARD_STATES",
    "NO_CHANNEL",
    "ActionIn",
    "ActionOutcome",
    "ActionRecord",
    "AuditEntryIn",
    "BanPrompt",
    "BanPromptState",
    "BanSetting",
    "Binding",
    "BindingIn",
    "BindingSource",
    "CardState",
    "ChannelBacklog",
    "CodeNotClaimable",
    "ConfigSyncResult",
    "CursorUpdate",
    "DiscordBanMode",
    "DiscordKickMode",
    "DuplicateBindingError",
    "DuplicateWatchError",
    "EntryPage",
    "EventTally",
    "Gap",
    "GroupCursor",
    "HandledWhere",
    "HistoryItem",
    "HistoryPage",
    "IngestHook",
    "IngestResult",
    "InvalidCursorError",
    "Link",
    "LinkChange",
    "LinkCode",
    "LinkConflict",
    "ModeratorNote",
    "OutboxItem",
    "OutboxState",
    "OutboxStats",
    "ProcessAccount",
    "ProcessState",
    "RequestCard",
    "SetAside",
    "SetAsideIn",
    "SetAsideStage",
    "Store",
    "StoreError",
    "StoredEntry",
    "WatchEntry",
]
