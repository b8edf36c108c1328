"""What "within Discord's limits" and "no ping, no foreign link" mean, written independently of bot/text.py.

Lengths are counted in UTF-16 code units, as bot/text.py does: a JavaScript client counts that way,
and it is never less than a code-point count, so a payload within these limits is within Discord's
whichever way Discord counts.

"No ping" (`live_mentions`): Discord turns `@everyone`, `@here` and `<@id>`, `<@!id>`, `<@&id>`,
`<#id>`, `</name:id>`, `<t:…>`, `<:emoji:id>`, `<id:…>` into mentions or widgets. The bot makes them
inert by putting a zero-width space right after every `@` and `<` of user text. The check is
stricter than Discord's parser on purpose: any `@everyone`/`@here` (in any letter case) and any `<`
directly followed by `@`, `#`, `/`, `:`, `a:`, `t:` or `id:` counts as live, whether or not the rest of
the token would parse - unless the caller names it as one the bot writes itself (`allowed`). A
backslash escape does not count as neutralised: the bot does not rely on it, so neither does this.

"No foreign link" (`foreign_links`): a masked link `[label](url)` is live when its `](` is not
escaped (an even number of backslashes before the `]`). Every live one must point at a URL the bot
builds itself from a strictly validated ID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.vrchat.ids import GROUP_ID_RE, INSTANCE_ID_RE, WORLD_ID_RE, is_user_id

TITLE, DESCRIPTION, FIELD_NAME, FIELD_VALUE, FOOTER, AUTHOR = 256, 4096, 256, 1024, 2048, 256
FIELDS, EMBED_TOTAL, CONTENT, EMBEDS = 25, 6000, 2000, 10

_EVERYONE = re.compile(r"@(?:everyone|here)", re.IGNORECASE)
_TOKEN_START = re.compile(r"<(?=[@#/:]|a:|t:|id:)")
USER_URL = "https://vrchat.com/home/user/"
GROUP_URL = "https://vrchat.com/home/group/"
LAUNCH_URL = "https://vrchat.com/home/launch?"


def units(text: str) -> int:
    """UTF-16 code units (lone surrogates count one, as in JavaScript)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def blank(text: str) -> bool:
    """Empty once trimmed the way JavaScript trims (which, unlike Python, also drops U+FEFF)."""
    return not text.replace("\ufeff", "").strip()


def live_mentions(text: str, allowed: Iterable[re.Pattern[str]] = ()) -> list[str]:
    """The mention-like tokens in `text` that Discord could turn live (see the module docstring)."""
    found = [m.group(0) for m in _EVERYONE.finditer(text)]
    for m in _TOKEN_START.finditer(text):
        if not any(p.match(text, m.start()) for p in allowed):
            found.append(text[m.start() : m.start() + 24])
    return found


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def live_link_targets(text: str) -> list[str]:
    """The targets of every masked link Discord would render in `text`."""
    targets = []
    for m in re.finditer(r"\]\(", text):
        if not _escaped(text, m.start()):
            rest = text[m.end() :]
            targets.append(re.split(r"[)\s]", rest, maxsplit=1)[0])
    return targets


def is_own_url(url: str) -> bool:
    """A URL the bot builds from a strict ID: a profile, a group page, or an instance launch link."""
    if url.startswith(USER_URL):
        return is_user_id(url.removeprefix(USER_URL))
    if url.startswith(GROUP_URL):
        return bool(GROUP_ID_RE.match(url.removeprefix(GROUP_URL)))
    if url.startswith(LAUNCH_URL):
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
        world, instance = query.get("worldId", [""]), query.get("instanceId", [""])
        return (
            set(query) == {"worldId", "instanceId"}
            and len(world) == len(instance) == 1
            and bool(WORLD_ID_RE.match(world[0]) and INSTANCE_ID_RE.match(instance[0]))
        )
    return False


def foreign_links(text: str) -> list[str]:
    return [url for url in live_link_targets(text) if not is_own_url(url)]


def embed_texts(embed: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(where, text) for every text of an embed's dict form (what Discord receives)."""
    out = [(k, embed[k]) for k in ("title", "description") if embed.get(k)]
    if (embed.get("footer") or {}).get("text"):
        out.append(("footer", embed["footer"]["text"]))
    if (embed.get("author") or {}).get("name"):
        out.append(("author", embed["author"]["name"]))
    for i, field in enumerate(embed.get("fields") or []):
        out += [
            (f"fields[{i}].name", field.get("name") or ""),
            (f"fields[{i}].value", field.get("value") or ""),
        ]
    return out


def embed_problems(embed: Mapping[str, Any]) -> list[str]:
    """Every Discord limit one embed breaks (empty field names/values included: Discord refuses them)."""
    problems = []
    limits = {"title": TITLE, "description": DESCRIPTION, "footer": FOOTER, "author": AUTHOR}
    total = 0
    for where, text in embed_texts(embed):
        if not isinstance(text, str):
            problems.append(f"{where} is not a string: {text!r}")
            continue
        total += units(text)
        limit = limits.get(where) or (FIELD_NAME if where.endswith(".name") else FIELD_VALUE)
        if units(text) > limit:
            problems.append(f"{where} is {units(text)} units (limit {limit})")
    for i, field in enumerate(embed.get("fields") or []):
        for key in ("name", "value"):
            if blank(field.get(key) or ""):
                problems.append(f"fields[{i}].{key} is empty once trimmed: {field.get(key)!r}")
    if len(embed.get("fields") or []) > FIELDS:
        problems.append(f"{len(embed['fields'])} fields (limit {FIELDS})")
    if total > EMBED_TOTAL:
        problems.append(f"{total} units in all (limit {EMBED_TOTAL})")
    return problems


def message_problems(
    body: Mapping[str, Any], *, allowed: Iterable[re.Pattern[str]] = (), check_links: bool = True
) -> list[str]:
    """Limits, live mentions and foreign links of one message body (content and embeds)."""
    allowed = tuple(allowed)
    problems = []
    content = body.get("content") or ""
    if units(content) > CONTENT:
        problems.append(f"content is {units(content)} units (limit {CONTENT})")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS:
        problems.append(f"{len(embeds)} embeds (limit {EMBEDS})")
    if sum(units(t) for e in embeds for _, t in embed_texts(e) if isinstance(t, str)) > EMBED_TOTAL:
        problems.append(f"the embeds hold more than {EMBED_TOTAL} units together")
    texts = [("content", content)] + [
        (f"embeds[{i}].{w}", t) for i, e in enumerate(embeds) for w, t in embed_texts(e)
    ]
    for i, embed in enumerate(embeds):
        problems += [f"embeds[{i}]: {p}" for p in embed_problems(embed)]
    for where, text in texts:
        if live := live_mentions(text, allowed):
            problems.append(f"{where} has live mentions {live}: {text[:300]!r}")
        # Footers and author names are plain text in Discord: a "](" there links nowhere.
        if check_links and not where.endswith(("footer", "author")) and (links := foreign_links(text)):
            problems.append(f"{where} links to {links}: {text[:300]!r}")
    return problems
