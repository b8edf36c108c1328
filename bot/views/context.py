"""From a Discord interaction to what the services need: who is acting, and the services themselves."""

from __future__ import annotations

from typing import TypeGuard

import discord

from bot.bot import GroupBridgeBot, Interaction
from bot.services.registry import Actor, Services


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


def services_of(interaction: Interaction) -> Services:
    return interaction.client.services


def _reached_this_bot(interaction: discord.Interaction) -> TypeGuard[Interaction]:
    return isinstance(interaction.client, GroupBridgeBot)


def bridge_interaction(interaction: discord.Interaction) -> Interaction:
    """The interaction as this bot's. Slash commands, autocomplete and decorated buttons are typed
    `Interaction` already; discord.py types the methods a View, Modal or
    DynamicItem overrides (callback, on_submit) for any client, so those narrow here, checked."""
    if _reached_this_bot(interaction):
        return interaction
    raise TypeError(f"an interaction of {type(interaction.client).__name__}, not of a GroupBridgeBot")
