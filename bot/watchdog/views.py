"""The alert's buttons: the kill switch ("Remove this moderator's group roles") and Dismiss.

DynamicItems whose custom_id carries only the alert's row id (`gb:alert:kill:<id>`), so they work
after a restart with no lookup table. Every click is checked again by the service (Manage Server in
the alert's server); the kill switch asks for a confirmation first, and checks again after it.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

import discord

from bot.services.common import Actor
from bot.store.moderator_alerts import ModeratorAlert
from bot.text import safe_text
from bot.views.base import RowButton
from bot.views.confirm import confirm_then
from bot.views.context import actor_of
from bot.views.reply import NO_MENTIONS, send_ephemeral

from .render import alert_embed

if TYPE_CHECKING:
    from bot.bot import Interaction

KILL_LABEL = "Remove this moderator's group roles"
ID_PATTERN = re.compile(r"gb:alert:(?:kill|dismiss):([0-9]{1,18})")


class KillSwitchButton(
    RowButton, prefix="gb:alert:kill:", label=KILL_LABEL, style=discord.ButtonStyle.danger
):
    """On the alert; `row_id` is the alert's."""

    async def clicked(self, interaction: Interaction) -> None:
        watchdog = interaction.client.watchdog
        alert_message = interaction.message  # the alert: after the confirmation, the click is the prompt
        # Refuse before asking: someone who may not use it is never shown a confirmation.
        alert, user_id = await watchdog.kill_target(actor_of(interaction), self.row_id)

        async def work(clicker: Actor) -> str:
            """The kill switch, then the alert shows its outcome (before the moderator reads "Removed").
            The permission is checked again inside: the clicker may have lost it while deciding."""
            result = await watchdog.kill_switch(clicker, alert.id)
            await refresh_alert_message(alert_message, await watchdog.alert(alert.id))
            return result.text

        await confirm_then(
            interaction,
            f"Remove every group role of {safe_text(user_id, 60)} in VRChat? They keep their "
            "membership; someone with the permission can give the roles back.",
            "Remove roles",
            work,
        )


class DismissButton(
    RowButton, prefix="gb:alert:dismiss:", label="Dismiss", style=discord.ButtonStyle.secondary
):
    """On the alert; `row_id` is the alert's."""

    async def clicked(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        alert = await interaction.client.watchdog.dismiss(actor_of(interaction), self.row_id)
        await refresh_alert_message(interaction.message, alert)
        await send_ephemeral(interaction, "Alert dismissed.")


def alert_view(alert: ModeratorAlert) -> discord.ui.View:
    """The buttons of an open alert; none once it is handled."""
    view = discord.ui.View(timeout=None)
    if alert.resolution is not None:
        return view
    view.add_item(KillSwitchButton(alert.id))
    view.add_item(DismissButton(alert.id))
    return view


async def refresh_alert_message(message: discord.Message | None, alert: ModeratorAlert | None) -> None:
    """Show the outcome on the alert and take its buttons away (best effort: it may be gone)."""
    if message is None or alert is None:
        return
    with contextlib.suppress(discord.HTTPException):
        await message.edit(
            embed=alert_embed(alert, None), view=alert_view(alert), allowed_mentions=NO_MENTIONS
        )


def alert_id_in(custom_id: str) -> int | None:
    match = ID_PATTERN.fullmatch(custom_id)
    return int(match.group(1)) if match else None


__all__ = [
    "DismissButton",
    "KillSwitchButton",
    "alert_id_in",
    "alert_view",
    "refresh_alert_message",
]
