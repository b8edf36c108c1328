"""A ban setting config.toml changes at a start moves the server's Discord audit mark, as `/bridge
bans` does (bot.banbridge.catch_up): bans made while the old setting held are not caught up under the
new one. A start that changes nothing leaves the mark alone."""

from __future__ import annotations

from pathlib import Path

from bot.startup import open_store
from tests.fixtures.configs import config_toml, load_config_text
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, GUILD_ID
from tests.fixtures.vrchat_sim import SeededSim


async def test_a_changed_setting_moves_the_mark_and_an_unchanged_one_does_not(
    seeded_sim: SeededSim, tmp_path: Path
) -> None:
    binding = {"group_id": seeded_sim.group.id, "guild_id": GUILD_ID, "feed_channel_id": FEED_CHANNEL_ID}
    config = load_config_text(config_toml(seeded_sim, tmp_path, bindings=[{**binding, "discord_ban": "off"}]))
    store = await open_store(config)
    try:
        first = await store.audit_mark(GUILD_ID)
    finally:
        await store.close()
    assert first is not None  # "prompt" (the default) became "off"
    store = await open_store(config)  # the same setting again: nothing to move it for
    try:
        assert await store.audit_mark(GUILD_ID) == first
    finally:
        await store.close()
