"""`feed.quiet_poll_ceiling_seconds`: how long a quiet group's polls may grow apart; never below the
interval, and a wrong value named at its line."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config_text

TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


def config_text(*feed_lines: str) -> str:
    lines = "\n".join(feed_lines)
    return f"""\
[vrchat]
username = "Bot"
user_agent = "GroupBridge/0.1 (ops@bridge.gg)"

[discord]
token = "{TOKEN}"

[feed]
{lines}
"""


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(needle))


@pytest.mark.parametrize(
    ("lines", "ceiling"),
    [
        ((), 180),
        (("quiet_poll_ceiling_seconds = 600",), 600),
        (("poll_interval_seconds = 90", "quiet_poll_ceiling_seconds = 90"), 90),  # growth off
        # An interval above the default ceiling, with no ceiling of its own, just turns the growth off.
        (("poll_interval_seconds = 300",), 300),
    ],
)
def test_the_ceiling_in_force(lines: tuple[str, ...], ceiling: float) -> None:
    assert load_config_text(config_text(*lines), env={}).feed.quiet_ceiling == ceiling


def test_a_ceiling_below_the_interval_is_named_at_its_line() -> None:
    text = config_text("poll_interval_seconds = 120", 'backfill = "none"', "quiet_poll_ceiling_seconds = 90")
    with pytest.raises(ConfigError) as info:
        load_config_text(text, source="bridge.toml", env={})
    assert str(info.value).splitlines() == [
        f"bridge.toml:{line_of(text, 'quiet_poll_ceiling_seconds')}: feed.quiet_poll_ceiling_seconds: "
        "must be at least feed.poll_interval_seconds (120): a quiet group is polled less often than a "
        "busy one, never more; set it equal to the interval to poll every group at the interval"
    ]


def test_below_the_default_interval_too_and_from_the_environment() -> None:
    with pytest.raises(ConfigError, match=r"quiet_poll_ceiling_seconds: must be at least .*\(60\)"):
        load_config_text(config_text(), env={"GROUPBRIDGE_FEED__QUIET_POLL_CEILING_SECONDS": "45"})


@pytest.mark.parametrize("value", ["0", "-5", '"soon"'])
def test_a_value_that_is_no_duration_is_reported_once(value: str) -> None:
    text = config_text(f"quiet_poll_ceiling_seconds = {value}")
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    assert [p.key for p in info.value.problems] == ["feed.quiet_poll_ceiling_seconds"]
    assert info.value.problems[0].line == line_of(text, "quiet_poll_ceiling_seconds")
