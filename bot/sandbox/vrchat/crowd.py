"""Seeding a large group fast: thousands of members, as a busy community has.

Silent like the ``add_*`` helpers (no audit entries), and cheap: 5,000 members take a few tens of
milliseconds, so tests and benchmarks can afford realistic group sizes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .models import SimUser
from .store import SimStore


def add_crowd(
    state: SimStore,
    group_id: str,
    count: int,
    *,
    name: str = "Player",
    role_ids: Iterable[str] = (),
    joined_from: datetime | None = None,
    joined_every: timedelta = timedelta(minutes=1),
) -> list[SimUser]:
    """``count`` new users named ``"<name> 00001"``... made members of the group holding
    ``role_ids``, joined ``joined_every`` apart up to now (or from ``joined_from`` on), oldest first:
    distinct join times, so every listing order is well defined."""
    if count < 0:
        raise ValueError(f"count must be 0 or more, not {count}")
    roles = list(role_ids)
    start = joined_from or state.clock() - joined_every * count
    width = max(5, len(str(count)))
    people: list[SimUser] = []
    for i in range(count):
        user = state.add_user(f"{name} {i + 1:0{width}d}")
        state.add_member(group_id, user.id, roles, joined_at=start + joined_every * i)
        people.append(user)
    return people
