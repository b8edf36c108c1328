"""Discord embeds as terminal text, so the dry run shows exactly what the feed and the cards would say.

The embeds come from the real renderers (`bot.feed.render`, `bot.requests.cards`), whose text is Discord
markdown made inert: backslash escapes, masked links, a zero-width space after every ``@`` and ``<``.
Here that is turned back into what a Discord reader would see. Everything is built as `rich.text.Text`,
never as a markup string, because display names and descriptions are user-controlled and
``[bold red]…[/]`` in them must print literally; terminal control characters are removed because an
ESC or a bidi override in a display name would otherwise drive the operator's terminal.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Final

import discord
from rich.text import Text

from bot.text import ZWSP

# A masked link as our renderers write it (label may hold escaped brackets), or one escaped character.
_TOKEN: Final = re.compile(
    r"\[(?P<label>(?:\\.|[^\\\[\]])*)\]\((?P<url>https?://[^\s()]+)\)"
    r"|\\(?P<escaped>[!-/:-@\[-`{-~])"
)
_ESCAPED: Final = re.compile(r"\\([!-/:-@\[-`{-~])")
_VRCHAT_PAGE: Final = re.compile(r"^https://vrchat\.com/home/(?:user|group)/(?P<id>[A-Za-z0-9_-]+)$")
# Bidi embeddings, overrides and isolates: they reorder what the terminal shows after them.
_BIDI: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

INDENT: Final = "    "


def terminal_safe(text: str) -> str:
    """`text` without control characters (newlines kept) or bidi controls."""
    return "".join(
        " " if (unicodedata.category(ch) == "Cc" and ch != "\n") or ch in _BIDI else ch for ch in text
    )


def _link(label: str, url: str) -> str:
    page = _VRCHAT_PAGE.match(url)
    if page is not None:
        # A profile or group link: the id is what an operator needs to check a setup.
        return label if label == page["id"] else f"{label} ({page['id']})"
    return f"{label} ({url})"


def discord_plain(text: str | None) -> str:
    """Inert Discord markdown as a Discord reader sees it: escapes undone, links as "label (target)"."""
    if not text:
        return ""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"] is not None:
            return match["escaped"]
        return _link(_ESCAPED.sub(r"\1", match["label"]), match["url"])

    plain = _TOKEN.sub(replace, text)
    # render.safe_text breaks mentions with a zero-width space; a terminal cannot ping anyone.
    return terminal_safe(plain.replace("@" + ZWSP, "@").replace("<" + ZWSP, "<"))


def utc_text(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _indented(text: str, indent: str) -> str:
    return text.replace("\n", "\n" + indent)


def embed_text(embed: discord.Embed, *, indent: str = INDENT, suffix: Text | None = None) -> Text:
    """One embed as a few indented lines: when · author · title, description, fields, footer."""
    out = Text(indent)
    if embed.timestamp is not None:
        out.append(utc_text(embed.timestamp), "dim")
        out.append("  ")
    if embed.author.name:
        out.append(terminal_safe(embed.author.name) + " · ", "cyan")
    out.append(discord_plain(embed.title), "bold")
    if suffix is not None:
        out.append("  ")
        out.append_text(suffix)
    inner = indent + "  "
    if embed.description:
        out.append("\n" + inner + _indented(discord_plain(embed.description), inner))
    for field in embed.fields:
        out.append("\n" + inner)
        out.append(discord_plain(field.name) + ": ", "bold")
        out.append(_indented(discord_plain(field.value), inner + "  "))
    if embed.footer.text:
        # Footers are plain text in Discord (never escaped), so only the mention breakers go.
        footer = embed.footer.text.replace("@" + ZWSP, "@").replace("<" + ZWSP, "<")
        out.append("\n" + inner)
        out.append(terminal_safe(footer), "dim")
    return out


def line(*parts: str | tuple[str, str]) -> Text:
    """A line from plain pieces and (text, style) pairs; every piece is sanitised, none is markup."""
    out = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        out.append(terminal_safe(text), style or None)
    return out
