"""A binding's settings that live only in config.toml's [[bindings]] (no command changes them).

A binding made with /bridge link has no [[bindings]] table: it gets the defaults, the safe choices
(no management roles from Discord, no age-gate policy).
"""

from __future__ import annotations

from bot.config import Config
from bot.config.models import BindingConfig
from bot.store import Binding


def declared(config: Config, binding: Binding) -> BindingConfig | None:
    """The [[bindings]] table that declares `binding`, or None (a binding made with /bridge link)."""
    for table in config.bindings:
        if (table.group_id, table.guild_id, table.feed_channel_id) == (
            binding.group_id,
            binding.guild_id,
            binding.feed_channel_id,
        ):
            return table
    return None


def allows_management_roles(config: Config, binding: Binding) -> bool:
    table = declared(config, binding)
    return table is not None and table.allow_management_roles


def age_gate_policy(config: Config, binding: Binding) -> str:
    """ "off", "report" or "close"."""
    table = declared(config, binding)
    return table.instance_age_gate if table is not None else "off"
