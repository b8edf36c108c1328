"""GroupBridge configuration: ``config.toml`` plus ``GROUPBRIDGE_<SECTION>__<KEY>`` environment overrides.

from bot.config import load_config, ConfigError
config = load_config(Path("config.toml"))      # raises ConfigError listing every problem
config.vrchat.password.get_secret_value()
"""

from bot.config.loader import (
    REQUIRED_KEYS,
    SECRET_KEYS,
    ConfigError,
    Problem,
    apply_env_overrides,
    describe_config,
    load_config,
    load_config_text,
)
from bot.config.models import (
    EVENT_FAMILIES,
    FEED_POLL_FLOOR_SECONDS,
    BindingConfig,
    Config,
    DatabaseConfig,
    DiscordConfig,
    FeedConfig,
    GroupConfig,
    LoggingConfig,
    VRChatConfig,
    env_var_name,
    mask_database_url,
)

__all__ = [
    "EVENT_FAMILIES",
    "FEED_POLL_FLOOR_SECONDS",
    "REQUIRED_KEYS",
    "SECRET_KEYS",
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
    "describe_config",
    "env_var_name",
    "load_config",
    "load_config_text",
    "mask_database_url",
]
