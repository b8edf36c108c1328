"""Discord's error shape, and the message checks that are not about limits (emptiness, mentions).

Discord answers a bad body with 400 ``{"code": 50035, "message": "Invalid Form Body", "errors":
{...}}`` where ``errors`` mirrors the body's structure down to an ``_errors`` list at each bad
field (``{"embeds": {"0": {"title": {"_errors": [...]}}}}``).  ``FormErrors`` builds that tree and a
flat, readable list of the same problems for ``DiscordStandIn.violations``.  The limits themselves
are checked by ``openapi.py`` (the spec) and ``limits.py`` (the documented ones it leaves out).
"""

from __future__ import annotations

from typing import Any

MAX_CUSTOM_ID = 100

# The only allowed_mentions shape that can never ping anyone.
_SILENT_EXTRAS: dict[str, Any] = {"users": [], "roles": [], "replied_user": False}


class FormErrors:
    """Accumulates field errors into Discord's nested ``errors`` tree."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.problems: list[str] = []

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
        self.problems.append(f"{'.'.join(str(k) for k in path)}: {message}")

    def too_long(self, path: tuple[str | int, ...], value: Any, limit: int) -> int:
        """Check a string's length; returns the length counted (0 for non-strings) for embed totals."""
        if value is None:
            return 0
        if not isinstance(value, str):
            self.add(path, "BASE_TYPE_STRING", "Must be a string.")
            return 0
        if len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        return len(value)

    def nested(self, at: tuple[str, ...]) -> FormErrors:
        """The same errors as found inside ``at`` of a larger body (a callback's ``data``)."""
        if not at or not self:
            return self
        outer = FormErrors()
        node = outer.tree
        for key in at[:-1]:
            node = node.setdefault(key, {})
        node[at[-1]] = self.tree
        outer.problems = [f"{'.'.join(at)}.{p}" for p in self.problems]
        return outer

    def __bool__(self) -> bool:
        return bool(self.problems)


def is_empty(body: dict[str, Any], n_files: int, n_kept_attachments: int = 0) -> bool:
    """Whether the message would have nothing to show (Discord: 50006 Cannot send an empty message)."""
    return not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or n_files
        or n_kept_attachments
    )


def mention_problem(body: dict[str, Any], allowed_roles: frozenset[int] = frozenset()) -> str | None:
    """Why ``allowed_mentions`` could let this message ping someone, or None if it cannot.

    Accepts ``{"parse": []}`` plus, optionally, empty ``users``/``roles`` and ``replied_user: false``;
    and ``roles`` naming exactly one of `allowed_roles` (a role a test says the bot may ping, like a
    runaway-moderator alert's configured role).
    """
    mentions = body.get("allowed_mentions")
    if mentions is None:
        return "allowed_mentions missing: Discord would parse @everyone, users and roles"
    if not isinstance(mentions, dict) or mentions.get("parse") != []:
        return f"allowed_mentions {mentions!r} is not {{'parse': []}}"
    extras = {k: v for k, v in mentions.items() if k != "parse"}
    roles = extras.get("roles")
    if isinstance(roles, list) and len(roles) == 1 and _snowflake(roles[0]) in allowed_roles:
        extras.pop("roles")
    for key, value in extras.items():
        if key not in _SILENT_EXTRAS or value != _SILENT_EXTRAS[key]:
            return f"allowed_mentions {mentions!r} allows {key}={value!r}"
    return None


def _snowflake(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
