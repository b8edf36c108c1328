"""The Verify button under a link code, and the texts around it.

The button is a DynamicItem whose custom_id carries only the code's row id (`gb:link:verify:<id>`):
nothing secret, and a click works after a restart with no lookup table. Whoever clicks is checked
again by the service: only the Discord user the code was issued to can use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.links.service import IssuedCode, LinkService, discord_time
from bot.store import LinkChange
from bot.text import profile_link
from bot.views.base import RowButton
from bot.views.context import actor_of, bridge_interaction
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import Interaction


def links_of(interaction: discord.Interaction) -> LinkService:
    return bridge_interaction(interaction).client.links


vrchat_user = profile_link  # the name bot.links.cog imports


def code_text(issued: IssuedCode) -> str:
    user = vrchat_user(issued.vrchat_user_id)
    return (
        f"Your link code: `{issued.code}`\n"
        f"1. Put it in the bio or the status description of {user} (on vrchat.com or in VRChat: "
        "your profile, Edit).\n"
        f"2. Press **Verify** before {discord_time(issued.expires_at, 't')} "
        f"({discord_time(issued.expires_at)}).\n"
        "The code links this Discord account, and only to that VRChat account. Never put a code someone "
        "else gave you in your bio: it would link their Discord account to you. After linking you can "
        "remove it."
    )


def linked_text(change: LinkChange) -> str:
    link = change.link
    account = vrchat_user(link.vrchat_user_id)
    lines = [
        f"Linked: your Discord account is now linked to the VRChat account {account}. "
        "You can remove the code from your bio or status now."
    ]
    for old in change.replaced:
        if old.discord_user_id == link.discord_user_id:
            lines.append(f"Your earlier link to {vrchat_user(old.vrchat_user_id)} was replaced.")
        else:
            lines.append("That VRChat account's earlier link to another Discord account was replaced.")
    return "\n".join(lines)


class VerifyButton(RowButton, prefix="gb:link:verify:", label="Verify", style=discord.ButtonStyle.success):
    """Under the link code; `row_id` is the code's."""

    async def clicked(self, interaction: Interaction) -> None:
        # VRChat may take a few seconds; the refusals that need no VRChat come just as quickly.
        await interaction.response.defer(ephemeral=True, thinking=True)
        change = await links_of(interaction).verify(actor_of(interaction), self.row_id)
        await send_ephemeral(interaction, linked_text(change))


def verify_view(code_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(VerifyButton(code_id))
    return view
