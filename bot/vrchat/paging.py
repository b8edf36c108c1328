"""Request-building helpers shared by the client's modules: path segments, n/offset paging and
enumerated values, each checked before anything is sent."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar
from urllib.parse import quote

E = TypeVar("E", bound=StrEnum)

MAX_PAGE = 100  # the spec's maximum for `n`


def segment(value: str) -> str:
    """`value` as one URL path segment (already checked by bot.vrchat.ids; quoted all the same)."""
    return quote(value, safe="")


def page_params(n: int, offset: int) -> dict[str, int]:
    """The `n`/`offset` query parameters, or ValueError before anything is sent."""
    if not 1 <= n <= MAX_PAGE:
        raise ValueError(f"n must be between 1 and {MAX_PAGE}, not {n}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, not {offset}")
    return {"n": n, "offset": offset}


def choice(kind: type[E], value: E | str, name: str) -> E:
    """`value` as a member of `kind`, or ValueError naming `name` and the values allowed."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise ValueError(f"{name} must be one of {allowed}; not {value!r}") from None
