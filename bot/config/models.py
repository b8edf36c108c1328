"""The configuration schema: one pydantic model per TOML table (the VRChat accounts' in
``account_models``, the bindings' in ``binding_models``, their base in ``section``; all named here).

Every model forbids unknown keys and secrets are ``SecretStr``. The value checks and their
operator-facing messages live in ``bot.config.checks``; the loader adds file, line and key in front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationInfo, field_validator

from bot.config.account_models import ENV_NAME_RE, AccountConfig, VRChatConfig
from bot.config.binding_models import AlertsConfig, BindingConfig, RuleConfig
from bot.config.checks import (
    BLANK_IS_UNSET,
    FEED_POLL_FLOOR_SECONDS,
    Count,
    GroupId,
    Number,
    Snowflake,
    check_database_url,
    check_discord_token,
    database_password,
    mask_database_url,
)
from bot.config.section import ENV_PREFIX, Section, env_var_name
from bot.events import EVENT_FAMILIES  # re-exported: bindings list these family names

# The tables of the other modules, re-exported: importers name them all from here (or bot.config).
__all__ = [
    "ENV_NAME_RE",
    "ENV_PREFIX",
    "EVENT_FAMILIES",
    "FEED_POLL_FLOOR_SECONDS",
    "LOG_LEVELS",
    "SECTION_MODELS",
    "AccountConfig",
    "AlertsConfig",
    "BindingConfig",
    "Config",
    "DatabaseConfig",
    "DiscordConfig",
    "FeedConfig",
    "GroupConfig",
    "LoggingConfig",
    "RuleConfig",
    "Section",
    "VRChatConfig",
    "env_var_name",
]

LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")


class DiscordConfig(Section):
    SECTION: ClassVar[str] = "discord"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"token"})

    token: SecretStr | None = None  # required by default: see load_config(required=...)
    guild_ids: list[Snowflake] = Field(default_factory=list)
    sync_commands_on_start: bool = True
    # The privileged Server Members intent (switch it on in the Developer Portal first): role sync then
    # sees Discord role changes as they happen and lists members 1,000 a request.
    server_members_intent: bool = False
    # Only for tests and the offline demo: where Discord's REST API and gateway are (a local stand-in).
    api_base_url: str | None = None
    gateway_url: str | None = None

    # The stand-in URLs: the schemes each accepts, and what the operator is told otherwise.
    _URL_SCHEMES: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {
        "api_base_url": (("http://", "https://"), "an http:// or https:// URL ending in /api/v10"),
        "gateway_url": (("ws://", "wss://"), "a ws:// or wss:// URL"),
    }

    @field_validator("api_base_url", "gateway_url")
    @classmethod
    def _check_url_scheme(cls, value: str | None, info: ValidationInfo) -> str | None:
        schemes, expected = cls._URL_SCHEMES[info.field_name or ""]
        if value is not None and not value.startswith(schemes):
            raise ValueError(f"must be {expected}")
        return value

    @field_validator("token", mode="before")
    @classmethod
    def _check_token(cls, value: Any) -> Any:
        return check_discord_token(value)

    @field_validator("guild_ids")
    @classmethod
    def _unique_guilds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("lists the same server ID more than once")
        return value


class DatabaseConfig(Section):
    SECTION: ClassVar[str] = "database"

    url: str = "sqlite+aiosqlite:///groupbridge.db"

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_database_url(value)

    @property
    def masked_url(self) -> str:
        """The URL with any password replaced by ***, safe to print."""
        return mask_database_url(self.url)

    def __repr_args__(self) -> Any:
        yield "url", self.masked_url


class LoggingConfig(Section):
    SECTION: ClassVar[str] = "logging"

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Annotated[Path | None, BLANK_IS_UNSET] = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        if isinstance(value, str):
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value


# Decided ban prompts and resolved alerts: half a year by default (their cards keep the outcome in
# Discord); never less than a week, past the watchdog's longest look back (two windows of a day).
DECIDED_RETENTION_DEFAULT = 180
DECIDED_RETENTION_FLOOR = 7


class FeedConfig(Section):
    SECTION: ClassVar[str] = "feed"

    # The floor (FEED_POLL_FLOOR_SECONDS) depends on where vrchat.base_url points, so the loader checks
    # it (bot.config.checks.poll_floor_problem) rather than this field alone.
    poll_interval_seconds: Number = Field(default=60.0, gt=0, le=86400)
    # A group whose log stays empty is polled less often, up to this (bot.feed.backoff). At least the
    # interval (the loader checks it when set; unset, it is at least the interval anyway).
    quiet_poll_ceiling_seconds: Number = Field(default=180.0, gt=0, le=86400)
    # Where the audit-log mirror is live, join-request cards come from it and the request listing is
    # only a reconcile, this often. At least a minute (the loader checks it, saying why).
    request_reconcile_seconds: Number = Field(default=1800.0, gt=0, le=86400)
    backfill: Literal["none", "last", "all"] = "none"
    backfill_count: Count = Field(default=100, ge=1, le=100_000)
    post_backfill: bool = False
    retention_days: Count = Field(default=0, ge=0)
    # The bot's own records (bot.feed.retention): who did what through the bot (0: kept forever, the
    # default, as an accountability record is), and ban prompts decided and runaway-moderator alerts
    # resolved, whose cards already show the outcome in Discord.
    action_log_retention_days: Count = Field(default=0, ge=0)
    decided_retention_days: Count = Field(default=DECIDED_RETENTION_DEFAULT, ge=0)
    # Several processes: how long a dead process's groups and channels wait for a new holder.
    lease_seconds: Number = Field(default=30.0, ge=1, le=3600)

    @field_validator("backfill", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("decided_retention_days")
    @classmethod
    def _decided_floor(cls, value: int) -> int:
        # Younger, a decided prompt is still how a replayed Discord ban is known as seen, and a
        # resolved alert how the watchdog knows a burst it still counts was alerted on.
        if 0 < value < DECIDED_RETENTION_FLOOR:
            raise ValueError(f"must be 0 (kept forever) or at least {DECIDED_RETENTION_FLOOR} days")
        return value

    @property
    def quiet_ceiling(self) -> float:
        """The ceiling in force: an interval set above the default ceiling, with no ceiling of its
        own, simply turns the growth off."""
        return max(self.quiet_poll_ceiling_seconds, self.poll_interval_seconds)


class GroupConfig(Section):
    SECTION: ClassVar[str] = "groups"

    id: GroupId
    name: Annotated[str | None, BLANK_IS_UNSET] = None


#: Top-level tables that may be overridden from the environment (arrays of tables may not).
SECTION_MODELS: dict[str, type[Section]] = {
    "vrchat": VRChatConfig,
    "discord": DiscordConfig,
    "database": DatabaseConfig,
    "logging": LoggingConfig,
    "feed": FeedConfig,
}


class Config(BaseModel):
    """The whole validated configuration, as returned by ``load_config``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vrchat: VRChatConfig
    discord: DiscordConfig
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)
    groups: list[GroupConfig] = Field(default_factory=list)
    bindings: list[BindingConfig] = Field(default_factory=list)
    accounts: list[AccountConfig] = Field(default_factory=list)  # more VRChat accounts ([vrchat] is first)

    _path: Path | None = PrivateAttr(default=None)
    _env_keys: tuple[str, ...] = PrivateAttr(default=())

    @property
    def path(self) -> Path | None:
        """The file this configuration was loaded from (None when built in code)."""
        return self._path

    @property
    def env_keys(self) -> tuple[str, ...]:
        """Dotted keys (e.g. ``vrchat.password``) whose values came from environment variables."""
        return self._env_keys

    @property
    def group_ids(self) -> frozenset[str]:
        """The allow-list of VRChat group ids."""
        return frozenset(g.id for g in self.groups)

    def group(self, group_id: str) -> GroupConfig | None:
        return next((g for g in self.groups if g.id == group_id), None)

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_are_tables(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("must be written as [[accounts]] tables")
        return value

    def secret_values(self) -> list[str]:
        """Every secret in the configuration, for ``bot.logs.register_secret``."""
        extra = [s for a in self.accounts for s in (a.password, a.totp_secret)]
        secrets = (self.vrchat.password, self.vrchat.totp_secret, self.discord.token, *extra)
        values = [s.get_secret_value() for s in secrets if s is not None]
        db_password = database_password(self.database.url)
        if db_password:
            values.append(db_password)
        return values
