"""Message body checks with Discord's limits and Discord's error shape.

Discord answers a bad body with 400 ``{"code": 50035, "message": "Invalid Form Body", "errors":
{...}}`` where ``errors`` mirrors the body's structure down to an ``_errors`` list at each bad
field (``{"embeds": {"0": {"title": {"_errors": [...]}}}}``).  ``FormErrors`` builds that tree and a
flat, readable list of the same problems for ``DiscordStandIn.violations``.
"""

from __future__ import annotations

from typing import Any

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_CUSTOM_ID = 100
MAX_NONCE = 25

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

    def __bool__(self) -> bool:
        return bool(self.problems)


def _check_embed(errors: FormErrors, index: int, embed: Any) -> int:
    """Check one embed; returns its character count toward the 6000 total."""
    at: tuple[str | int, ...] = ("embeds", index)
    if not isinstance(embed, dict):
        errors.add(at, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return 0
    total = errors.too_long((*at, "title"), embed.get("title"), MAX_TITLE)
    total += errors.too_long((*at, "description"), embed.get("description"), MAX_DESCRIPTION)
    footer = embed.get("footer")
    if isinstance(footer, dict):
        total += errors.too_long((*at, "footer", "text"), footer.get("text"), MAX_FOOTER)
    author = embed.get("author")
    if isinstance(author, dict):
        total += errors.too_long((*at, "author", "name"), author.get("name"), MAX_AUTHOR_NAME)
    fields = embed.get("fields") or []
    if not isinstance(fields, list):
        errors.add((*at, "fields"), "BASE_TYPE_ARRAY", "Must be an array.")
        return total
    if len(fields) > MAX_FIELDS:
        errors.add((*at, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FIELDS} or fewer in length.")
    for i, item in enumerate(fields):
        if not isinstance(item, dict):
            errors.add(
                (*at, "fields", i), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"
            )
            continue
        for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
            if not item.get(key):  # Discord requires both, non-empty
                errors.add((*at, "fields", i, key), "BASE_TYPE_REQUIRED", "This field is required")
            total += errors.too_long((*at, "fields", i, key), item.get(key), limit)
    return total


def _check_components(errors: FormErrors, node: Any, path: tuple[str | int, ...]) -> None:
    """Walk nested components (action rows, v2 containers) checking every ``custom_id``."""
    if isinstance(node, list):
        for i, child in enumerate(node):
            _check_components(errors, child, (*path, i))
    elif isinstance(node, dict):
        if "custom_id" in node:
            errors.too_long((*path, "custom_id"), node["custom_id"], MAX_CUSTOM_ID)
        for key in ("components", "accessory"):
            if key in node:
                _check_components(errors, node[key], (*path, key))


def check_message_body(body: dict[str, Any]) -> FormErrors:
    """Field-level checks shared by create and edit (emptiness is checked separately: 50006)."""
    errors = FormErrors()
    errors.too_long(("content",), body.get("content"), MAX_CONTENT)
    embeds = body.get("embeds")
    if embeds is not None:
        if not isinstance(embeds, list):
            errors.add(("embeds",), "BASE_TYPE_ARRAY", "Must be an array.")
        else:
            if len(embeds) > MAX_EMBEDS:
                errors.add(("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
            total = sum(_check_embed(errors, i, e) for i, e in enumerate(embeds))
            if total > MAX_EMBED_TOTAL:
                errors.add(
                    ("embeds",),
                    "MAX_EMBED_SIZE_EXCEEDED",
                    f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
                )
    if "components" in body and body["components"] is not None:
        _check_components(errors, body["components"], ("components",))
    if "nonce" in body and body["nonce"] is not None:
        nonce = body["nonce"]
        if isinstance(nonce, str):
            errors.too_long(("nonce",), nonce, MAX_NONCE)
        elif not isinstance(nonce, int) or isinstance(nonce, bool):
            errors.add(("nonce",), "NONCE_TYPE_INVALID", "Nonce must be a string or an integer.")
    return errors


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


def mention_problem(body: dict[str, Any]) -> str | None:
    """Why ``allowed_mentions`` could let this message ping someone, or None if it cannot.

    Accepts ``{"parse": []}`` plus, optionally, empty ``users``/``roles`` and ``replied_user: false``.
    """
    mentions = body.get("allowed_mentions")
    if mentions is None:
        return "allowed_mentions missing: Discord would parse @everyone, users and roles"
    if not isinstance(mentions, dict) or mentions.get("parse") != []:
        return f"allowed_mentions {mentions!r} is not {{'parse': []}}"
    extras = {k: v for k, v in mentions.items() if k != "parse"}
    for key, value in extras.items():
        if key not in _SILENT_EXTRAS or value != _SILENT_EXTRAS[key]:
            return f"allowed_mentions {mentions!r} allows {key}={value!r}"
    return None
