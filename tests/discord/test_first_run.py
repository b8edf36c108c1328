"""A first run that explains itself: what `groupbridge sync` and a start of the real bot log, on the
VRChat simulator and the Discord stand-in."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.sandbox.discord import DiscordStandIn
from tests.fixtures.discord_standin import GUILD_ID
from tests.fixtures.logs import SecretLogCapture
from tests.fixtures.vrchat_sim import SeededSim
from tests.test_run_process import write_config


async def test_sync_logs_no_warning_about_the_guilds_intent(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    tmp_path: Path,
    secret_log_capture: SecretLogCapture,
) -> None:
    from bot import app

    config = load_config(write_config(seeded_sim, gateway_standin, tmp_path))
    assert await app.sync_commands(config) == 0
    assert gateway_standin.synced_commands(GUILD_ID)  # it did sync
    warnings = [r.getMessage() for r in secret_log_capture.records if r.levelname == "WARNING"]
    assert not [w for w in warnings if "intent" in w.lower()], warnings
