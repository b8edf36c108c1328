"""What the bot loads and how the features plug in: the slash-command groups they fill, the feature
packages loaded as discord.py extensions, and the hook through which a feature adds to /bridge status.

Below bot.bot (which imports this module, never the feature packages): extensions load by name.
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass
from typing import Protocol

import discord
from discord import app_commands
from discord.ext import commands

import bot.cogs as bot_cogs

# The feature packages outside bot/cogs that add subcommands to the groups: loaded before the groups go
# onto the tree. /bridge bans, /vrc history and note, /vrc instances, /bridge alerts (and its loop),
# /vrc requests (and the cards), /rolesync (and its loop).
FEATURES_IN_GROUPS = (
    "bot.banbridge.cog",
    "bot.desk.cog",
    "bot.instances.cog",
    "bot.watchdog.cog",
    "bot.requests.cog",
    "bot.roles.cog",
)
# Feature packages with top-level commands (/link, /whois): loaded after the groups, so those stay first.
FEATURES_AFTER_GROUPS = ("bot.links.cog",)


@dataclass(frozen=True)
class CommandGroups:
    """The top-level slash-command groups, made per bot instance: each cog adds its subcommands to
    them in its setup()."""

    vrc: app_commands.Group
    bridge: app_commands.Group
    audit: app_commands.Group
    # Its own group: under /bridge it took that command past Discord's 4,000 characters per command.
    rolesync: app_commands.Group

    def all(self) -> tuple[app_commands.Group, ...]:
        return (self.vrc, self.bridge, self.audit, self.rolesync)


def make_groups() -> CommandGroups:
    return CommandGroups(
        vrc=app_commands.Group(name="vrc", description="VRChat group moderation", guild_only=True),
        bridge=_admin_group("bridge", "Link this server to a VRChat group"),
        audit=app_commands.Group(name="audit", description="The group's mirrored audit log", guild_only=True),
        rolesync=_admin_group("rolesync", "Sync VRChat group roles and Discord roles"),
    )


def _admin_group(name: str, description: str) -> app_commands.Group:
    return app_commands.Group(
        name=name,
        description=description,
        guild_only=True,
        # Hides the commands from others in the client; every command checks again when it runs.
        default_permissions=discord.Permissions(manage_guild=True),
    )


class StatusContributor(Protocol):
    """A feature's part of /bridge status: one field, asked only while the database answers (the
    status must answer exactly when it does not). A feature adds itself to the bot's
    `status_contributors` when it loads and removes itself when it unloads."""

    @property
    def status_title(self) -> str:
        """The field's name, e.g. "Role sync"."""
        ...

    async def status_text(self, guild_id: int) -> str | None:
        """The field's text for this server; None leaves the field out."""
        ...


async def load_features(bot: commands.Bot, groups: CommandGroups) -> None:
    """Load every cog under bot/cogs (helpers start with "_") and the feature packages: each adds its
    commands to the command groups (and its restart-safe buttons); the groups go onto the tree between."""
    for module in pkgutil.iter_modules(bot_cogs.__path__, "bot.cogs."):
        if not module.name.rsplit(".", 1)[-1].startswith("_"):
            await bot.load_extension(module.name)
    for name in FEATURES_IN_GROUPS:
        await bot.load_extension(name)
    for group in groups.all():
        bot.tree.add_command(group)
    for name in FEATURES_AFTER_GROUPS:
        await bot.load_extension(name)
