"""`/vrc invite`: invite a VRChat user by ID, profile link, or display name (autocomplete)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands

from bot.text import plain_label, safe_text
from bot.views.context import actor_of, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction


async def user_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    if len(current.strip()) < 2 or current.startswith(("usr_", "http")):
        return []  # an ID or a link needs no search
    suggestions = await services_of(interaction).invites.suggest(current)
    return [app_commands.Choice(name=plain_label(name), value=user_id) for name, user_id in suggestions[:25]]


@app_commands.command(name="invite", description="Invite a VRChat user to the group")
@app_commands.describe(
    user="A user ID (usr_…), a vrchat.com profile link, or a display name",
)
@app_commands.autocomplete(user=user_autocomplete)
@group_option()
async def invite(interaction: Interaction, user: str, group: str | None = None) -> None:
    services = services_of(interaction)
    group_id = await chosen_group(interaction, group)
    await interaction.response.defer(ephemeral=True, thinking=True)
    outcome = await services.invites.invite(actor_of(interaction), group_id, user)
    # Already a member / already invited / not allowed are explained, not reported as errors.
    # The message names the VRChat user: their display name is theirs to choose, "@everyone" included.
    await send_ephemeral(interaction, safe_text(outcome.message, 1900))


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(invite)
