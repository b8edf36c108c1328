"""Adaptive polling: how long to wait before the next look at a group, from how quiet it has been.

A group whose log keeps coming back empty is asked less often: after `patience` empty polls in a
row the wait doubles with each further empty poll, up to `ceiling`. The first new entry, a
moderator's command on the group, or a pipeline notice about it brings the wait back to `base`.
Every wait is jittered (× 1 ± `jitter`, never on a fixed clock) and held above `floor` (how often
VRChat may be asked at most); a grown wait is also held below `ceiling`, which therefore bounds how
late the first entry after a quiet spell is seen.

Pure: no clock, no I/O; the randomness comes from the caller's `random.Random`. Used by the audit
poller (bot.feed.poller) and the join-request card round (one per group each).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Empty polls in a row at the base interval before the wait starts to grow. Two: a busy group (an
#: entry in most minutes) keeps its interval through the odd empty minute or two, so its feed
#: latency stays what it was (with one, `make bench` showed a busy group's p99 grow by a third);
#: a quiet group pays one poll more per quiet spell.
PATIENCE = 2
GROWTH = 2.0


@dataclass
class QuietBackoff:
    base: float
    ceiling: float
    jitter: float = 0.25
    floor: float = 0.0
    patience: int = PATIENCE
    growth: float = GROWTH
    empty_polls: int = field(default=0, init=False)  # in a row, since the last activity

    def __post_init__(self) -> None:
        if self.base <= 0 or self.ceiling < self.base:
            raise ValueError(
                f"the quiet ceiling ({self.ceiling:g} s) must be at least the interval ({self.base:g} s)"
            )
        if not 0 <= self.jitter < 1 or self.growth < 1 or self.patience < 0:
            raise ValueError("jitter must be in [0, 1), growth at least 1, patience at least 0")

    @property
    def quiet(self) -> bool:
        """True once the wait has grown beyond the base interval."""
        return self.empty_polls > self.patience

    def nominal(self) -> float:
        """The wait before jitter: base × growth^(empty polls beyond patience), at most the ceiling."""
        steps = max(0, self.empty_polls - self.patience)
        # Capped before exponentiating: a group quiet for weeks must not overflow a float.
        return min(self.ceiling, self.base * self.growth ** min(steps, 64))

    def delay(self, rng: random.Random) -> float:
        nominal = self.nominal()
        spread = nominal * self.jitter
        wait = max(self.floor, nominal + rng.uniform(-spread, spread))
        # The ceiling bounds a grown wait; at the base interval the jitter stays as it always was
        # (up to base × (1 + jitter)), so a ceiling equal to the interval turns the growth off and
        # changes nothing else.
        return min(self.ceiling, wait) if nominal > self.base else wait

    def polled(self, *, new_entries: bool) -> None:
        """A poll finished: new entries mean activity; nothing new makes the group a little quieter.
        A failed poll is not reported here (it says nothing about the group)."""
        if new_entries:
            self.reset()
        else:
            self.empty_polls += 1

    def reset(self) -> None:
        """Activity in the group: back to the base interval."""
        self.empty_polls = 0


class QuietSchedule:
    """A QuietBackoff per group, and when each quiet group is next due: for work done in rounds over
    many groups (the join-request listing of the card loop) rather than in a loop per group.

    A group at the base interval is due at every round, as before; a quiet one at the last round
    before its grown wait runs out (`lookahead`: how long until the round after this one), never
    after it — the ceiling stays a bound."""

    def __init__(
        self, base: float, ceiling: float, *, jitter: float = 0.25, rng: random.Random | None = None
    ):
        self.base, self.ceiling, self.jitter = base, ceiling, jitter
        self._rng = rng or random.Random()
        self._backoffs: dict[str, QuietBackoff] = {}
        self._next: dict[str, float] = {}

    def backoff(self, group_id: str) -> QuietBackoff:
        if group_id not in self._backoffs:
            self._backoffs[group_id] = QuietBackoff(self.base, self.ceiling, jitter=self.jitter)
        return self._backoffs[group_id]

    def due(self, group_id: str, now: float, lookahead: float) -> bool:
        if not self.backoff(group_id).quiet:
            return True
        return self._next.get(group_id, now) <= now + lookahead

    def polled(self, group_id: str, now: float, *, new: bool) -> None:
        backoff = self.backoff(group_id)
        backoff.polled(new_entries=new)
        self._next[group_id] = now + backoff.delay(self._rng)

    def reset(self, group_id: str) -> None:
        """Activity in the group: due at the next round, and at every round until it is quiet again."""
        self.backoff(group_id).reset()
        self._next.pop(group_id, None)
