"""A binding's alert settings: stored ones, the config's `[bindings.alerts]`, and what they mean.

No row in the store means alerts are off for the binding. A binding that declares `[bindings.alerts]`
in config.toml gets exactly those settings at every start (as declared rules do); `/bridge alerts`
changes them until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.config import AlertsConfig, Config
from bot.store import Binding
from bot.store.feature_ports import AlertSettingsWriter
from bot.store.moderator_alerts import AlertSettingsRecord
from bot.wiring import declared_bindings

from .detector import Thresholds

DEFAULTS = AlertsConfig()


def default_record(binding_id: int) -> AlertSettingsRecord:
    return record_from_config(binding_id, DEFAULTS)


def record_from_config(binding_id: int, alerts: AlertsConfig) -> AlertSettingsRecord:
    # The [bindings.alerts] keys are the record's fields, by the same names.
    return AlertSettingsRecord(binding_id=binding_id, **alerts.model_dump())


@dataclass(frozen=True, slots=True)
class EffectiveAlerts:
    """What the watchdog does for one binding."""

    binding: Binding
    record: AlertSettingsRecord
    channel_id: int

    @property
    def thresholds(self) -> Thresholds:
        r = self.record
        return Thresholds(
            window=timedelta(minutes=r.window_minutes),
            limits={"kicks": r.max_kicks, "bans": r.max_bans, "role_removals": r.max_role_removals},
        )


def alert_channel(binding: Binding, record: AlertSettingsRecord) -> int:
    """The configured channel, else the binding's requests channel, else its feed channel."""
    return record.alert_channel_id or binding.requests_channel_id or binding.feed_channel_id


def effective(binding: Binding, record: AlertSettingsRecord | None) -> EffectiveAlerts | None:
    """None when alerts are off for the binding."""
    if record is None or not record.enabled:
        return None
    return EffectiveAlerts(binding, record, alert_channel(binding, record))


async def apply_declared_alerts(store: AlertSettingsWriter, config: Config) -> None:
    """The [[bindings]] that declare `[bindings.alerts]` get exactly those settings at start."""
    async for declared, binding in declared_bindings(store, config):
        if declared.alerts is not None:
            await store.put_alert_settings(record_from_config(binding.id, declared.alerts))
