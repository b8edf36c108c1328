"""`[bindings.alerts]` in config.toml: checked with key and line like the rest of the config."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config_text
from tests.fixtures.configs import one_binding_text


def config_text(alerts: str) -> str:
    return one_binding_text(f"\n[bindings.alerts]\n{alerts}")


def test_a_table_turns_alerts_on_with_the_defaults() -> None:
    config = load_config_text(config_text("ping_role_id = 444444444444444444"), required=())
    alerts = config.bindings[0].alerts
    assert alerts is not None and alerts.enabled and alerts.ping_role_id == 444444444444444444
    assert (alerts.window_minutes, alerts.max_bans, alerts.auto_kill_switch) == (10, 5, False)


def test_no_table_no_alerts() -> None:
    text = config_text("").replace("[bindings.alerts]", "")
    assert load_config_text(text, required=()).bindings[0].alerts is None


@pytest.mark.parametrize(
    ("line", "key", "needle"),
    [
        ("max_bans = 0", "bindings[0].alerts.max_bans", "must be at least 1"),
        ("window_minutes = 99999", "bindings[0].alerts.window_minutes", "must be at most 1440"),
        ('auto_kill_switch = "yes please"', "bindings[0].alerts.auto_kill_switch", "true or false"),
        ("ping_role_id = -3", "bindings[0].alerts.ping_role_id", ""),
        ("max_kicks_per_hour = 3", "bindings[0].alerts.max_kicks_per_hour", ""),
    ],
)
def test_bad_alert_settings_are_reported_with_key_and_line(line: str, key: str, needle: str) -> None:
    text = config_text(line)
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, required=())
    (problem,) = caught.value.problems
    assert problem.key == key, problem
    assert needle in problem.message
    assert problem.line == text.splitlines().index(line) + 1
