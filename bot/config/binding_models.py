"""The ``[[bindings]]`` tables: a VRChat group bound to Discord channels, with its join-request rules
and its alerts on runaway moderators."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from bot.config.checks import Count, GroupId, Snowflake
from bot.config.section import Section
from bot.events import EVENT_FAMILIES


class RuleConfig(Section):
    """One join-request rule of a binding: `when` (condition), its `value` if it takes one, `then`."""

    SECTION: ClassVar[str] = "bindings"

    when: str
    value: str | int | None = None
    then: str

    @model_validator(mode="after")
    def _check_rule(self) -> RuleConfig:
        # Deferred, not a cycle: only configs with rules pay for the rule grammar's imports.
        from bot.rule_syntax import parse_rule

        parse_rule(self.when, None if self.value is None else str(self.value), self.then)  # ValueErrors
        return self


class AlertsConfig(Section):
    """`[bindings.alerts]`: alerts on runaway moderators (bot.watchdog). The table turns them on;
    a key left out keeps its default, which suits a busy group."""

    SECTION: ClassVar[str] = "bindings"

    enabled: bool = True
    window_minutes: Count = Field(default=10, ge=1, le=1440)
    max_kicks: Count = Field(default=10, ge=1, le=10_000)
    max_bans: Count = Field(default=5, ge=1, le=10_000)
    max_role_removals: Count = Field(default=10, ge=1, le=10_000)
    alert_channel_id: Snowflake | None = None  # default: the binding's requests channel
    ping_role_id: Snowflake | None = None  # the one role an alert may ping
    auto_kill_switch: bool = False  # an explicit opt-in; never applied to the group's owner


class BindingConfig(Section):
    SECTION: ClassVar[str] = "bindings"

    group_id: GroupId
    guild_id: Snowflake
    feed_channel_id: Snowflake
    requests_channel_id: Snowflake | None = None
    moderator_role_ids: list[Snowflake] = Field(default_factory=list)
    events: list[str] = Field(default_factory=lambda: list(EVENT_FAMILIES))
    # When given, these are the binding's join-request rules at every start (replacing /bridge rules).
    rules: list[RuleConfig] | None = None
    rules_shadow: bool = False
    # Discord bans / kicks of linked members (bot.banbridge); when given, set at every start (else
    # /bridge bans decides: prompt for bans, off for kicks, the requests channel).
    discord_ban: Literal["off", "prompt", "ban"] | None = None
    discord_kick: Literal["off", "prompt"] | None = None
    ban_prompt_channel_id: Snowflake | None = None
    # /vrc role add may hand out roles carrying management permissions only when this is true.
    allow_management_roles: bool = False
    # Group instances that are not age-gated: left alone, reported to the moderators, or closed.
    instance_age_gate: Literal["off", "report", "close"] = "off"
    # When given, these are the binding's alert settings at every start (replacing /bridge alerts).
    alerts: AlertsConfig | None = None

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one event family (leave the key out to get all of them)")
        unknown = [e for e in value if e not in EVENT_FAMILIES]
        if unknown:
            raise ValueError(
                f"unknown event famil{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(repr(e) for e in unknown)}; choose from {', '.join(EVENT_FAMILIES)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("lists the same event family more than once")
        return value
