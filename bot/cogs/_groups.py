"""The top-level command groups, shared by the feature modules that add subcommands to them."""

from __future__ import annotations

from dataclasses import dataclass

import discord
from discord import app_commands

from bot.text import plain_label
from bot.views.context import actor_of, services_of


@dataclass(frozen=True)
class CommandGroups:
    """Made per bot instance: feature modules add their subcommands in their setup()."""

    vrc: app_commands.Group
    bridge: app_commands.Group
    audit: app_commands.Group

    def all(self) -> tuple[app_commands.Group, ...]:
        return (self.vrc, self.bridge, self.audit)


def make_groups() -> CommandGroups:
    return CommandGroups(
        vrc=app_commands.Group(name="vrc", description="VRChat group moderation", guild_only=True),
        bridge=app_commands.Group(
            name="bridge",
            description="Link this server to a VRChat group",
            guild_only=True,
            # Hides the commands from others in the client; every command checks again when it runs.
            default_permissions=discord.Permissions(manage_guild=True),
        ),
        audit=app_commands.Group(name="audit", description="The group's mirrored audit log", guild_only=True),
    )


async def group_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The VRChat groups this server is linked to."""
    if interaction.guild_id is None:
        return []
    services = services_of(interaction)
    bindings = await services.access.groups_of_guild(interaction.guild_id)
    seen: dict[str, str] = {}
    for binding in bindings:
        seen.setdefault(binding.group_id, services.access.group_label(binding.group_id))
    needle = current.casefold()
    return [
        app_commands.Choice(name=plain_label(label), value=group_id)
        for group_id, label in seen.items()
        if needle in label.casefold() or needle in group_id
    ][:25]


async def chosen_group(interaction: discord.Interaction, group: str | None) -> str:
    """The group named in the command, or the server's only linked group."""
    services = services_of(interaction)
    if group:
        return group.strip()
    return await services.access.default_group(actor_of(interaction))
