"""One parser for every VRChat reference a moderator may paste.

Accepted forms are deliberately narrow: anything else is rejected *before* a request is sent, with a
message that names what would have been accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

USER_ID_RE = re.compile(rf"^usr_{_UUID}\Z")
# Accounts from before 2018 keep 10-character alphanumeric IDs (see the spec's UserID description).
LEGACY_USER_ID_RE = re.compile(r"^[A-Za-z0-9]{10}\Z")
GROUP_ID_RE = re.compile(rf"^grp_{_UUID}\Z")
ROLE_ID_RE = re.compile(rf"^grol_{_UUID}\Z")
POST_ID_RE = re.compile(rf"^not_{_UUID}\Z")
AUDIT_ID_RE = re.compile(rf"^gaud_{_UUID}\Z")
# Short code (letters/digits) and a four-digit discriminator, as shown on group pages: "ABCDE.1234".
WORLD_ID_RE = re.compile(rf"^wrld_{_UUID}\Z")
# "12345~group(grp_…)~groupAccessType(members)~region(eu)": a name, then ~tags with an optional (value).
INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9]{1,64}(~[A-Za-z]{1,32}(\([A-Za-z0-9_.:-]{0,128}\))?){0,16}\Z")
LAUNCH_URL = "https://vrchat.com/home/launch?"
SHORT_CODE_RE = re.compile(r"^(?P<code>[A-Za-z0-9]{3,6})\.(?P<discriminator>[0-9]{4})\Z")

_VRCHAT_HOSTS = {"vrchat.com", "www.vrchat.com"}
_GROUP_SHORT_HOSTS = {"vrc.group", "www.vrc.group"}

USER_FORMS = (
    "a user ID like usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469, a legacy 10-character ID like 8JoV9XEdpo, "
    "or a profile link like https://vrchat.com/home/user/usr_…"
)
GROUP_FORMS = (
    "a group ID like grp_71a7ff59-112c-4e78-a990-c7cc650776e5, a short code like ABCDE.1234, "
    "or a group link like https://vrchat.com/home/group/grp_… or https://vrc.group/ABCDE.1234"
)


class InvalidReference(ValueError):
    """Raised for text that is not any accepted form of a VRChat user or group reference."""


@dataclass(frozen=True, slots=True)
class GroupShortCode:
    code: str
    discriminator: str

    def __str__(self) -> str:
        return f"{self.code}.{self.discriminator}"


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A group named either by ID or by short code; resolving a short code needs the API."""

    group_id: str | None = None
    short_code: GroupShortCode | None = None


def _clip(text: str, limit: int = 80) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _url_path_tail(text: str, hosts: set[str]) -> list[str] | None:
    """Path segments of an http(s) URL on one of `hosts`, or None when text is not such a URL."""
    if "://" not in text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # an unbalanced "[" in the host ("http://[") is not a URL of ours either
        return None
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in hosts:
        return None
    return [segment for segment in parts.path.split("/") if segment]


def is_user_id(value: str) -> bool:
    return bool(USER_ID_RE.match(value) or LEGACY_USER_ID_RE.match(value))


def parse_user_id(text: str) -> str:
    """Return the user ID in `text` (an ID or a vrchat.com profile URL), or raise InvalidReference."""
    value = text.strip()
    segments = _url_path_tail(value, _VRCHAT_HOSTS)
    if segments is not None:
        # https://vrchat.com/home/user/<id>
        if len(segments) >= 3 and segments[:2] == ["home", "user"] and is_user_id(segments[2]):
            return segments[2]
    elif is_user_id(value):
        return value
    raise InvalidReference(
        f"That is not a VRChat user ID or profile link: {_clip(value)!r}. Use {USER_FORMS}."
    )


def parse_group_ref(text: str) -> GroupRef:
    """Return the group in `text` (ID, short code, or group URL), or raise InvalidReference."""
    value = text.strip()
    candidate: str | None = value
    segments = _url_path_tail(value, _VRCHAT_HOSTS)
    if segments is not None:
        ok = len(segments) >= 3 and segments[:2] == ["home", "group"]
        candidate = segments[2] if ok else None
    else:
        segments = _url_path_tail(value, _GROUP_SHORT_HOSTS)
        if segments is not None:
            candidate = segments[0] if len(segments) == 1 else None
    if candidate is not None:
        if GROUP_ID_RE.match(candidate):
            return GroupRef(group_id=candidate)
        match = SHORT_CODE_RE.match(candidate)
        if match:
            return GroupRef(short_code=GroupShortCode(match["code"].upper(), match["discriminator"]))
    raise InvalidReference(
        f"That is not a VRChat group ID, short code or link: {_clip(value)!r}. Use {GROUP_FORMS}."
    )


def parse_group_id(text: str) -> str:
    """Like parse_group_ref, but only a concrete group ID (or a URL carrying one) is accepted."""
    ref = parse_group_ref(text)
    if ref.group_id is None:
        raise InvalidReference(
            f"{ref.short_code} is a group short code; a group ID (grp_…) is needed here. "
            "Open the group page and copy the link, which carries the ID."
        )
    return ref.group_id


def require(kind: str, value: object, pattern: re.Pattern[str], example: str) -> str:
    """Check an ID the code is about to put into a request path or body."""
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidReference(
            f"Not a valid {kind}: {_clip(str(value))!r} (expected something like {example})."
        )
    return value


def require_user_id(value: object) -> str:
    if isinstance(value, str) and is_user_id(value):
        return value
    raise InvalidReference(f"Not a valid VRChat user ID: {_clip(str(value))!r}. Use {USER_FORMS}.")


def require_group_id(value: object) -> str:
    return require("group ID", value, GROUP_ID_RE, "grp_71a7ff59-112c-4e78-a990-c7cc650776e5")


def require_role_id(value: object) -> str:
    return require("group role ID", value, ROLE_ID_RE, "grol_459d3911-f672-44bc-b84d-e54ffe7960fe")


def is_post_id(value: str) -> bool:
    return POST_ID_RE.match(value) is not None


def require_post_id(value: object) -> str:
    return require("group post ID", value, POST_ID_RE, "not_00000000-0000-0000-0000-000000000000")


def parse_location(location: str | None) -> tuple[str, str] | None:
    """(world ID, instance ID) from a VRChat location `wrld_…:12345~…`, or None for anything else."""
    if not location or ":" not in location:
        return None
    world_id, _, instance_id = location.partition(":")
    if WORLD_ID_RE.match(world_id) and INSTANCE_ID_RE.match(instance_id):
        return world_id, instance_id
    return None


def launch_url(world_id: str | None, instance_id: str | None) -> str | None:
    """VRChat's launch link, only when both IDs have the strict forms (nothing else gets into a URL)."""
    if not world_id or not instance_id:
        return None
    if not WORLD_ID_RE.match(world_id) or not INSTANCE_ID_RE.match(instance_id):
        return None
    return LAUNCH_URL + urlencode({"worldId": world_id, "instanceId": instance_id})
