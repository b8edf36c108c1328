"""What `config.toml` declares about Discord bans ([[bindings]] discord_ban, discord_kick,
ban_prompt_channel_id), applied once at start; apart from the live service (bot.banbridge.service)
because it runs before any service exists and reads the config, which nothing else here does."""

from __future__ import annotations

from bot.config import Config
from bot.store.feature_ports import BanSettings

CONFIG_AUTHOR = 0  # updated_by of a setting config.toml declared


async def apply_config_settings(store: BanSettings, config: Config) -> set[int]:
    """The [[bindings]] that declare discord_ban, discord_kick or ban_prompt_channel_id get them at
    start (what they leave out stays as /bridge bans set it). Returns the servers where what bans or
    kicks do changed: bans made there before must not be caught up under the new setting
    (bot.banbridge.catch_up)."""
    changed: set[int] = set()
    for declared in config.bindings:
        if (
            declared.discord_ban is None
            and declared.discord_kick is None
            and not declared.ban_prompt_channel_id
        ):
            continue
        for binding in await store.list_bindings(
            group_id=declared.group_id, channel_id=declared.feed_channel_id
        ):
            current = await store.ban_setting(binding.id)
            ban, kick = (
                declared.discord_ban or current.discord_ban,
                declared.discord_kick or current.discord_kick,
            )
            await store.set_ban_setting(
                binding.id,
                ban,
                declared.ban_prompt_channel_id or current.prompt_channel_id,
                by=CONFIG_AUTHOR,
                discord_kick=kick,
            )
            if (ban, kick) != (current.discord_ban, current.discord_kick):
                changed.add(binding.guild_id)
    return changed
