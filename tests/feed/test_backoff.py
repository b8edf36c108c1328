"""The quiet-group policy (bot.feed.backoff): how the wait grows, where it stops, what resets it."""

from __future__ import annotations

import itertools
import random

import pytest

from bot.feed.backoff import QuietBackoff, QuietSchedule


def waits(policy: QuietBackoff, polls: str) -> list[float]:
    """The nominal wait after each poll: "n" found something new, "." found nothing."""
    seen = []
    for poll in polls:
        policy.polled(new_entries=poll == "n")
        seen.append(policy.nominal())
    return seen


def test_a_busy_group_keeps_the_interval_through_two_empty_polls() -> None:
    policy = QuietBackoff(60, 180, jitter_seconds=0)
    # Two polls in a row found something: busy. Its odd empty minute or two keeps the interval.
    assert waits(policy, "nn.n..n") == [60] * 7
    assert policy.busy
    # Three empty polls in a row: it grows, and it is no longer counted busy.
    assert waits(policy, "....") == [60, 60, 120, 180]
    assert policy.quiet and not policy.busy


def test_a_group_that_has_shown_nothing_grows_at_its_first_empty_poll() -> None:
    policy = QuietBackoff(60, 180, jitter_seconds=0)
    assert waits(policy, "....") == [120, 180, 180, 180]
    fresh = QuietBackoff(60, 180, jitter_seconds=0)
    assert waits(fresh, "n..") == [60, 120, 180]  # one look found something: not busy yet


def test_a_lone_entry_after_a_quiet_spell_costs_one_poll_at_the_interval() -> None:
    policy = QuietBackoff(60, 600, jitter_seconds=0)
    waits(policy, "......")
    assert policy.nominal() == 600
    # The entry: back to the interval; nothing more at the next look: straight back to 600 s,
    # not 120, 240, 480 (nor, as before, three more polls at the interval first).
    assert waits(policy, "n.") == [60, 600]
    # Two looks in a row with something: busy, and the patience applies again.
    assert waits(policy, "nn...") == [60, 60, 60, 60, 120]


def test_a_reset_brings_it_back_to_the_interval_and_an_empty_look_back_to_its_wait() -> None:
    policy = QuietBackoff(60, 600, jitter_seconds=0)
    waits(policy, ".....")
    policy.reset()  # a pipeline notice, a moderator's command
    assert policy.nominal() == 60 and not policy.quiet
    policy.reset()  # twice before a poll: still one activity
    assert waits(policy, "n.") == [60, 600]  # the woken poll found the entry; nothing more
    policy.reset()
    assert waits(policy, ".") == [600]


def test_a_wait_at_the_interval_stays_within_two_seconds_of_it() -> None:
    rng = random.Random(3)
    policy = QuietBackoff(60, 180, floor=30)
    policy.polled(new_entries=True)
    policy.polled(new_entries=True)
    at_base = [policy.delay(rng) for _ in range(500)]
    # Never beyond the interval + 2 s (the old ±25 % reached 75 s), and still never on a fixed clock.
    assert max(at_base) <= 62 and min(at_base) >= 58 and len({round(d, 3) for d in at_base}) > 400
    assert 59.5 < sum(at_base) / len(at_base) < 60.5  # the mean stays the interval
    waits(policy, "......")
    quiet = [policy.delay(rng) for _ in range(500)]
    assert max(quiet) == 180 and min(quiet) >= 178  # the ceiling bounds it, and the mean is near it


def test_a_short_interval_gets_a_quarter_of_it_as_jitter_at_most() -> None:
    policy = QuietBackoff(2, 10, floor=0.1)
    delays = [policy.delay(random.Random(i)) for i in range(200)]
    assert min(delays) >= 1.5 and max(delays) <= 2.5


def test_a_ceiling_equal_to_the_interval_turns_the_growth_off() -> None:
    policy = QuietBackoff(60, 60, jitter_seconds=0)
    waits(policy, "." * 20)
    assert policy.nominal() == 60 and policy.delay(random.Random(1)) == 60


def test_a_group_quiet_for_ever_does_not_overflow() -> None:
    policy = QuietBackoff(60, 180, jitter_seconds=0)
    policy.empty_polls = 10**6
    assert policy.nominal() == 180


def test_the_floor_holds_under_the_jitter() -> None:
    policy = QuietBackoff(2, 10, jitter_seconds=5, floor=1.9)
    assert min(policy.delay(random.Random(i)) for i in range(200)) == 1.9


@pytest.mark.parametrize(("base", "ceiling"), [(60, 59), (0, 10), (-1, 10)])
def test_a_ceiling_below_the_interval_is_refused(base: float, ceiling: float) -> None:
    with pytest.raises(ValueError, match="at least the interval"):
        QuietBackoff(base, ceiling)


def test_a_schedule_lists_a_base_group_every_round_and_a_quiet_one_before_its_wait_ends() -> None:
    schedule = QuietSchedule(60, 180, jitter_seconds=0, rng=random.Random(1))
    rounds, looked, rng = [0.0, 48.0, 120.0], [], random.Random(2)
    while rounds[-1] < 20_000:
        rounds.append(rounds[-1] + rng.uniform(48, 72))  # the card loop's round gaps
    schedule.polled("grp", 0.0, new=True)  # the first round posted a card
    schedule.polled("grp", 0.0, new=True)  # and the next one too: busy
    for now, upcoming in itertools.pairwise(rounds):
        if schedule.due("grp", now, lookahead=upcoming - now):  # the loop knows when it looks next
            looked.append(now)
            schedule.polled("grp", now, new=False)
    gaps = [b - a for a, b in itertools.pairwise(looked)]
    assert gaps[:3] == [48, 72, rounds[3] - rounds[2]]  # busy: every round (two empty forgiven)
    # Quiet: at the last round before each wait of 180 s runs out, never after it.
    assert all(g <= 180 for g in gaps) and 130 <= sum(gaps[3:]) / len(gaps[3:]) < 180
    schedule.reset("grp")
    assert schedule.due("grp", rounds[-1], lookahead=0)
    assert not schedule.backoff("grp").quiet
