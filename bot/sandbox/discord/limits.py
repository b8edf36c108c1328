"""Discord's documented limits on message bodies where they are tighter than its OpenAPI description,
or where a JSON schema cannot say them (sums across fields, uniqueness, layout, URL schemes, formats).

Each request has already passed ``openapi.py`` (lengths, counts, ranges and types the spec
declares), so these checks only add what the spec leaves out:

- content: at most 2,000 characters (the spec allows 4,000 on channel messages; bots get 2,000);
- embeds: all text together at most 6,000; field names and values present and not blank (Discord
  trims them); URLs absolute with an allowed scheme (``javascript:`` is not); ``timestamp`` ISO 8601;
- components without the v2 flag: at most 5 action rows and nothing else at the top level, a select
  fills its row alone; with the flag, at most 40 components in all;
- buttons: a non-link button has a ``custom_id`` (a link button a ``url`` and no ``custom_id``);
  ``custom_id``s are unique within a message;
- string selects: ``min_values`` <= ``max_values`` <= the number of options.

``check_message`` adds every problem to a ``FormErrors`` in Discord's error-tree shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .validation import FormErrors

MAX_CONTENT = 2000
MAX_EMBED_TOTAL = 6000
MAX_ROWS, MAX_PER_ROW, MAX_V2_COMPONENTS = 5, 5, 40
COMPONENTS_V2 = 1 << 15
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
SELECTS = (3, 5, 6, 7, 8)
LINK, PREMIUM = 5, 6
# Schemes Discord accepts: embed links, embed images (uploads referenced as attachment://), link buttons.
LINK_SCHEMES = frozenset({"http", "https"})
IMAGE_SCHEMES = frozenset({"http", "https", "attachment"})
BUTTON_SCHEMES = frozenset({"http", "https", "discord"})
# What a JavaScript String.prototype.trim() removes: Unicode white space plus U+FEFF.
_BLANK = re.compile(r"^[\s\ufeff]*$")


def blank(text: str) -> bool:
    return bool(_BLANK.match(text))


def _url(errors: FormErrors, at: tuple[str | int, ...], value: Any, schemes: frozenset[str]) -> None:
    if not isinstance(value, str):
        return  # absent, null, or a type error the spec check reported
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        allowed = ", ".join(repr(s) for s in sorted(schemes))
        errors.add(
            at,
            "URL_TYPE_INVALID_SCHEME",
            f'Scheme "{scheme}" is not supported. Scheme must be one of ({allowed}).',
        )
    elif scheme in ("http", "https") and not parts.netloc:
        errors.add(at, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _embed(errors: FormErrors, at: tuple[str | int, ...], embed: Any) -> int:
    """One embed's URL, timestamp and field checks; returns its characters toward the 6,000 total."""
    if not isinstance(embed, dict):
        return 0
    total = 0
    for key in ("title", "description"):
        total += len(embed[key]) if isinstance(embed.get(key), str) else 0
    _url(errors, (*at, "url"), embed.get("url"), LINK_SCHEMES)
    timestamp = embed.get("timestamp")
    if isinstance(timestamp, str):
        try:
            datetime.fromisoformat(timestamp)
        except ValueError:
            errors.add(
                (*at, "timestamp"), "DATE_TYPE_INVALID", f"Could not parse {timestamp!r}. Should be ISO8601."
            )
    for key, text_key, urls in (
        ("footer", "text", ("icon_url",)),
        ("author", "name", ("url", "icon_url")),
        ("image", None, ("url",)),
        ("thumbnail", None, ("url",)),
    ):
        part = embed.get(key)
        if not isinstance(part, dict):
            continue
        if text_key is not None and isinstance(part.get(text_key), str):
            total += len(part[text_key])
        for url_key in urls:
            schemes = LINK_SCHEMES if (key, url_key) == ("author", "url") else IMAGE_SCHEMES
            _url(errors, (*at, key, url_key), part.get(url_key), schemes)
    fields = embed.get("fields")
    for i, item in enumerate(fields if isinstance(fields, list) else []):
        if not isinstance(item, dict):
            continue
        for key in ("name", "value"):
            text = item.get(key)
            if isinstance(text, str):
                total += len(text)
                if blank(text):  # Discord trims, then requires both
                    errors.add((*at, "fields", i, key), "BASE_TYPE_REQUIRED", "This field is required")
    return total


def _walk(node: Any, at: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every component dict in a (possibly nested, v2) tree, with its path."""
    if isinstance(node, list):
        for i, child in enumerate(node):
            yield from _walk(child, (*at, i))
    elif isinstance(node, dict):
        yield at, node
        for key in ("components", "component", "accessory"):
            if key in node:
                yield from _walk(node[key], (*at, key))


def _layout(errors: FormErrors, components: list[Any], v2: bool) -> None:
    if v2:
        if sum(1 for _ in _walk(components, ())) > MAX_V2_COMPONENTS:
            errors.add(
                ("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_V2_COMPONENTS} or fewer in total."
            )
        return
    if len(components) > MAX_ROWS:
        errors.add(("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    for i, row in enumerate(components):
        children = row.get("components") if isinstance(row, dict) else None
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW or not isinstance(children, list):
            errors.add(
                ("components", i),
                "UNION_TYPE_CHOICES",
                "Top-level components must be action rows (without the IS_COMPONENTS_V2 flag).",
            )
            continue
        has_select = any(isinstance(c, dict) and c.get("type") in SELECTS for c in children)
        if has_select and len(children) != 1:
            errors.add(
                ("components", i, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )


def _button(errors: FormErrors, at: tuple[str | int, ...], button: dict[str, Any]) -> None:
    style = button.get("style")
    if style == LINK:
        if not button.get("url"):
            errors.add((*at, "url"), "BASE_TYPE_REQUIRED", "A link button needs a url.")
        if button.get("custom_id") is not None:
            errors.add(
                (*at, "custom_id"), "COMPONENT_INVALID_FIELD", "A link button cannot have a custom_id."
            )
        _url(errors, (*at, "url"), button.get("url"), BUTTON_SCHEMES)
    elif style == PREMIUM:
        if not button.get("sku_id"):
            errors.add((*at, "sku_id"), "BASE_TYPE_REQUIRED", "A premium button needs a sku_id.")
    else:
        if not button.get("custom_id"):
            errors.add((*at, "custom_id"), "BASE_TYPE_REQUIRED", "A non-link button needs a custom_id.")
        if button.get("url") is not None:
            errors.add((*at, "url"), "COMPONENT_INVALID_FIELD", "Only a link button can have a url.")


def _select(errors: FormErrors, at: tuple[str | int, ...], select: dict[str, Any]) -> None:
    low, high = select.get("min_values"), select.get("max_values")
    low = low if isinstance(low, int) else 1
    high = high if isinstance(high, int) else 1
    if low > high:
        errors.add((*at, "min_values"), "SELECT_COMPONENT_MIN_VALUES_INVALID", "Must be at most max_values.")
    options = select.get("options")
    if select.get("type") == STRING_SELECT and isinstance(options, list) and high > len(options):
        errors.add(
            (*at, "max_values"),
            "SELECT_COMPONENT_MAX_VALUES_INVALID",
            f"Must be at most the number of options ({len(options)}).",
        )


def _components(errors: FormErrors, body: dict[str, Any]) -> None:
    components = body.get("components")
    if not isinstance(components, list):
        return
    flags = body.get("flags")
    _layout(errors, components, bool(isinstance(flags, int) and flags & COMPONENTS_V2))
    seen: set[str] = set()
    for at, component in _walk(components, ("components",)):
        kind = component.get("type")
        if kind == BUTTON:
            _button(errors, at, component)
        elif kind in SELECTS:
            _select(errors, at, component)
        custom_id = component.get("custom_id")
        if isinstance(custom_id, str):
            if custom_id in seen:
                errors.add(
                    (*at, "custom_id"),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    f"Component custom id cannot be duplicated: {custom_id!r}",
                )
            seen.add(custom_id)


def check_message(body: dict[str, Any]) -> FormErrors:
    """The documented limits of a message body (create, edit, interaction answer, follow-up)."""
    errors = FormErrors()
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        errors.add(("content",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    embeds = body.get("embeds")
    if isinstance(embeds, list):
        total = sum(_embed(errors, ("embeds", i), e) for i, e in enumerate(embeds))
        if total > MAX_EMBED_TOTAL:
            errors.add(
                ("embeds",),
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
            )
    _components(errors, body)
    return errors
