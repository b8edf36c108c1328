"""GroupBridge configuration: ``config.toml`` plus ``GROUPBRIDGE_<SECTION>__<KEY>`` environment overrides.

from bot.config import load_config, ConfigError
config = load_config(Path("config.toml"))      # raises ConfigError listing every problem
config.vrchat.user_agent

Layout: ``models`` (the schema), ``checks`` (field types and value checks), ``loader`` (load and
validate), ``env`` (environment overrides), ``problems`` (``Problem``, ``ConfigError``, messages),
``summary`` (``describe_config`` and ``config_notes`` for check-config), ``locate`` (key -> line).
"""

from bot.config.checks import mask_database_url
from bot.config.env import apply_env_overrides
from bot.config.loader import CREDENTIAL_KEYS, REQUIRED_KEYS, load_config, load_config_text
from bot.config.models import (
    EVENT_FAMILIES,
    FEED_POLL_FLOOR_SECONDS,
    AlertsConfig,
    BindingConfig,
    Config,
    DatabaseConfig,
    DiscordConfig,
    FeedConfig,
    GroupConfig,
    LoggingConfig,
    VRChatConfig,
    env_var_name,
)
from bot.config.problems import ConfigError, Problem
from bot.config.summary import SECRET_KEYS, config_notes, describe_config

__all__ = [
    "CREDENTIAL_KEYS",
    "EVENT_FAMILIES",
    "FEED_POLL_FLOOR_SECONDS",
    "REQUIRED_KEYS",
    "SECRET_KEYS",
    "AlertsConfig",
    "BindingConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "DiscordConfig",
    "FeedConfig",
    "GroupConfig",
    "LoggingConfig",
    "Problem",
    "VRChatConfig",
    "apply_env_overrides",
    "config_notes",
    "describe_config",
    "env_var_name",
    "load_config",
    "load_config_text",
    "mask_database_url",
]
