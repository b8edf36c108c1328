"""Join requests in Discord: `/vrc requests` for those who prefer a list, the cards' buttons, and the
card rounds (bot.requests.loop) started and stopped with this extension (loaded by
bot.bot.install_commands).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.requests.loop import CardRounds
from bot.requests.views import REQUEST_BUTTONS
from bot.text import safe_text
from bot.views.context import actor_of, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

PAGE_SIZE = 10


class JoinRequests(commands.Cog):
    """The card rounds as a cog, so they start with the extension and stop with it."""

    def __init__(self, bot: GroupBridgeBot) -> None:
        self.rounds = CardRounds(bot)

    async def cog_load(self) -> None:
        await self.rounds.start()

    async def cog_unload(self) -> None:
        await self.rounds.stop()

    # A round on demand, for the tests (the loop runs them on its own).
    async def sync_cards(self, group_ids: Iterable[str] | None = None) -> int:
        return await self.rounds.sync_cards(group_ids)

    async def check_feed_events(self) -> bool:
        return await self.rounds.check_feed_events()


@app_commands.command(name="requests", description="List the pending join requests")
@app_commands.describe(page="Page number")
@group_option()
async def list_requests(
    interaction: Interaction,
    group: str | None = None,
    page: app_commands.Range[int, 1, 100] = 1,
) -> None:
    services = services_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services.access.require_moderator(actor_of(interaction), group_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    shown, has_more = await services.requests.pending(
        group_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    if not shown:
        await send_ephemeral(
            interaction, "No pending join requests." if page == 1 else "No more requests on that page."
        )
        return
    embed = discord.Embed(title=f"Pending join requests — page {page}", colour=discord.Colour.blurple())
    for request in shown:
        age = f"{request.account_age_days} days" if request.account_age_days is not None else "age unknown"
        adult = " · 18+" if request.adult else ""
        embed.add_field(
            name=safe_text(request.display_name, 100, single_line=True),
            value=f"{request.trust_rank} · {age}{adult} · [profile]({request.profile_url})",
            inline=False,
        )
    if has_more:
        embed.set_footer(text=f"More on page {page + 1}")
    await send_ephemeral(interaction, embed=embed)


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(list_requests)
    # The cards' buttons, restart-safe: a click on a card posted before this start still arrives.
    bot.add_dynamic_items(*REQUEST_BUTTONS)
    await bot.add_cog(JoinRequests(bot))
