"""`/vrc profile show` and `/vrc profile set`: the bot account's own VRChat profile (admins only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.services.registry import BotProfile
from bot.text import fit_embed, safe_text
from bot.views.context import actor_of, services_of
from bot.views.reply import send_ephemeral
from bot.vrchat.models import UserStatus

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

STATUS_CHOICES = [app_commands.Choice(name=s.value, value=s.value) for s in UserStatus]


def profile_embed(profile: BotProfile, title: str) -> discord.Embed:
    embed = discord.Embed(
        title=f"{title}: {safe_text(profile.display_name, 150, single_line=True)}",
        url=profile.profile_url,
        colour=discord.Colour.blurple(),
    )
    embed.add_field(name="Status", value=safe_text(profile.status or "unknown", 40, single_line=True))
    embed.add_field(
        name="Status description", value=safe_text(profile.status_description or "—", 100, single_line=True)
    )
    embed.add_field(name="Pronouns", value=safe_text(profile.pronouns or "—", 100, single_line=True))
    links = "\n".join(safe_text(link, 300, single_line=True) for link in profile.bio_links)
    embed.add_field(name="Bio links", value=links or "—", inline=False)
    embed.add_field(name="Bio", value=safe_text(profile.bio or "—", 1000), inline=False)
    embed.set_footer(text=profile.user_id)
    return fit_embed(embed)


async def _reply(interaction: Interaction, embed: discord.Embed, content: str | None = None) -> None:
    await send_ephemeral(interaction, content, embed=embed)


@app_commands.command(name="show", description="Show the bot account's VRChat profile")
async def show(interaction: Interaction) -> None:
    services = services_of(interaction)
    actor = actor_of(interaction)
    services.access.require_admin(actor)  # refused before anything is asked of VRChat
    await interaction.response.defer(ephemeral=True, thinking=True)
    profile = await services.profile.show(actor)
    await _reply(interaction, profile_embed(profile, "Bot profile"))


@app_commands.command(name="set", description="Change the bot account's VRChat profile")
@app_commands.describe(
    status="The account's status",
    status_description="A one-line status text (up to 32 characters)",
    bio="The profile's bio (up to 512 characters)",
    bio_links="Up to 3 http(s) links, separated by commas",
    pronouns="Pronouns (up to 32 characters)",
)
@app_commands.choices(status=STATUS_CHOICES)
async def set_profile(
    interaction: Interaction,
    status: app_commands.Choice[str] | None = None,
    status_description: str | None = None,
    bio: str | None = None,
    bio_links: str | None = None,
    pronouns: str | None = None,
) -> None:
    services = services_of(interaction)
    actor = actor_of(interaction)
    services.access.require_admin(actor)
    await interaction.response.defer(ephemeral=True, thinking=True)
    profile = await services.profile.set(
        actor,
        status=status.value if status is not None else None,
        status_description=status_description,
        bio=bio,
        bio_links=bio_links,
        pronouns=pronouns,
    )
    await _reply(interaction, profile_embed(profile, "Updated"), "The bot's VRChat profile was updated.")


async def setup(bot: GroupBridgeBot) -> None:
    group = app_commands.Group(
        name="profile", description="The bot account's VRChat profile", parent=bot.groups.vrc
    )
    group.add_command(show)
    group.add_command(set_profile)
