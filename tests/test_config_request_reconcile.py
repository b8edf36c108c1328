"""`feed.request_reconcile_seconds`: how often a group whose audit log is mirrored has its join
requests listed; never below the card round's minute, and a wrong value named at its line."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config_text
from tests.test_config_quiet_ceiling import config_text, line_of


@pytest.mark.parametrize(("lines", "seconds"), [((), 900), (("request_reconcile_seconds = 60",), 60)])
def test_the_reconcile_in_force(lines: tuple[str, ...], seconds: float) -> None:
    assert load_config_text(config_text(*lines), env={}).feed.request_reconcile_seconds == seconds


def test_a_reconcile_below_a_minute_is_named_at_its_line() -> None:
    text = config_text('backfill = "none"', "request_reconcile_seconds = 30")
    with pytest.raises(ConfigError) as info:
        load_config_text(text, source="bridge.toml", env={})
    assert str(info.value).splitlines() == [
        f"bridge.toml:{line_of(text, 'request_reconcile_seconds')}: feed.request_reconcile_seconds: "
        "must be at least 60 (the card round's own pace): a group whose audit log is mirrored has its "
        "join requests listed this often instead of every minute; 60 lists them every minute, as "
        "without the mirror"
    ]


def test_from_the_environment_too() -> None:
    with pytest.raises(ConfigError, match=r"request_reconcile_seconds: must be at least 60 "):
        load_config_text(config_text(), env={"GROUPBRIDGE_FEED__REQUEST_RECONCILE_SECONDS": "10"})


@pytest.mark.parametrize("value", ["0", "-5", '"hourly"', "100000"])
def test_a_value_that_is_no_duration_is_reported_once(value: str) -> None:
    text = config_text(f"request_reconcile_seconds = {value}")
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    assert [p.key for p in info.value.problems] == ["feed.request_reconcile_seconds"]
    assert info.value.problems[0].line == line_of(text, "request_reconcile_seconds")
