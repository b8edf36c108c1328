"""Adaptive polling: how long to wait before the next look at a group, from how quiet it has been.

A group whose log keeps coming back empty is asked less often: the wait doubles with each further
empty poll, up to `ceiling`. The first new entry, a moderator's command on the group, or a pipeline
notice about it brings the wait back to `base`. How soon it grows again depends on what the group
has shown:

- a busy group (two polls in a row found something) keeps the base interval through `patience`
  empty polls, so an odd empty minute or two does not slow it down;
- any other group (just started, or quiet with a lone entry) grows after its first empty poll, and a
  group that was quiet before its lone entry goes straight back to the wait it had then: one look at
  the interval catches what follows the entry, and nothing more costs nothing more.

Every wait is jittered by a few seconds either way (`jitter_seconds`: never on a fixed clock) and
held above `floor` (how often VRChat may be asked at most). A grown wait is held below `ceiling`,
which therefore bounds how late the first entry after a quiet spell is seen; a wait at the base
interval never passes base + jitter_seconds, which bounds a busy group's feed latency. The groups'
phases are spread by the poller's random first delay and by the rate limiter, not by this jitter.

Pure: no clock, no I/O; the randomness comes from the caller's `random.Random`. Used by the audit
poller (bot.feed.poller) and the join-request card round (one per group each).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Empty polls in a row at the base interval before a busy group's wait starts to grow. Two: with
#: an entry every 30 s on average an empty minute is common (one poll in seven), three in a row rare
#: (one in 400); with one, `make bench` showed a busy group's p99 grow by a third.
PATIENCE = 2
GROWTH = 2.0
#: Each wait is moved by up to this many seconds either way (a quarter of the base interval at most):
#: at the default interval (60 s) a busy group's wait stays within the interval + 2 s, so its feed
#: latency does too.
JITTER_SECONDS = 2.0
#: Polls in a row that found something before a group counts as busy (and gets the patience).
BUSY_AFTER = 2


@dataclass
class QuietBackoff:
    base: float
    ceiling: float
    jitter_seconds: float = JITTER_SECONDS
    floor: float = 0.0
    patience: int = PATIENCE
    growth: float = GROWTH
    empty_polls: int = field(default=0, init=False)  # in a row, since the last activity
    active_polls: int = field(default=0, init=False)  # polls in a row that found something
    # Two polls in a row found something: the patience applies until the wait grows again.
    busy: bool = field(default=False, init=False)
    # How quiet the group was before its latest activity (empty polls), while that activity is a
    # lone one: an empty poll goes back there at once. 0 when there is nothing to go back to.
    quiet_before: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.ceiling < self.base:
            raise ValueError(
                f"the quiet ceiling ({self.ceiling:g} s) must be at least the interval ({self.base:g} s)"
            )
        if self.jitter_seconds < 0 or self.growth < 1 or self.patience < 0:
            raise ValueError("jitter must be at least 0, growth at least 1, patience at least 0")

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
        # A short interval (a simulator on loopback) gets a quarter of it at most.
        spread = min(self.jitter_seconds, self.base / 4)
        wait = max(self.floor, nominal + rng.uniform(-spread, spread))
        # The ceiling bounds a grown wait; at the base interval the jitter goes both ways, so a
        # ceiling equal to the interval turns the growth off and keeps the mean at the interval.
        return min(self.ceiling, wait) if nominal > self.base else wait

    def polled(self, *, new_entries: bool) -> None:
        """A poll finished: new entries mean activity; nothing new makes the group quieter.
        A failed poll is not reported here (it says nothing about the group)."""
        if new_entries:
            self.active_polls += 1
            if self.active_polls >= BUSY_AFTER:
                self.busy = True
                self.quiet_before = 0  # not a lone entry after all: the patience applies
            self.reset()
            return
        self.active_polls = 0
        if self.quiet_before:  # a lone entry (or command, or notice) in a quiet group: back there
            self.empty_polls, self.quiet_before = self.quiet_before, 0
        elif self.busy or self.quiet:
            self.empty_polls += 1
            self.busy = self.busy and not self.quiet  # grown: busy no more until it shows it again
        else:  # not (yet) busy: no patience, the wait grows from this empty poll on
            self.empty_polls = self.patience + 1

    def reset(self) -> None:
        """Activity in the group: back to the base interval (remembering how quiet it was)."""
        if self.quiet:
            self.quiet_before = max(self.quiet_before, self.empty_polls)
        self.empty_polls = 0


class QuietSchedule:
    """A QuietBackoff per group, and when each quiet group is next due: for work done in rounds over
    many groups (the join-request listing of the card loop) rather than in a loop per group.

    A group at the base interval is due at every round, as before; a quiet one at the last round
    before its grown wait runs out (`lookahead`: how long until the round after this one), never
    after it — the ceiling stays a bound."""

    def __init__(
        self,
        base: float,
        ceiling: float,
        *,
        jitter_seconds: float = JITTER_SECONDS,
        rng: random.Random | None = None,
    ):
        self.base, self.ceiling, self.jitter_seconds = base, ceiling, jitter_seconds
        self._rng = rng or random.Random()
        self._backoffs: dict[str, QuietBackoff] = {}
        self._next: dict[str, float] = {}

    def backoff(self, group_id: str) -> QuietBackoff:
        if group_id not in self._backoffs:
            self._backoffs[group_id] = QuietBackoff(
                self.base, self.ceiling, jitter_seconds=self.jitter_seconds
            )
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
