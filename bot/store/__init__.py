"""Database layer: the mirrored audit log, the Discord outbox, bindings, gaps and the action log.

Knows nothing about Discord or the VRChat HTTP API: plain values in (bot.store.types), plain
values out. Entry point: ``store = await Store.open(url); await store.upgrade()``.
"""

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
    StoredEntry,
    StoreError,
)

__all__ = [
    "ActionIn",
    "ActionOutcome",
    "ActionRecord",
    "AuditEntryIn",
    "Binding",
    "BindingIn",
    "BindingSource",
    "ChannelBacklog",
    "ConfigSyncResult",
    "CursorUpdate",
    "DuplicateBindingError",
    "EntryPage",
    "Gap",
    "GroupCursor",
    "IngestHook",
    "IngestResult",
    "InvalidCursorError",
    "OutboxItem",
    "OutboxState",
    "OutboxStats",
    "Store",
    "StoreError",
    "StoredEntry",
]
