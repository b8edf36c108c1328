"""The configuration schema: one pydantic model per TOML table.

Every model forbids unknown keys and secrets are ``SecretStr``. The value checks and their
operator-facing messages live in ``bot.config.checks``; the loader adds file, line and key in front.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.checks import (
    FEED_POLL_FLOOR_SECONDS,  # noqa: F401 - re-exported by bot.config
    Count,
    Number,
    Snowflake,
    blank_to_none,
    check_database_url,
    check_discord_token,
    check_group_id,
    check_http_url,
    check_totp_secret,
    check_user_agent,
    database_password,
    is_loopback_url,
    mask_database_url,
)
from bot.events import EVENT_FAMILIES  # re-exported: bindings list these family names
from bot.vrchat.client import DEFAULT_BASE_URL
from bot.vrchat.pipeline import DEFAULT_PIPELINE_URL

ENV_PREFIX = "GROUPBRIDGE_"

LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")


def env_var_name(section: str, key: str) -> str:
    """The environment variable that overrides ``[section] key``, e.g. GROUPBRIDGE_VRCHAT__PASSWORD."""
    return f"{ENV_PREFIX}{section.upper()}__{key.upper()}"


# --- sections ------------------------------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Name of the TOML table, used for environment variable names in messages.
    SECTION: ClassVar[str] = ""
    #: Fields holding secrets: never stripped, never shown.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _strip_strings(cls, data: Any) -> Any:
        # Surrounding whitespace in a plain value is a copy/paste accident; in a password it may be real.
        if isinstance(data, dict):
            return {
                k: v.strip() if isinstance(v, str) and k not in cls.SECRET_FIELDS else v
                for k, v in data.items()
            }
        return data

    @classmethod
    def _require_text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                f"is empty: fill it in, or set the environment variable "
                f"{env_var_name(cls.SECTION, info.field_name or '')}"
            )
        return value


class VRChatConfig(_Section):
    SECTION: ClassVar[str] = "vrchat"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"password", "totp_secret"})

    # The credentials are optional in the model: `login` can prompt for them, and `run` reuses the
    # session `login` saved. Whether a command needs them is decided by load_config(required=...), which
    # by default requires the username only; a missing password is a note (see config_notes).
    username: str | None = None
    password: SecretStr | None = None
    totp_secret: SecretStr | None = None
    user_agent: str
    base_url: str = DEFAULT_BASE_URL
    session_file: Path = Path("groupbridge-session.json")
    requests_per_second: Number = Field(default=1.0, gt=0, le=10)
    burst: Count = Field(default=3, ge=1)
    max_backoff_seconds: Number = Field(default=1800.0, ge=1)
    relogin_interval_seconds: Number = Field(default=900.0, ge=60)
    request_timeout_seconds: Number = Field(default=30.0, gt=0, le=600)
    # VRChat's pipeline websocket: join requests in seconds (bot.vrchat.pipeline). Empty URL: derived.
    pipeline: bool = True
    pipeline_url: str | None = None

    @field_validator("username", "password", mode="before")
    @classmethod
    def _blank_credentials(cls, value: Any) -> Any:
        return blank_to_none(value)

    @field_validator("user_agent", mode="before")
    @classmethod
    def _not_empty(cls, value: Any, info: ValidationInfo) -> Any:
        return cls._require_text(value, info)

    @field_validator("totp_secret", mode="before")
    @classmethod
    def _check_totp_secret(cls, value: Any) -> Any:
        return check_totp_secret(value)

    @field_validator("user_agent")
    @classmethod
    def _check_user_agent(cls, value: str) -> str:
        return check_user_agent(value)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("session_file", mode="before")
    @classmethod
    def _check_session_file(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be a file path")
        return value

    @field_validator("pipeline_url", mode="before")
    @classmethod
    def _check_pipeline_url(cls, value: Any) -> Any:
        value = blank_to_none(value)
        if not isinstance(value, str):
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ValueError("must be a ws:// or wss:// URL, e.g. wss://pipeline.vrchat.cloud/")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query: the bot adds the session token itself")
        return value

    @property
    def pipeline_endpoint(self) -> str | None:
        """Where the pipeline connects, or None when it is off: `pipeline_url`, else VRChat's own
        pipeline for VRChat's API, else (a simulator on a loopback base_url) the root of that host.
        For any other base_url there is nothing to derive it from: off unless pipeline_url says."""
        if not self.pipeline:
            return None
        if self.pipeline_url:
            return self.pipeline_url
        if self.base_url == DEFAULT_BASE_URL:
            return DEFAULT_PIPELINE_URL
        if is_loopback_url(self.base_url):
            parts = urlsplit(self.base_url)
            return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}/"
        return None


ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class AccountConfig(_Section):
    """One more VRChat account for the bot (a ``[[accounts]]`` table).

    It has its own login, session file and rate limiter; the connection settings (user_agent, base_url,
    back-off, timeouts, re-login interval) are [vrchat]'s, and requests_per_second and burst default to
    [vrchat]'s. Arrays of tables cannot come from the environment, so the secrets can instead be named
    by ``password_env`` / ``totp_secret_env``, which the loader reads (bot.config.accounts).
    """

    SECTION: ClassVar[str] = "accounts"
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"password", "totp_secret"})

    username: str
    password: SecretStr | None = None
    password_env: str | None = None
    totp_secret: SecretStr | None = None
    totp_secret_env: str | None = None
    session_file: Path
    requests_per_second: Number | None = Field(default=None, gt=0, le=10)
    burst: Count | None = Field(default=None, ge=1)

    @field_validator("username", mode="before")
    @classmethod
    def _username(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                "is empty: an extra account needs its VRChat username (it also names the account in "
                "`groupbridge login --account` and /bridge status)"
            )
        return value

    @field_validator("password", "password_env", "totp_secret_env", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return blank_to_none(value)

    @field_validator("password_env", "totp_secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME_RE.fullmatch(value):
            raise ValueError(
                "must be the name of an environment variable (letters, digits and _), not the secret itself"
            )
        return value

    @field_validator("totp_secret", mode="before")
    @classmethod
    def _check_totp_secret(cls, value: Any) -> Any:
        return check_totp_secret(value)

    @field_validator("session_file", mode="before")
    @classmethod
    def _check_session_file(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be a file path (each account needs its own)")
        return value


class DiscordConfig(_Section):
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

    @field_validator("api_base_url")
    @classmethod
    def _check_api_base(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL ending in /api/v10")
        return value

    @field_validator("gateway_url")
    @classmethod
    def _check_gateway(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws:// or wss:// URL")
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


class DatabaseConfig(_Section):
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


class LoggingConfig(_Section):
    SECTION: ClassVar[str] = "logging"

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        if isinstance(value, str):
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value

    @field_validator("file", mode="before")
    @classmethod
    def _blank_file(cls, value: Any) -> Any:
        return blank_to_none(value)


class FeedConfig(_Section):
    SECTION: ClassVar[str] = "feed"

    # The floor (FEED_POLL_FLOOR_SECONDS) depends on where vrchat.base_url points, so the loader checks
    # it (bot.config.checks.poll_floor_problem) rather than this field alone.
    poll_interval_seconds: Number = Field(default=60.0, gt=0, le=86400)
    # A group whose log stays empty is polled less often, up to this (bot.feed.backoff). At least the
    # interval (the loader checks it when set; unset, it is at least the interval anyway).
    quiet_poll_ceiling_seconds: Number = Field(default=180.0, gt=0, le=86400)
    backfill: Literal["none", "last", "all"] = "none"
    backfill_count: Count = Field(default=100, ge=1, le=100_000)
    post_backfill: bool = False
    retention_days: Count = Field(default=0, ge=0)
    # Several processes: how long a dead process's groups and channels wait for a new holder.
    lease_seconds: Number = Field(default=30.0, ge=1, le=3600)

    @field_validator("backfill", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def quiet_ceiling(self) -> float:
        """The ceiling in force: an interval set above the default ceiling, with no ceiling of its
        own, simply turns the growth off."""
        return max(self.quiet_poll_ceiling_seconds, self.poll_interval_seconds)


class GroupConfig(_Section):
    SECTION: ClassVar[str] = "groups"

    id: str
    name: str | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return check_group_id(value)

    @field_validator("name", mode="before")
    @classmethod
    def _blank_name(cls, value: Any) -> Any:
        return blank_to_none(value)


class RuleConfig(_Section):
    """One join-request rule of a binding: `when` (condition), its `value` if it takes one, `then`."""

    SECTION: ClassVar[str] = "bindings"

    when: str
    value: str | int | None = None
    then: str

    @model_validator(mode="after")
    def _check_rule(self) -> RuleConfig:
        # Deferred, not a cycle: only configs with rules pay for the rule grammar's imports.
        from bot.rule_syntax import parse_rule

        parse_rule(self.when, None if self.value is None else str(self.value), self.then)  # ValueErrors
        return self


class AlertsConfig(_Section):
    """`[bindings.alerts]`: alerts on runaway moderators (bot.watchdog). The table turns them on;
    a key left out keeps its default, which suits a busy group."""

    SECTION: ClassVar[str] = "bindings"

    enabled: bool = True
    window_minutes: Count = Field(default=10, ge=1, le=1440)
    max_kicks: Count = Field(default=10, ge=1, le=10_000)
    max_bans: Count = Field(default=5, ge=1, le=10_000)
    max_role_removals: Count = Field(default=10, ge=1, le=10_000)
    alert_channel_id: Snowflake | None = None  # default: the binding's requests channel
    ping_role_id: Snowflake | None = None  # the one role an alert may ping
    auto_kill_switch: bool = False  # an explicit opt-in; never applied to the group's owner


class BindingConfig(_Section):
    SECTION: ClassVar[str] = "bindings"

    group_id: str
    guild_id: Snowflake
    feed_channel_id: Snowflake
    requests_channel_id: Snowflake | None = None
    moderator_role_ids: list[Snowflake] = Field(default_factory=list)
    events: list[str] = Field(default_factory=lambda: list(EVENT_FAMILIES))
    # When given, these are the binding's join-request rules at every start (replacing /bridge rules).
    rules: list[RuleConfig] | None = None
    rules_shadow: bool = False
    # Discord bans / kicks of linked members (bot.banbridge); when given, set at every start (else
    # /bridge bans decides: prompt for bans, off for kicks, the requests channel).
    discord_ban: Literal["off", "prompt", "ban"] | None = None
    discord_kick: Literal["off", "prompt"] | None = None
    ban_prompt_channel_id: Snowflake | None = None
    # /vrc role add may hand out roles carrying management permissions only when this is true.
    allow_management_roles: bool = False
    # Group instances that are not age-gated: left alone, reported to the moderators, or closed.
    instance_age_gate: Literal["off", "report", "close"] = "off"
    # When given, these are the binding's alert settings at every start (replacing /bridge alerts).
    alerts: AlertsConfig | None = None

    @field_validator("group_id")
    @classmethod
    def _check_group_id(cls, value: str) -> str:
        return check_group_id(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one event family (leave the key out to get all of them)")
        unknown = [e for e in value if e not in EVENT_FAMILIES]
        if unknown:
            raise ValueError(
                f"unknown event famil{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(repr(e) for e in unknown)}; choose from {', '.join(EVENT_FAMILIES)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("lists the same event family more than once")
        return value


#: Top-level tables that may be overridden from the environment (arrays of tables may not).
SECTION_MODELS: dict[str, type[_Section]] = {
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
