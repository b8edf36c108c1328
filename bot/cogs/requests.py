"""Join requests: one card per pending request in the requests channel, kept in step with VRChat,
and `/vrc requests` for those who prefer a list."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._groups import chosen_group, group_autocomplete
from bot.replies import NO_MENTIONS
from bot.services.request_sync import CardChange
from bot.text import safe_text
from bot.views.cards import closed_card, request_card
from bot.views.context import actor_of, services_of
from bot.views.requests import card_view

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot

log = logging.getLogger(__name__)

CARD_POLL_SECONDS = 60.0
PAGE_SIZE = 10


class JoinRequests(commands.Cog):
    def __init__(self, bot: GroupBridgeBot) -> None:
        self.bot = bot
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def cog_load(self) -> None:
        if self.bot.run_feed:
            self._task = asyncio.create_task(self._loop(), name="request cards")

    async def cog_unload(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        await self.bot.wait_until_ready()
        while not self._stop.is_set():
            try:
                await self.sync_cards()
            except Exception:
                log.exception("Updating join-request cards failed; trying again later")
            delay = CARD_POLL_SECONDS * random.uniform(0.8, 1.2)  # jittered, never on a fixed clock
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def sync_cards(self) -> int:
        """One round for every linked group: post new cards, close those VRChat resolved."""
        services = self.bot.services
        done = 0
        for group_id in sorted({b.group_id for b in await self.bot.store.list_bindings()}):
            for change in await services.requests.reconcile(group_id):
                try:
                    await self.apply(change)
                    done += 1
                except discord.HTTPException as exc:
                    log.warning(
                        "Could not show join request %s in %s: %s", change.user_id, change.channel_id, exc
                    )
        return done

    async def apply(self, change: CardChange) -> None:
        channel = self.bot.get_partial_messageable(change.channel_id)
        if change.kind == "post" and change.view is not None:
            message = await channel.send(
                embed=request_card(change.view),
                view=card_view(change.group_id, change.user_id),
                allowed_mentions=NO_MENTIONS,
            )
            await self.bot.store.set_card_message(
                change.group_id, change.user_id, change.channel_id, message.id
            )
        elif change.kind == "update" and change.message_id:
            message = channel.get_partial_message(change.message_id)
            try:
                previous = (await message.fetch()).embeds[:1]
            except discord.NotFound:
                return  # someone deleted the card; nothing to edit
            await message.edit(
                embed=closed_card(change, previous[0] if previous else None),
                view=None,
                allowed_mentions=NO_MENTIONS,
            )


@app_commands.command(name="requests", description="List the pending join requests")
@app_commands.describe(
    group="The VRChat group (defaults to this server's only linked group)", page="Page number"
)
@app_commands.autocomplete(group=group_autocomplete)
async def list_requests(
    interaction: discord.Interaction, group: str | None = None, page: app_commands.Range[int, 1, 100] = 1
) -> None:
    services = services_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services.access.require_moderator(actor_of(interaction), group_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    views, has_more = await services.requests.pending(
        group_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    if not views:
        await interaction.followup.send(
            "No pending join requests." if page == 1 else "No more requests on that page.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return
    embed = discord.Embed(title=f"Pending join requests — page {page}", colour=discord.Colour.blurple())
    for view in views:
        age = f"{view.account_age_days} days" if view.account_age_days is not None else "age unknown"
        adult = " · 18+" if view.adult else ""
        embed.add_field(
            name=safe_text(view.display_name, 100, single_line=True),
            value=f"{view.trust_rank} · {age}{adult} · [profile]({view.profile_url})",
            inline=False,
        )
    if has_more:
        embed.set_footer(text=f"More on page {page + 1}")
    await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(list_requests)
    await bot.add_cog(JoinRequests(bot))
