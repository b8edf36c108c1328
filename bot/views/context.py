"""From a Discord interaction to what the services need: who is acting, and the services themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord

from bot.services import Actor

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot
    from bot.services import Services


def actor_of(interaction: discord.Interaction) -> Actor:
    """The clicker as they are right now: roles and Manage Server come with every interaction."""
    user = interaction.user
    roles = frozenset(r.id for r in getattr(user, "roles", ()) if not r.is_default())
    permissions = interaction.permissions
    return Actor(
        user_id=user.id,
        name=user.display_name,
        guild_id=interaction.guild_id,
        role_ids=roles,
        manage_guild=bool(interaction.guild_id and permissions.manage_guild),
    )


def services_of(interaction: discord.Interaction) -> Services:
    return cast("GroupBridgeBot", interaction.client).services
