"""A binding's settings that live only in config.toml's [[bindings]] (no command changes them).

A binding made with /bridge link has no [[bindings]] table: it gets the defaults, the safe choices
(no management roles from Discord, no age-gate policy).
"""

from __future__ import annotations

from bot.config import Config
from bot.config.models import BindingConfig
from bot.store import Binding

DEFAULTS = BindingConfig(group_id="grp_00000000-0000-0000-0000-000000000000", guild_id=1, feed_channel_id=1)


def declared(config: Config, binding: Binding) -> BindingConfig:
    """The [[bindings]] table that declares `binding`, or the defaults when none does."""
    for table in config.bindings:
        if (table.group_id, table.guild_id, table.feed_channel_id) == (
            binding.group_id,
            binding.guild_id,
            binding.feed_channel_id,
        ):
            return table
    return DEFAULTS


def allows_management_roles(config: Config, binding: Binding) -> bool:
    return declared(config, binding).allow_management_roles


def age_gate_policy(config: Config, binding: Binding) -> str:
    """ "off", "report" or "close"."""
    return declared(config, binding).instance_age_gate
