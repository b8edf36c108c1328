"""The `group` option of the commands: which VRChat group a command acts on. Autocomplete offers the
groups linked to the server; without the option, the server's only linked group. (Not the slash-command
groups /vrc, /bridge, /audit: those are bot.features.CommandGroups.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from discord import app_commands

from bot.text import plain_label
from bot.views.context import actor_of, services_of

if TYPE_CHECKING:
    from bot.bot import Interaction

F = TypeVar("F")  # a command's callback, or the command
GROUP_HELP = "The linked group (default: the server's only one)"
# The wording of the commands that configure a binding (rules, watchlist, role sync, alerts).
LINKED_GROUP_HELP = "Which of this server's linked groups (defaults to the only one)"


async def group_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
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


async def chosen_group(interaction: Interaction, group: str | None) -> str:
    """The group named in the command, or the server's only linked group."""
    services = services_of(interaction)
    if group:
        return group.strip()
    return await services.access.default_group(actor_of(interaction))


def group_option(description: str = GROUP_HELP) -> Callable[[F], F]:
    """The `group` option of a command: described, and autocompleted with the server's linked groups.
    Stacks with the command's own describe() and autocomplete() for its other options."""

    def decorate(command: F) -> F:
        # Fresh dicts per command: discord.py merges later decorators' options into the first one's.
        return app_commands.describe(group=description)(
            app_commands.autocomplete(group=group_autocomplete)(command)
        )

    return decorate
