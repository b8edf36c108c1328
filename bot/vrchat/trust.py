"""VRChat's trust ranks: the `system_trust_*` tags on a user, and the rank names VRChat's site shows."""

from __future__ import annotations

from collections.abc import Iterable

# Highest first: a veteran account also carries the lower trust tags.
TRUST_RANKS: tuple[tuple[str, str], ...] = (
    ("system_trust_veteran", "Trusted User"),
    ("system_trust_trusted", "Known User"),
    ("system_trust_known", "User"),
    ("system_trust_basic", "New User"),
)
VISITOR = "Visitor"
# Lowest first.
TRUST_ORDER: tuple[str, ...] = (VISITOR, *(rank for _, rank in reversed(TRUST_RANKS)))


def trust_rank(tags: Iterable[str]) -> str:
    present = set(tags)
    return next((rank for tag, rank in TRUST_RANKS if tag in present), VISITOR)
