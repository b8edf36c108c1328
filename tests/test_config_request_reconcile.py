"""`feed.request_reconcile_seconds`: how often a group whose audit log is mirrored has its join
requests listed; never below the card round's minute, and a wrong value named at its line."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config_text
from bot.config.problems import Problem
from tests.test_config_quiet_ceiling import config_text, line_of

KEY = "feed.request_reconcile_seconds"
BELOW_A_MINUTE = (
    "must be at least 60 (the card round's own pace): a group whose audit log is mirrored has its join "
    "requests listed this often instead of every minute; 60 lists them every minute, as without the mirror"
)


def refused(text: str, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env=env or {})
    return info.value.problems


@pytest.mark.parametrize(("lines", "seconds"), [((), 1800), (("request_reconcile_seconds = 60",), 60)])
def test_the_reconcile_in_force(lines: tuple[str, ...], seconds: float) -> None:
    assert load_config_text(config_text(*lines), env={}).feed.request_reconcile_seconds == seconds


def test_a_reconcile_below_a_minute_is_named_at_its_line_with_the_reason() -> None:
    text = config_text('backfill = "none"', "request_reconcile_seconds = 30")
    assert refused(text) == [Problem(KEY, BELOW_A_MINUTE, line_of(text, "request_reconcile_seconds"))]


def test_from_the_environment_too() -> None:
    env = {"GROUPBRIDGE_FEED__REQUEST_RECONCILE_SECONDS": "10"}
    assert [(p.key, p.message) for p in refused(config_text(), env)] == [(KEY, BELOW_A_MINUTE)]


@pytest.mark.parametrize("value", ["0", "-5", '"hourly"', "100000"])
def test_a_value_that_is_no_duration_is_reported_once(value: str) -> None:
    text = config_text(f"request_reconcile_seconds = {value}")
    assert [(p.key, p.line) for p in refused(text)] == [(KEY, line_of(text, "request_reconcile_seconds"))]
