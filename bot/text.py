"""Text that is safe to put in a Discord message: inert markdown, no mentions, within limits.

Every piece of user-controlled text (VRChat display names, bios, audit descriptions, post text) goes
through `safe_text` (or `plain_line` where Discord shows plain text, like footers) before it is sent.
Messages are also sent with mentions disabled; this is the second line of defence.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from discord.utils import escape_markdown

ZWSP: Final = "\u200b"
ELLIPSIS: Final = "…"
EMPTY: Final = "(empty)"


def text_units(text: str) -> int:
    """Length in UTF-16 code units: an emoji outside the BMP counts 2, as in Discord's clients."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units, ending in "…" when anything was cut."""
    if text_units(text) <= limit:
        return text
    if limit < 1:
        return ""
    used = kept = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > limit - 1:  # keep one unit for the ellipsis
            break
        used += width
        kept += 1
    return text[:kept] + ELLIPSIS


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BRACKET = re.compile(r"([\[\]])")
_ORDERED_LIST = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)


def _escape_markdown(text: str) -> str:
    # escape_markdown treats a whole "[text](url)" as one token and only escapes its first bracket,
    # leaving the rest (including **bold** inside) live, and a stray "]" could close a masked link
    # of ours early. Splitting on brackets first means escape_markdown never sees one.
    parts = [
        ("\\" + p) if p in ("[", "]") else escape_markdown(p, ignore_links=False)
        for p in _BRACKET.split(text)
    ]
    return _ORDERED_LIST.sub(r"\1\\.", "".join(parts))


def neutralise_mentions(text: str) -> str:
    """Break @everyone/@here and every <@…>, <@&…>, <#…>, <t:…>, </cmd:…> form with a zero-width space."""
    return text.replace("@", "@" + ZWSP).replace("<", "<" + ZWSP)


def safe_text(value: object, limit: int, *, single_line: bool = False) -> str:
    """User-controlled `value` as inert markdown of at most `limit` units."""
    text = _CONTROL.sub(" ", value if isinstance(value, str) else format_value(value)).replace("\t", " ")
    if text and not text.replace("\ufeff", "").strip():
        # Discord trims text (U+FEFF too, as JavaScript does) and refuses an embed field left empty;
        # callers already write `value or "—"` for an empty value, but a blank one got through.
        text = EMPTY
    if single_line:
        text = " ".join(text.split())
    # Clip before escaping so a megabyte description costs nothing, then again: escaping grows it.
    return clip(neutralise_mentions(_escape_markdown(clip(text, limit))), limit)


def plain_line(text: str, limit: int) -> str:
    """For footers, which Discord shows as plain text: no escaping (it would show), but no mentions."""
    return clip(neutralise_mentions(" ".join(_CONTROL.sub(" ", text).split())), limit)


def format_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value if value.strip() else EMPTY
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple) and all(v is None or isinstance(v, str | int | float) for v in value):
        shown = ", ".join(format_value(v) for v in value[:50])
        return (shown + (", …" if len(value) > 50 else "")) or "(none)"
    try:
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)[:2000]
    except Exception:  # mixed-type keys cannot be sorted, absurd nesting overflows: never fail on data
        return f"({type(value).__name__})"
