"""`/vrc stats`: a chart of the group's joins, leaves, handled join requests and bans per day, with the
totals, from the mirrored audit log."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.charts import daily_chart
from bot.services.stats import DEFAULT_DAYS, MAX_DAYS, GroupStats
from bot.text import clip, fit_embed, safe_text
from bot.views.context import actor_of, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

CHART_FILE = "groupbridge-stats.png"
NAME_IN_TITLE = 60


def period(stats: GroupStats) -> str:
    days = len(stats.days)
    return "today (UTC)" if days == 1 else f"the last {days} days"


def chart_title(stats: GroupStats) -> str:
    # Drawn into the image, so no markdown escaping; only clipped so the date range stays visible.
    name = clip(" ".join(stats.group_name.split()), NAME_IN_TITLE)
    return f"{name} — {period(stats)} ({stats.first_day:%d %b} – {stats.last_day:%d %b %Y}, UTC)"


def chart_png(stats: GroupStats) -> bytes:
    return daily_chart(stats.days, {s.label: s.per_day for s in stats.series}, chart_title(stats))


def stats_embed(stats: GroupStats) -> discord.Embed:
    embed = discord.Embed(
        title=safe_text(f"{stats.group_name} — {period(stats)}", 200, single_line=True),
        description=(
            f"From {stats.first_day.isoformat()} to {stats.last_day.isoformat()} (UTC days, today "
            "so far included), counted from the audit log this bot has mirrored."
        ),
        colour=discord.Colour.blurple(),
    )
    for series in stats.series:
        embed.add_field(name=series.label, value=f"{series.total:,}")
    embed.set_image(url=f"attachment://{CHART_FILE}")
    return fit_embed(embed)


def nothing_text(stats: GroupStats) -> str:
    name = safe_text(stats.group_name, 100, single_line=True)
    return (
        f"Nothing to chart for {name} in {period(stats)}: no joins, leaves, handled join requests or "
        "bans in the audit log this bot has mirrored."
    )


@app_commands.command(name="stats", description="A chart of the group's joins, leaves, requests and bans")
@app_commands.describe(
    days=f"How many days back, today included (1–{MAX_DAYS}, default {DEFAULT_DAYS})",
)
@group_option()
async def stats(
    interaction: Interaction,
    days: app_commands.Range[int, 1, MAX_DAYS] = DEFAULT_DAYS,
    group: str | None = None,
) -> None:
    services = services_of(interaction)
    group_id = await chosen_group(interaction, group)
    # Checks permission and counts in one indexed query, well within the 3 s to answer.
    result = await services.stats.daily(actor_of(interaction), group_id, days)
    if result.total == 0:
        await send_ephemeral(interaction, nothing_text(result))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    png = await asyncio.to_thread(chart_png, result)  # tens of ms of drawing: not on the event loop
    await send_ephemeral(
        interaction, embed=stats_embed(result), file=discord.File(io.BytesIO(png), filename=CHART_FILE)
    )


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(stats)
