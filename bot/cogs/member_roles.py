"""`/vrc role add|remove user role`, `/vrc roles user`: a member's group roles from Discord.

Thin: bot.services.member_roles checks who may, which roles may be handed out (management roles
only where the binding allows them), and keeps the action log that credits the moderator in the feed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from bot.cogs.invites import user_autocomplete
from bot.services.member_roles import MemberRoles
from bot.text import fit_embed, plain_label, safe_text
from bot.views.context import actor_of, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

USER_HELP = "A user ID (usr_…), a vrchat.com profile link, or a display name"


async def role_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The group's roles (management roles only where the binding allows them); nothing on errors."""
    try:
        group = getattr(interaction.namespace, "group", None)
        group_id = await chosen_group(interaction, group)
        roles = await services_of(interaction).member_roles.group_roles(
            actor_of(interaction), group_id, current
        )
    except Exception:  # autocomplete shows nothing rather than an error
        return []
    return [app_commands.Choice(name=plain_label(r.name), value=r.role_id) for r in roles]


async def _change(interaction: Interaction, action: str, user: str, role: str, group: str | None) -> None:
    services = services_of(interaction)
    actor = actor_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services.access.require_moderator(actor, group_id)  # refused before anything is looked up
    await interaction.response.defer(ephemeral=True, thinking=True)
    change = services.member_roles.add if action == "add" else services.member_roles.remove
    outcome = await change(actor, group_id, user, role)
    await send_ephemeral(interaction, safe_text(outcome.message, 1900))


ROLE_GROUP_HELP = "Give or take a member's VRChat group role"
F = TypeVar("F")


def _member_role_options(command: F) -> F:
    """The options of add and remove: the member, the role, the group (fresh per command)."""
    command = group_option()(command)
    command = app_commands.autocomplete(user=user_autocomplete, role=role_autocomplete)(command)
    return app_commands.describe(user=USER_HELP, role="The group role (pick from the list)")(command)


@app_commands.command(name="add", description="Give a group member a VRChat group role")
@_member_role_options
async def add(interaction: Interaction, user: str, role: str, group: str | None = None) -> None:
    await _change(interaction, "add", user, role, group)


@app_commands.command(name="remove", description="Take a VRChat group role from a group member")
@_member_role_options
async def remove(interaction: Interaction, user: str, role: str, group: str | None = None) -> None:
    await _change(interaction, "remove", user, role, group)


def roles_embed(found: MemberRoles) -> discord.Embed:
    embed = discord.Embed(
        title=f"Roles of {safe_text(found.display_name, 200, single_line=True)}",
        colour=discord.Colour.blurple(),
    )
    lines = [
        f"• {safe_text(r.name, 100, single_line=True)}{' (management)' if r.management else ''}"
        for r in found.roles
    ]
    if found.unknown_role_ids:
        lines.append(f"• {len(found.unknown_role_ids)} role(s) the group's role list does not show")
    embed.description = "\n".join(lines) or "No roles besides the group's default ones."
    embed.set_footer(text=f"{found.group_name} · {found.user_id}")
    return fit_embed(embed)


@app_commands.command(name="roles", description="A group member's VRChat group roles")
@app_commands.describe(user=USER_HELP)
@app_commands.autocomplete(user=user_autocomplete)
@group_option()
async def roles(interaction: Interaction, user: str, group: str | None = None) -> None:
    services = services_of(interaction)
    actor = actor_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services.access.require_moderator(actor, group_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    found = await services.member_roles.roles_of(actor, group_id, user)
    await send_ephemeral(interaction, embed=roles_embed(found))


async def setup(bot: GroupBridgeBot) -> None:
    # A group per bot: each bot's command tree owns its own copy.
    group = app_commands.Group(name="role", description=ROLE_GROUP_HELP)
    group.add_command(add)
    group.add_command(remove)
    bot.groups.vrc.add_command(group)
    bot.groups.vrc.add_command(roles)
