"""The VRChat accounts' tables: ``[vrchat]`` (the first account and the connection settings) and each
``[[accounts]]`` table (one more account)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from bot.config.checks import (
    Count,
    Number,
    blank_to_none,
    check_http_url,
    check_totp_secret,
    check_user_agent,
    is_loopback_url,
)
from bot.config.section import Section
from bot.vrchat.client import DEFAULT_BASE_URL
from bot.vrchat.pipeline import DEFAULT_PIPELINE_URL


class _AccountSection(Section):
    """What [vrchat] and each [[accounts]] table share: a password and TOTP secret, a session file."""

    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"password", "totp_secret"})
    #: What an empty session_file is told.
    SESSION_FILE_PROBLEM: ClassVar[str] = "must be a file path"

    # check_fields=False: the fields are declared by each subclass, in the order its table lists them.
    @field_validator("totp_secret", mode="before", check_fields=False)
    @classmethod
    def _check_totp_secret(cls, value: Any) -> Any:
        return check_totp_secret(value)

    @field_validator("session_file", mode="before", check_fields=False)
    @classmethod
    def _check_session_file(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError(cls.SESSION_FILE_PROBLEM)
        return value


class VRChatConfig(_AccountSection):
    SECTION: ClassVar[str] = "vrchat"

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
    # Send every account's requests from this local address (a host with several): VRChat ties a
    # session to the address that logged in. Empty: whatever the system routes from.
    source_address: str | None = None
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

    @field_validator("user_agent")
    @classmethod
    def _check_user_agent(cls, value: str) -> str:
        return check_user_agent(value)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("source_address", mode="before")
    @classmethod
    def _check_source_address(cls, value: Any) -> Any:
        value = blank_to_none(value)
        if isinstance(value, str):
            try:
                return str(ipaddress.ip_address(value.strip()))
            except ValueError:
                raise ValueError(
                    "must be an IP address of this host, e.g. 192.0.2.10 or 2001:db8::10"
                ) from None
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


class AccountConfig(_AccountSection):
    """One more VRChat account for the bot (a ``[[accounts]]`` table).

    It has its own login, session file and rate limiter; the connection settings (user_agent, base_url,
    back-off, timeouts, re-login interval) are [vrchat]'s, and requests_per_second and burst default to
    [vrchat]'s. Arrays of tables cannot come from the environment, so the secrets can instead be named
    by ``password_env`` / ``totp_secret_env``, which the loader reads (bot.config.accounts).
    """

    SECTION: ClassVar[str] = "accounts"
    SESSION_FILE_PROBLEM: ClassVar[str] = "must be a file path (each account needs its own)"

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
