"""Hypothesis strategies for text a hostile or careless user (or VRChat profile) can produce.

Plain `st.text()` almost never produces the strings that matter for a Discord bot (`@everyone`, a
role mention, a masked link, a right-to-left override, a 10,000-character paste), so the strategies
here mix such pieces with arbitrary unicode and can stretch any mix to a given length.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Profiles are registered in tests/hostile/conftest.py; HYPOTHESIS_PROFILE=thorough runs more examples.
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "") == "thorough"


def examples(n: int, *, scale: int = 8, **overrides: Any) -> settings:
    """`n` examples (n * scale under the thorough profile), no deadline: timing is not a property."""
    profile = settings.get_profile("hostile-thorough" if THOROUGH else "hostile")
    return settings(parent=profile, max_examples=n * scale if THOROUGH else n, **overrides)


# Bot-side tests keep one bot (function-scoped fixtures) for all of a test's examples on purpose.
SHARED_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]

SNOWFLAKE = "123456789012345678"
MENTIONS = (
    "@everyone",
    "@here",
    "@ everyone",
    "＠everyone",
    f"<@{SNOWFLAKE}>",
    f"<@!{SNOWFLAKE}>",
    f"<@&{SNOWFLAKE}>",
    f"<#{SNOWFLAKE}>",
    f"</vrc invite:{SNOWFLAKE}>",
    "<t:0:R>",
    f"<:blob:{SNOWFLAKE}>",
    f"<a:blob:{SNOWFLAKE}>",
    "<id:customize>",
    "@",
    "<",
    ">",
)
MARKDOWN = (
    "**",
    "*",
    "__",
    "_",
    "~~",
    "||",
    "`",
    "```",
    "\\",
    "> ",
    ">>> ",
    "# ",
    "-# ",
    "- ",
    "1. ",
    "[x](https://evil.example/)",
    "[",
    "]",
    "(",
    ")",
    "](",
    "](https://evil.example/)",
    "<https://evil.example>",
    "https://evil.example/@everyone",
)
INVISIBLE = (
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2067",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u00ad",
)
CONTROL = (*(chr(c) for c in range(32)), "\x7f", "\x85", "\u2028", "\u2029")
ODD = (
    "²",
    "١٢٣",
    "３",
    "😀",
    "👨‍👩‍👧‍👦",
    "e\u0301",
    "Z̷̢̛̛",
    "ﷺ",
    "𒐫",
    "\U0010fffd",
    " ",
    "\u3000",
    "'",
    '"',
    "%s",
    "{0}",
    "…",
)
# Values our own parsers look for, so hostile text sometimes comes close to (or is) a valid reference.
USER_ID = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
GROUP_ID = "grp_71a7ff59-112c-4e78-a990-c7cc650776e5"
NEAR_MISSES = (
    USER_ID,
    GROUP_ID,
    "8JoV9XEdpo",
    "ABCDE.1234",
    "https://vrchat.com/home/user/",
    "https://vrchat.com/home/group/",
    "https://vrc.group/",
    "http://[",
    "://",
    "group.user.ban",
    "2026-11-25",
    "members",
    ", ",
)
PIECES: tuple[str, ...] = MENTIONS + MARKDOWN + INVISIBLE + CONTROL + ODD + NEAR_MISSES

piece = st.one_of(st.sampled_from(PIECES), st.text(max_size=12))
short_text = st.lists(piece, max_size=20).map("".join)


def _stretch(seed: str, length: int) -> str:
    return (seed * (length // len(seed) + 1))[:length]


def long_text(max_size: int) -> st.SearchStrategy[str]:
    """A hostile mix repeated to some length up to `max_size` (Discord's own limits included)."""
    marks = [n for n in (100, 256, 1000, 1024, 2000, 4096, 6000, 10_000) if n <= max_size]
    lengths = (
        st.one_of(st.sampled_from(marks), st.integers(1, max_size)) if marks else st.integers(1, max_size)
    )
    seeds = st.lists(piece, min_size=1, max_size=6).map("".join).filter(bool)
    return st.builds(_stretch, seeds, lengths)


def hostile_text(max_size: int = 10_000, min_size: int = 0) -> st.SearchStrategy[str]:
    """Mentions, markdown, invisible and control characters, arbitrary unicode, up to `max_size`."""
    text = st.one_of(st.sampled_from(PIECES), short_text, short_text, long_text(max_size))
    return text.map(lambda t: t[:max_size]).filter(lambda t: len(t) >= min_size)


def uuids() -> st.SearchStrategy[str]:
    return st.uuids().map(str)


def user_ids() -> st.SearchStrategy[str]:
    return uuids().map(lambda u: f"usr_{u}")


def group_ids() -> st.SearchStrategy[str]:
    return uuids().map(lambda u: f"grp_{u}")
