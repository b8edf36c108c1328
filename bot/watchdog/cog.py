"""`/bridge alerts show|set|off` (Manage Server), the alert buttons, and the watchdog loop.

Thin: bot.watchdog.service decides and checks on every call; this turns its answers into ephemeral
replies. Loaded from bot.bot.install_commands as a discord.py extension.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.text import safe_text
from bot.views.context import actor_of
from bot.views.group_option import LINKED_GROUP_HELP, group_option
from bot.views.reply import send_ephemeral

from .loop import WatchdogLoop
from .service import AlertChanges
from .settings import DEFAULTS, EffectiveAlerts
from .views import DismissButton, KillSwitchButton

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction


def settings_text(label: str, alerts: EffectiveAlerts | None) -> str:
    if alerts is None:
        return (
            f"Alerts on runaway moderators are off for {label}. `/bridge alerts set` turns them on "
            f"(defaults: more than {DEFAULTS.max_kicks} kicks, {DEFAULTS.max_bans} bans or "
            f"{DEFAULTS.max_role_removals} role removals by one actor within {DEFAULTS.window_minutes} min)."
        )
    r = alerts.record
    ping = f"<@&{r.ping_role_id}>" if r.ping_role_id else "nobody"
    return (
        f"Alerts on runaway moderators for {label} are on.\n"
        f"• An alert when one actor does more than {r.max_kicks} kicks, {r.max_bans} bans or "
        f"{r.max_role_removals} role removals within {r.window_minutes} minutes\n"
        f"• Posted in <#{alerts.channel_id}>, pinging {ping}\n"
        f"• Automatic kill switch: {'on' if r.auto_kill_switch else 'off'}"
    )


@app_commands.command(name="show", description="The thresholds for alerts on runaway moderators")
@group_option(LINKED_GROUP_HELP)
async def show(interaction: Interaction, group: str | None = None) -> None:
    bot = interaction.client
    binding, alerts = await bot.watchdog.show(actor_of(interaction), interaction.guild_id or 0, group)
    label = safe_text(bot.services.access.group_label(binding.group_id), 100, single_line=True)
    await send_ephemeral(interaction, settings_text(label, alerts))


@app_commands.command(name="set", description="Turn on or change alerts on runaway moderators")
@app_commands.describe(
    window_minutes="Counting window in minutes",
    max_kicks="Alert when one actor kicks more than this within the window",
    max_bans="Alert when one actor bans more than this within the window",
    max_role_removals="Alert when one actor removes more roles than this within the window",
    channel="Where alerts go (default: the requests channel)",
    ping_role="The one role an alert pings",
    no_ping="Ping nobody",
    auto_kill_switch="Remove the actor's group roles automatically (never the group owner's)",
)
@group_option(LINKED_GROUP_HELP)
async def set_alerts(
    interaction: Interaction,
    window_minutes: app_commands.Range[int, 1, 1440] | None = None,
    max_kicks: app_commands.Range[int, 1, 10000] | None = None,
    max_bans: app_commands.Range[int, 1, 10000] | None = None,
    max_role_removals: app_commands.Range[int, 1, 10000] | None = None,
    channel: discord.TextChannel | None = None,
    ping_role: discord.Role | None = None,
    no_ping: bool = False,
    auto_kill_switch: bool | None = None,
    group: str | None = None,
) -> None:
    bot = interaction.client
    changes = AlertChanges(
        window_minutes=window_minutes,
        max_kicks=max_kicks,
        max_bans=max_bans,
        max_role_removals=max_role_removals,
        alert_channel_id=channel.id if channel is not None else None,
        ping_role_id=ping_role.id if ping_role is not None else None,
        clear_ping_role=no_ping,
        auto_kill_switch=auto_kill_switch,
    )
    alerts = await bot.watchdog.configure(actor_of(interaction), interaction.guild_id or 0, group, changes)
    label = safe_text(bot.services.access.group_label(alerts.binding.group_id), 100, single_line=True)
    await send_ephemeral(interaction, settings_text(label, alerts))


@app_commands.command(name="off", description="Turn off alerts on runaway moderators")
@group_option(LINKED_GROUP_HELP)
async def off(interaction: Interaction, group: str | None = None) -> None:
    bot = interaction.client
    binding = await bot.watchdog.turn_off(actor_of(interaction), interaction.guild_id or 0, group)
    label = safe_text(bot.services.access.group_label(binding.group_id), 100, single_line=True)
    await send_ephemeral(interaction, f"Alerts on runaway moderators are off for {label}.")


class Watchdog(commands.Cog):
    """Runs the watchdog loop where this process does background work."""

    def __init__(self, bot: GroupBridgeBot) -> None:
        self.bot = bot
        self.loop = WatchdogLoop(bot)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if self.bot.run_feed:
            self._task = asyncio.create_task(self.loop.run(self._stop), name="watchdog")

    async def cog_unload(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def setup(bot: GroupBridgeBot) -> None:
    alerts = app_commands.Group(
        name="alerts", description="Alerts on runaway moderators", parent=bot.groups.bridge
    )
    subcommands: tuple[app_commands.Command[Any, ..., None], ...] = (show, set_alerts, off)
    for command in subcommands:
        alerts.add_command(command)
    bot.add_dynamic_items(KillSwitchButton, DismissButton)
    await bot.add_cog(Watchdog(bot))


async def teardown(bot: GroupBridgeBot) -> None:
    bot.remove_dynamic_items(KillSwitchButton, DismissButton)
