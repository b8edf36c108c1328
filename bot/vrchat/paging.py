"""Request-building helpers shared by the client's modules: path segments and n/offset paging."""

from __future__ import annotations

from urllib.parse import quote

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
