"""A runaway-moderator alert cut short by SIGKILL, twice: after the episode is recorded but before
anything is posted, and after the post but before it is marked sent. After each restart the alert
is in the channel exactly once."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from bot.crashpoints import ENV_VAR
from bot.sandbox.discord import StandInMessage
from bot.sandbox.world import MOD_ROLE_ID, REQUESTS_CHANNEL_ID, BotProcess, SandboxWorld, WorldSettings

# SIGKILLs the real bot process between detecting and posting an alert.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

ALERTS = f"""
[bindings.alerts]
max_bans = 3
ping_role_id = {MOD_ROLE_ID}
"""


def alerts(world: SandboxWorld) -> list[StandInMessage]:
    return [
        m
        for m in world.public_messages(REQUESTS_CHANNEL_ID)
        if m.embeds and "Runaway moderator alert" in str(m.embeds[0].get("title"))
    ]


def who_field(message: StandInMessage) -> str:
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    return str(fields["Who"]).replace("\\", "")  # markdown escapes out


def states(world: SandboxWorld) -> list[str]:
    """The alerts' delivery states, read from the bot's database while it runs."""
    # closing(): `with connect()` alone ends a transaction but never closes (a ResourceWarning on 3.13).
    with contextlib.closing(sqlite3.connect(f"file:{world.database_path}?mode=ro", uri=True)) as db:
        return [row[0] for row in db.execute("SELECT state FROM moderator_alerts ORDER BY id")]


def spree(world: SandboxWorld, actor_id: str, count: int, prefix: str) -> None:
    state, group = world.sim.state, world.community.group.id
    for n in range(count):
        victim = state.add_user(f"{prefix} {n}")
        state.add_member(group, victim.id)
        state.ban(group, victim.id, actor_id)


async def crash_at(world: SandboxWorld, bot: BotProcess, point: str, actor_id: str, prefix: str) -> None:
    said = f"crash point {point} reached"
    before = bot.log().count(said)
    await bot.start(env={ENV_VAR: f"{point}:1"})
    spree(world, actor_id, 5, prefix)
    assert await bot.wait_exit(60) == -9, bot.log()[-3000:]
    assert bot.log().count(said) == before + 1


async def test_an_alert_cut_short_by_a_crash_is_posted_exactly_once(tmp_path: Path) -> None:
    settings = WorldSettings(poll_interval=0.5, extra_config=ALERTS)
    async with SandboxWorld(tmp_path, settings) as world:
        world.discord.state.allowed_ping_roles = frozenset({MOD_ROLE_ID})
        aiko, fern = world.community.members[0].id, world.community.members[-1].id
        bot = world.bot_process()

        await crash_at(world, bot, "watchdog.after_detect", aiko, "Raided")
        assert states(world) == ["pending"] and alerts(world) == []  # recorded, never posted

        await bot.start()
        await world.wait_for(lambda: len(alerts(world)) == 1, "the recorded alert posted", 60, process=bot)
        await world.wait_for(lambda: states(world) == ["sent"], "the alert marked sent", 30, process=bot)
        assert await bot.stop() == 0

        await crash_at(world, bot, "watchdog.after_send", fern, "Swept")
        assert states(world) == ["sent", "sending"] and len(alerts(world)) == 2  # posted, not marked

        await bot.start()
        await world.wait_for(
            lambda: states(world) == ["sent", "sent"], "the posted alert marked sent", 60, process=bot
        )
        assert await bot.stop() == 0

        posted = alerts(world)
        assert len(posted) == 2, [m.content for m in posted]
        who = [m.content for m in posted]
        assert all(text.startswith(f"<@&{MOD_ROLE_ID}> Possible runaway moderator") for text in who)
        assert aiko in who_field(posted[0]) and fern in who_field(posted[1])
        assert not [v for v in world.discord.violations if "mention" in v], world.discord.violations
