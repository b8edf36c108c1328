"""The quiet-group policy (bot.feed.backoff): how the wait grows, where it stops, what resets it."""

from __future__ import annotations

import itertools
import random

import pytest

from bot.feed.backoff import QuietBackoff


def test_the_wait_doubles_after_the_patience_and_stops_at_the_ceiling() -> None:
    policy = QuietBackoff(60, 180, jitter=0, patience=1)
    seen = []
    for _ in range(6):
        seen.append(policy.nominal())
        policy.polled(new_entries=False)
    # One empty poll is forgiven (a busy group's odd empty minute); then 120, then the ceiling.
    assert seen == [60, 60, 120, 180, 180, 180]
    assert policy.quiet


def test_by_default_two_empty_polls_are_forgiven() -> None:
    policy = QuietBackoff(60, 180, jitter=0)
    seen = []
    for _ in range(5):
        seen.append(policy.nominal())
        policy.polled(new_entries=False)
    assert seen == [60, 60, 60, 120, 180]


def test_a_new_entry_and_a_reset_bring_it_back_to_the_interval() -> None:
    policy = QuietBackoff(60, 600, jitter=0, patience=1)
    for _ in range(5):
        policy.polled(new_entries=False)
    assert policy.nominal() == 600
    policy.polled(new_entries=True)
    assert policy.nominal() == 60 and not policy.quiet
    for _ in range(3):
        policy.polled(new_entries=False)
    assert policy.nominal() == 240
    policy.reset()
    assert policy.nominal() == 60


def test_jitter_spreads_the_wait_but_a_grown_wait_never_passes_the_ceiling() -> None:
    rng = random.Random(3)
    policy = QuietBackoff(60, 180, jitter=0.25, floor=30)
    at_base = [policy.delay(rng) for _ in range(200)]
    # At the interval the jitter is as it always was, both ways.
    assert min(at_base) < 50 and max(at_base) > 70 and all(45 <= d <= 75 for d in at_base)
    for _ in range(10):
        policy.polled(new_entries=False)
    quiet = [policy.delay(rng) for _ in range(200)]
    assert max(quiet) == 180 and all(135 <= d <= 180 for d in quiet)


def test_a_ceiling_equal_to_the_interval_turns_the_growth_off() -> None:
    policy = QuietBackoff(60, 60, jitter=0)
    for _ in range(20):
        policy.polled(new_entries=False)
    assert policy.nominal() == 60 and policy.delay(random.Random(1)) == 60


def test_a_group_quiet_for_ever_does_not_overflow() -> None:
    policy = QuietBackoff(60, 180, jitter=0)
    policy.empty_polls = 10**6
    assert policy.nominal() == 180


def test_the_floor_holds_under_the_jitter() -> None:
    policy = QuietBackoff(2, 10, jitter=0.9, floor=1.5)
    assert min(policy.delay(random.Random(i)) for i in range(200)) == 1.5


@pytest.mark.parametrize(("base", "ceiling"), [(60, 59), (0, 10), (-1, 10)])
def test_a_ceiling_below_the_interval_is_refused(base: float, ceiling: float) -> None:
    with pytest.raises(ValueError, match="at least the interval"):
        QuietBackoff(base, ceiling)


def test_a_schedule_lists_a_base_group_every_round_and_a_quiet_one_before_its_wait_ends() -> None:
    from bot.feed.backoff import QuietSchedule

    schedule = QuietSchedule(60, 180, jitter=0, rng=random.Random(1))  # the default patience: 2
    rounds, looked, rng = [0.0, 48.0, 120.0], [], random.Random(2)
    while rounds[-1] < 20_000:
        rounds.append(rounds[-1] + rng.uniform(48, 72))  # the card loop's round gaps
    for now, upcoming in itertools.pairwise(rounds):
        if schedule.due("grp", now, lookahead=upcoming - now):  # the loop knows when it looks next
            looked.append(now)
            schedule.polled("grp", now, new=False)
    gaps = [b - a for a, b in itertools.pairwise(looked)]
    assert gaps[:3] == [48, 72, rounds[3] - rounds[2]]  # at the interval: every round (two empty forgiven)
    # Quiet: at the last round before each wait of 180 s runs out, never after it.
    assert all(g <= 180 for g in gaps) and 130 <= sum(gaps[3:]) / len(gaps[3:]) < 180
    schedule.reset("grp")
    assert schedule.due("grp", rounds[-1], lookahead=0)
    assert not schedule.backoff("grp").quiet
