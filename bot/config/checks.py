"""Reusable field types and the value checks behind the configuration models.

Each check takes a raw or parsed value and returns the value to keep, or raises ``ValueError`` with a
message written for the operator (the loader adds file, line and key in front of it). Messages never
quote the offending value, so a secret typed into the wrong place is not echoed back.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator

from bot.vrchat.ids import GROUP_ID_RE, InvalidReference, parse_group_ref

MIN_TOTP_SECRET_LENGTH = 16
FEED_POLL_FLOOR_SECONDS = 30
SNOWFLAKE_MAX = 2**64 - 1

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
_URL_RE = re.compile(r"https?://([A-Za-z0-9-]+\.)+[A-Za-z]{2,}\S*", re.IGNORECASE)
_PLACEHOLDER_MARKERS = ("changeme", "change-me", "change_me", "your contact", "your email", "your-email")
_PLACEHOLDER_LOCALPARTS = ("you", "your", "yourname", "your.name", "your-name", "email", "name", "user")
_RESERVED_DOMAIN_RE = re.compile(
    r"(^|\.)(example\.(com|org|net|edu)|[a-z0-9-]+\.(example|test|invalid|localhost)|example|localhost)$",
    re.IGNORECASE,
)
_DISCORD_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}$")
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


# --- field types ---------------------------------------------------------------------------------------


def _no_bool(value: Any) -> Any:
    # pydantic's lax mode would turn `true` into 1; in a config file that is always a mistake.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


def _snowflake(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a Discord ID (a number), not true/false")
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):  # "²" is a digit to isdigit(), not to int()
            raise ValueError(
                "must be a Discord ID: digits only (enable Developer Mode, right-click, Copy ID)"
            )
        value = int(value)
    if isinstance(value, int) and not 0 < value <= SNOWFLAKE_MAX:
        raise ValueError("is not a valid Discord ID (enable Developer Mode, right-click, Copy ID)")
    return value


Number = Annotated[float, BeforeValidator(_no_bool)]
Count = Annotated[int, BeforeValidator(_no_bool)]
Snowflake = Annotated[int, BeforeValidator(_snowflake)]


def blank_to_none(value: Any) -> Any:
    """An empty or all-blank string means "not set"."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


# --- VRChat --------------------------------------------------------------------------------------------


def check_totp_secret(value: Any) -> Any:
    """The base32 authenticator setup key, normalised (no spaces/dashes/padding, upper case)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        return value  # let pydantic report the type
    normalized = re.sub(r"[\s-]", "", value).upper().rstrip("=")
    if not re.fullmatch(r"[A-Z2-7]+", normalized):
        raise ValueError(
            "must be the base32 secret shown when you set up the authenticator app "
            "(letters A-Z and digits 2-7 only)"
        )
    if len(normalized) < MIN_TOTP_SECRET_LENGTH:
        raise ValueError(
            f"is too short for a TOTP secret (at least {MIN_TOTP_SECRET_LENGTH} base32 characters); "
            "it is the setup key, not a 6-digit code"
        )
    try:
        base64.b32decode(normalized + "=" * (-len(normalized) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base32 (check it was copied completely)") from None
    return normalized


def check_user_agent(value: str) -> str:
    """A printable User-Agent with a real way to contact the operator (no placeholder)."""
    if any(ord(c) < 32 or ord(c) > 126 for c in value):
        raise ValueError("may only contain printable ASCII characters (it is sent as an HTTP header)")
    lowered = value.lower()
    for marker in _PLACEHOLDER_MARKERS:
        if marker in lowered:
            raise ValueError(
                "must include contact info: replace the placeholder with your real email address or "
                "URL (VRChat asks API users for a descriptive User-Agent so they can contact you "
                "instead of blocking the bot)"
            )
    contacts = [m.group(0) for m in _EMAIL_RE.finditer(value)] + [m.group(0) for m in _URL_RE.finditer(value)]
    real = [c for c in contacts if not _is_placeholder_contact(c)]
    if not real:
        reason = "a placeholder address" if contacts else "no email address or URL"
        raise ValueError(
            f"must include contact info (an email address or URL VRChat can reach you at); found {reason}"
        )
    return value


def _is_placeholder_contact(contact: str) -> bool:
    if "@" in contact and not contact.lower().startswith(("http://", "https://")):
        local, _, domain = contact.rpartition("@")
        return local.lower() in _PLACEHOLDER_LOCALPARTS or bool(_RESERVED_DOMAIN_RE.search(domain))
    host = urlsplit(contact).hostname or ""
    return bool(_RESERVED_DOMAIN_RE.search(host))


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs on this machine: a local simulator, never VRChat itself."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def poll_floor_message(interval: float, vrchat_base_url: str) -> str | None:
    """Why ``feed.poll_interval_seconds`` is too short, or None. The floor protects VRChat's API; a
    simulator on a loopback address (the offline demo, the tests) needs no protecting."""
    if interval >= FEED_POLL_FLOOR_SECONDS or is_loopback_url(vrchat_base_url):
        return None
    return (
        f"must be at least {FEED_POLL_FLOOR_SECONDS} seconds (the floor that keeps polling within "
        "VRChat's rate limits; only a simulator on a loopback vrchat.base_url may be polled faster)"
    )


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL, e.g. https://api.vrchat.cloud/api/1")
    return value.rstrip("/")


# config.example.toml's group: a copied example must not pass for a configured one, like its User-Agent.
PLACEHOLDER_GROUP_ID = "grp_00000000-0000-0000-0000-000000000000"


def check_group_id(value: str) -> str:
    """A VRChat group id (the same pattern the VRChat client accepts), with a hint on how to find it."""
    if value == PLACEHOLDER_GROUP_ID:
        raise ValueError(
            "is the example's placeholder: replace it with your group's id (grp_ and a UUID), from "
            "the address of the group's page on vrchat.com"
        )
    if GROUP_ID_RE.match(value):
        return value
    if GROUP_ID_RE.match(value.lower()):
        raise ValueError("must be lowercase (grp_ followed by a lowercase UUID)")
    _refuse_other_group_forms(value)
    raise ValueError(
        "must be grp_ followed by a lowercase UUID, like grp_0a1b2c3d-4e5f-6789-abcd-ef0123456789 "
        "(copy it from the group's page URL on vrchat.com)"
    )


def _refuse_other_group_forms(value: str) -> None:
    """A short code or a group link, refused with what to do instead. What the message repeats is
    only what the parser took out of it (a short code, a group ID), never the value as written."""
    try:
        ref = parse_group_ref(value)
    except InvalidReference:
        return
    if ref.short_code is not None:
        what = "a vrc.group link, which holds a short code" if "://" in value else "a group short code"
        raise ValueError(
            f"is {what}; the config needs the group's ID: run "
            f"`groupbridge group-id {ref.short_code}` to look it up"
        )
    if ref.group_id is not None and ref.group_id != value.strip():
        raise ValueError(f"is a link: use the ID in it, {ref.group_id}")


# Field types that carry their check, so a model declares them without a validator method of its own.
GroupId = Annotated[str, AfterValidator(check_group_id)]
# An optional value left blank is not set.
BLANK_IS_UNSET = BeforeValidator(blank_to_none)


# --- Discord -------------------------------------------------------------------------------------------


def check_discord_token(value: Any) -> Any:
    """A bare bot token (three dot-separated parts); blank means "not set"."""
    value = blank_to_none(value)
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.lower().startswith("bot "):
        raise ValueError('must be the bare token, without the "Bot " prefix')
    if not _DISCORD_TOKEN_RE.match(value):
        raise ValueError(
            "does not look like a Discord bot token (three dot-separated parts): copy it from the "
            "Developer Portal, Bot page, Reset Token - not the application's client secret"
        )
    return value


# --- database ------------------------------------------------------------------------------------------


def check_database_url(value: str) -> str:
    """A SQLAlchemy URL for SQLite or PostgreSQL with the async driver the store uses."""
    from sqlalchemy.engine import make_url  # deferred: only needed when validating
    from sqlalchemy.exc import ArgumentError

    examples = "sqlite+aiosqlite:///groupbridge.db or postgresql+asyncpg://user:password@host/dbname"
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"is not a database URL; use e.g. {examples}") from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        backend = "postgresql"
    wanted = _ASYNC_DRIVERS.get(backend)
    if wanted is None:
        raise ValueError(
            f"uses an unsupported database ({url.drivername}); use {examples}",
        )
    if url.drivername != wanted:
        raise ValueError(f"must use the async driver: write {wanted}://... instead of {url.drivername}://...")
    if "@" in (url.host or ""):
        # The URL splits at the last "@", so the rest of the password would pass for the host name
        # (and be shown wherever the masked URL is). Said without quoting any part of it.
        raise ValueError('has an "@" in its password or user name: write it as %40')
    return value


def mask_database_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to print."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def database_password(url: str) -> str | None:
    """The password in a database URL, if any (so logs can mask it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password
    except ArgumentError:
        return None
