"""The age-gate report and its Close button.

The button is a DynamicItem whose custom_id carries only the report's row id (`gb:inst:close:<id>`;
an instance's location is too long for a custom_id), so a click works after any restart. The click
is checked again (a moderator of that group's binding in this server), then confirmed, then closed.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import discord

from bot.instances.age_gate import Finding
from bot.requests.cards import with_outcome
from bot.services.common import Actor
from bot.text import safe_text
from bot.views.base import RowButton
from bot.views.confirm import confirm_then
from bot.views.context import actor_of
from bot.views.reply import NO_MENTIONS
from bot.vrchat.ids import launch_url

if TYPE_CHECKING:
    from bot.bot import Interaction

REPORT_COLOUR = discord.Colour.orange()
CLOSED_COLOUR = discord.Colour.dark_grey()


def report_embed(finding: Finding, group_name: str) -> discord.Embed:
    report = finding.report
    world_id, _, instance_id = report.location.partition(":")
    titles = {
        "report": "Group instance without an age gate",
        "closed": "Closed: a group instance without an age gate",
        "close_failed": "Group instance without an age gate (could not close it)",
    }
    embed = discord.Embed(
        title=titles[finding.kind],
        colour=CLOSED_COLOUR if finding.kind == "closed" else REPORT_COLOUR,
        timestamp=report.created_at,
    )
    embed.add_field(name="World", value=safe_text(report.world_name, 200, single_line=True))
    embed.add_field(name="Group", value=safe_text(group_name, 200, single_line=True))
    if finding.members is not None:
        embed.add_field(name="In it", value=str(finding.members))
    link = launch_url(world_id, instance_id)
    embed.add_field(
        name="Instance",
        value=f"[{safe_text(instance_id, 300)}]({link})" if link else safe_text(report.location, 500),
        inline=False,
    )
    if finding.kind == "closed":
        embed.description = "Closed automatically by this server's age-gate policy."
    elif finding.kind == "close_failed":
        embed.description = f"The age-gate policy could not close it: {safe_text(finding.error or '?', 300)}"
    else:
        embed.description = "This server's age-gate policy asks for age-gated group instances."
    embed.set_footer(text=f"report {report.id}")
    return embed


def close_view(report_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CloseButton(report_id))
    return view


class CloseButton(RowButton, prefix="gb:inst:close:", label="Close", style=discord.ButtonStyle.danger):
    """On the age-gate report; `row_id` is the report's."""

    async def clicked(self, interaction: Interaction) -> None:
        card = interaction.message
        service = interaction.client.instances
        # Refused before asking: someone who may not close is never shown a confirmation.
        report = await service.reported(actor_of(interaction), self.row_id)
        world = safe_text(report.world_name, 100, single_line=True)

        async def work(clicker: Actor) -> str:
            outcome = await service.close_reported(clicker, self.row_id)
            await _close_card(
                card, f"**Closed** by {safe_text(clicker.name, 100, single_line=True)} via Discord"
            )
            return safe_text(outcome.message, 1900)

        await confirm_then(
            interaction, f"Close the group instance of {world} now? Everyone in it leaves.", "Close", work
        )


async def _close_card(message: discord.Message | None, line: str) -> None:
    if message is None:
        return
    embeds = [discord.Embed.from_dict(e.to_dict()) for e in message.embeds]
    if embeds:
        embeds[0].colour = CLOSED_COLOUR
        with_outcome(embeds[0], line)
    with contextlib.suppress(discord.HTTPException):
        await message.edit(embeds=embeds, view=None, allowed_mentions=NO_MENTIONS)
