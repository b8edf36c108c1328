"""Text that is safe to put in a Discord message: inert markdown, no mentions, within limits.

Every piece of user-controlled text (VRChat display names, bios, audit descriptions, post text) goes
through `safe_text` (or `plain_line` where Discord shows plain text, like footers, and `plain_label` for
select options and autocomplete choices) before it is sent. All of them cut with `clip`, the one
clipping helper, which counts UTF-16 units as Discord's clients do. Whatever is assembled from such
pieces is held to Discord's limits once more where it leaves: `fit_embed`/`fit_embeds` for embeds (the
card builders and bot/views/reply.py, which every reply goes through, use them) and
`clip(text, CONTENT_LIMIT)` for message text. Messages are also sent with mentions disabled; this is
the second line of defence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

import discord
from discord.utils import escape_markdown

ZWSP: Final = "\u200b"
ELLIPSIS: Final = "…"
EMPTY: Final = "(empty)"

# Discord's limits, in UTF-16 units (never fewer than Discord counts).
CONTENT_LIMIT: Final = 2000
TITLE_LIMIT: Final = 256
DESCRIPTION_LIMIT: Final = 4096
FIELDS_LIMIT: Final = 25
FIELD_NAME_LIMIT: Final = 256
FIELD_VALUE_LIMIT: Final = 1024
FOOTER_LIMIT: Final = 2048
AUTHOR_LIMIT: Final = 256
EMBED_TOTAL_LIMIT: Final = 6000  # over all embeds of one message
LABEL_LIMIT: Final = 100  # select option labels, autocomplete choice names
PROFILE_URL: Final = "https://vrchat.com/home/user/{user_id}"


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


def quoted(text: str, limit: int = 60) -> str:
    """User-supplied text for an error message: one line, clipped, in quotes."""
    return f"“{clip(' '.join(text.split()), limit)}”"


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


def profile_link(user_id: str) -> str:
    """A VRChat user ID as a Markdown link to the profile; IDs reach here only through the strict
    parser, so nothing user-made ends up in the URL."""
    return f"[{safe_text(user_id, 60)}]({PROFILE_URL.format(user_id=user_id)})"


def plain_line(text: str, limit: int) -> str:
    """For footers, which Discord shows as plain text: no escaping (it would show), but no mentions."""
    return clip(neutralise_mentions(" ".join(_CONTROL.sub(" ", text).split())), limit)


def plain_label(text: str, limit: int = LABEL_LIMIT) -> str:
    """A select option's label or an autocomplete choice's name: one plain line (Discord shows no
    markdown there), clipped, and never blank (Discord refuses an empty one)."""
    line = plain_line(text, limit)
    return line if line.replace("\ufeff", "").strip() else EMPTY


def _blank(text: str) -> bool:
    return not text.replace("\ufeff", "").strip()


def _size(embed: discord.Embed) -> int:
    """The units Discord counts toward the 6,000 of a message: title, description, field names and
    values, footer text and author name."""
    parts = [embed.title, embed.description, embed.footer.text, embed.author.name]
    parts += [t for f in embed.fields for t in (f.name, f.value)]
    return sum(text_units(p) for p in parts if p)


def _fit_parts(embed: discord.Embed) -> None:
    """Each part within its own limit; at most 25 fields, none blank."""
    if embed.title:
        embed.title = clip(embed.title, TITLE_LIMIT)
    if embed.description:
        embed.description = clip(embed.description, DESCRIPTION_LIMIT)
    if embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, FOOTER_LIMIT), icon_url=embed.footer.icon_url)
    if embed.author.name:
        author = embed.author
        embed.set_author(name=clip(author.name or "", AUTHOR_LIMIT), url=author.url, icon_url=author.icon_url)
    fields = embed.fields[:FIELDS_LIMIT]
    embed.clear_fields()
    for field in fields:
        name, value = field.name or "", field.value or ""
        embed.add_field(
            name=EMPTY if _blank(name) else clip(name, FIELD_NAME_LIMIT),
            value=EMPTY if _blank(value) else clip(value, FIELD_VALUE_LIMIT),
            inline=bool(field.inline),
        )


def _shrink(embed: discord.Embed, budget: int) -> None:
    """Bring an embed with parts in their limits down to `budget` units: fields go from the end (a
    last one says how many), then the description, then the title and footer are cut."""
    dropped = 0
    while _size(embed) > budget and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
        dropped += 1
    if dropped:
        note = f"{dropped} more not shown"
        if _size(embed) + text_units(ELLIPSIS + note) <= budget:
            embed.add_field(name=ELLIPSIS, value=note, inline=False)
    for part in ("description", "title"):
        over = _size(embed) - budget
        text = getattr(embed, part)
        if over > 0 and text:
            setattr(embed, part, clip(text, max(0, text_units(text) - over)) or None)
    over = _size(embed) - budget
    if over > 0 and embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, max(0, text_units(embed.footer.text) - over)) or None)
    if _size(embed) > budget and embed.author.name:
        embed.remove_author()


def fit_embed(embed: discord.Embed, budget: int = EMBED_TOTAL_LIMIT) -> discord.Embed:
    """`embed` (changed in place, and returned) within Discord's limits: every part clipped to its
    own limit, no blank field, and the whole within `budget` units (6,000 for one embed alone)."""
    _fit_parts(embed)
    if _size(embed) > budget:
        _shrink(embed, budget)
    return embed


def fit_embeds(embeds: Sequence[discord.Embed]) -> list[discord.Embed]:
    """Several embeds of one message within the 6,000 units they share; earlier embeds come first."""
    fitted: list[discord.Embed] = []
    used = 0
    for embed in embeds:
        had_text = _size(embed) > 0
        fit_embed(embed, max(0, EMBED_TOTAL_LIMIT - used))
        if had_text and _size(embed) == 0 and not (embed.image.url or embed.thumbnail.url):
            continue  # nothing left of it to show: an empty embed is refused
        used += _size(embed)
        fitted.append(embed)
    return fitted


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
