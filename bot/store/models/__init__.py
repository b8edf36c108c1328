"""Table definitions (SQLAlchemy 2 declarative), portable across SQLite and PostgreSQL, one module a
feature. Importing this package registers every table on `metadata`, which Alembic's env compares with.

The migrations in migrations/versions must produce exactly this schema; tests/store/test_migrations.py
runs alembic's autogenerate comparison on both backends to keep the two from drifting.
"""

from __future__ import annotations

from bot.store.models.alerts import AlertSettingsRow, ModeratorAlertRow
from bot.store.models.base import NAMING_CONVENTION, Base, BigIntPK, JSONValue, UTCDateTime
from bot.store.models.feed import (
    ActionLogRow,
    AuditEntryRow,
    BindingRow,
    GapRow,
    GroupCursorRow,
    LeaseRow,
    OutboxRow,
    SetAsideRow,
)
from bot.store.models.people import (
    BanPromptRow,
    BanSettingRow,
    DiscordAuditMarkRow,
    DiscordLinkRow,
    HistoryPagerRow,
    LinkAttemptRow,
    LinkCodeRow,
    ModeratorNoteRow,
    SessionNoticeRow,
)
from bot.store.models.processes import GroupWakeRow, ProcessStateRow, VRChatCallRow
from bot.store.models.requests import (
    InstanceReportRow,
    RequestCardRow,
    RequestRuleRow,
    RuleSettingsRow,
    WatchlistRow,
)
from bot.store.models.roles import (
    RoleMappingRow,
    RoleSyncAskRow,
    RoleSyncHeldRow,
    RoleSyncSettingsRow,
    RoleSyncWriteRow,
)

metadata = Base.metadata

__all__ = [
    "NAMING_CONVENTION",
    "ActionLogRow",
    "AlertSettingsRow",
    "AuditEntryRow",
    "BanPromptRow",
    "BanSettingRow",
    "Base",
    "BigIntPK",
    "BindingRow",
    "DiscordAuditMarkRow",
    "DiscordLinkRow",
    "GapRow",
    "GroupCursorRow",
    "GroupWakeRow",
    "HistoryPagerRow",
    "InstanceReportRow",
    "JSONValue",
    "LeaseRow",
    "LinkAttemptRow",
    "LinkCodeRow",
    "ModeratorAlertRow",
    "ModeratorNoteRow",
    "OutboxRow",
    "ProcessStateRow",
    "RequestCardRow",
    "RequestRuleRow",
    "RoleMappingRow",
    "RoleSyncAskRow",
    "RoleSyncHeldRow",
    "RoleSyncSettingsRow",
    "RoleSyncWriteRow",
    "RuleSettingsRow",
    "SessionNoticeRow",
    "SetAsideRow",
    "UTCDateTime",
    "VRChatCallRow",
    "WatchlistRow",
    "metadata",
]
