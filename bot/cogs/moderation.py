"""`/vrc kick`, `/vrc ban`, `/vrc unban`: each with a reason, a confirmation, and an action-log entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from discord import app_commands

from bot.cogs.invites import user_autocomplete
from bot.services.registry import Actor, ModerationOutcome
from bot.text import safe_text
from bot.views.confirm import confirm_then
from bot.views.context import actor_of, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

Act = Callable[[Actor, str, str, str], Awaitable[ModerationOutcome]]


async def _confirm_then(
    interaction: Interaction,
    verb: str,
    user: str,
    group: str | None,
    reason: str,
    act: Act,
) -> None:
    services = services_of(interaction)
    actor = actor_of(interaction)
    group_id = await chosen_group(interaction, group)
    # Refuse before asking: a non-moderator never sees a confirmation, and nothing changes.
    await services.access.require_moderator(actor, group_id)
    if len(reason) > 512:
        await send_ephemeral(interaction, f"The reason is {len(reason)} characters long; the limit is 512.")
        return
    # A bad user reference is explained now, not after the moderator confirmed something impossible.
    await interaction.response.defer(ephemeral=True, thinking=True)
    user_id = await services.invites.resolve_user(user)
    shown = safe_text(user if user == user_id else f"{user} ({user_id})", 150, single_line=True)

    async def work(clicker: Actor) -> str:
        return safe_text((await act(clicker, group_id, user_id, reason)).message, 1900)

    await confirm_then(
        interaction,
        f"{verb.capitalize()} {shown}? Reason: {safe_text(reason or '—', 600)}",
        verb.capitalize(),
        work,
    )


def _command(verb: str, description: str, pick: Callable[[GroupBridgeBot], Act]) -> app_commands.Command:
    @app_commands.command(name=verb, description=description)
    @app_commands.describe(
        user="A user ID (usr_…), a vrchat.com profile link, or a display name",
        reason="Why (kept in the bot's action log)",
    )
    @app_commands.autocomplete(user=user_autocomplete)
    @group_option()
    async def command(
        interaction: Interaction,
        user: str,
        reason: str = "",
        group: str | None = None,
    ) -> None:
        await _confirm_then(interaction, verb, user, group, reason, pick(interaction.client))

    return command


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(
        _command("kick", "Remove a member from the group", lambda b: b.services.moderation.kick)
    )
    bot.groups.vrc.add_command(
        _command("ban", "Ban a user from the group", lambda b: b.services.moderation.ban)
    )
    bot.groups.vrc.add_command(_command("unban", "Lift a user's ban", lambda b: b.services.moderation.unban))
