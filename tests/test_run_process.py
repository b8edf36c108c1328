"""`groupbridge run` as a real process: config bindings, VRChat simulator in, Discord stand-in out."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from bot.sandbox.discord import DiscordStandIn
from tests.feed.conftest import seed_history
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_standin import FEED_CHANNEL_ID, GUILD_ID, TOKEN
from tests.fixtures.vrchat_sim import SeededSim

TOP_LEVEL_COMMANDS = {"vrc", "bridge", "audit", "rolesync", "link", "unlink", "whois"}

# `groupbridge run` as a real process.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]


def write_config(seeded: SeededSim, standin: DiscordStandIn, tmp_path: Path) -> Path:
    """The seeded group bound to the feed channel; the bot pointed at the stand-in; the last three
    entries of the log posted when it starts."""
    path = tmp_path / "config.toml"
    text = config_toml(
        seeded,
        tmp_path,
        discord={"api_base_url": standin.base_url, "gateway_url": standin.gateway_url},
        feed={"backfill": "last", "backfill_count": 3, "post_backfill": True},
        groups=[{"id": seeded.group.id}],
        bindings=[{"group_id": seeded.group.id, "guild_id": GUILD_ID, "feed_channel_id": FEED_CHANNEL_ID}],
    )
    path.write_text(text, encoding="utf-8")
    return path


async def test_run_mirrors_the_feed_and_stops_cleanly_on_sigterm(
    seeded_sim: SeededSim, gateway_standin: DiscordStandIn, tmp_path: Path
) -> None:
    discord_standin = gateway_standin
    history = seed_history(seeded_sim, 10)
    config = write_config(seeded_sim, discord_standin, tmp_path)
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as stderr:  # a file, not a pipe: a chatty child can never block on it
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "-c",
            str(config),
            stderr=stderr,
            # The lease hand-back is logged at DEBUG: the operator's log says only "Stopped."
            env={**os.environ, "GROUPBRIDGE_LOGGING__LEVEL": "DEBUG"},
        )
        try:
            async with asyncio.timeout(30):
                # Polling what the stand-in received: the child process cannot set an Event here.
                while sum(len(m.embeds) for m in discord_standin.messages(FEED_CHANNEL_ID)) < 3:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = log_path.read_text()
    assert proc.returncode == 0, log
    # A clean stop gives its leases back; that is not a loss and logs nothing above INFO.
    problems = re.compile(r" (?:ERROR|CRITICAL) | WARNING +bot\.")
    assert [line for line in log.splitlines() if problems.search(line)] == []
    assert "Released" in log and "lease(s)" in log
    footers = [e["footer"]["text"] for m in discord_standin.messages(FEED_CHANNEL_ID) for e in m.embeds]
    assert [f.split(" ")[0].replace("\\", "") for f in footers] == history[-3:]
    assert "Audit-log mirror running for 1 group" in log
    assert "setup plugin" not in log  # alembic's own start-up chatter is no news for operators
    synced = {c["name"] for c in gateway_standin.synced_commands(GUILD_ID)}
    assert synced == TOP_LEVEL_COMMANDS  # synced to the configured guild on start
    for secret in (seeded_sim.password, seeded_sim.totp_secret, TOKEN):
        assert secret not in log
    assert seeded_sim.sim.password_logins == 1


async def test_sync_registers_the_commands_and_exits(
    seeded_sim: SeededSim, gateway_standin: DiscordStandIn, tmp_path: Path, capsys
) -> None:
    from bot import app
    from bot.config import load_config

    config = load_config(write_config(seeded_sim, gateway_standin, tmp_path))
    assert await app.sync_commands(config) == 0
    synced = {c["name"]: c for c in gateway_standin.synced_commands(GUILD_ID)}
    assert set(synced) == TOP_LEVEL_COMMANDS
    vrc = {option["name"] for option in synced["vrc"]["options"]}
    assert {"invite", "requests", "post", "posts", "kick", "ban", "unban"} <= vrc
    assert synced["bridge"]["default_member_permissions"] == "32"  # Manage Server: hidden from others
    synced_line = "Synced /vrc, /bridge, /audit, /rolesync, /link, /unlink, /whois to 1 server(s)."
    assert synced_line in capsys.readouterr().out
