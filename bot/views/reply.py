"""Every reply and follow-up of the bot's commands and buttons: ephemeral, without mentions, within
Discord's limits. (Errors reach the user through bot.views.errors, which sends with this.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot.text import CONTENT_LIMIT, clip, fit_embeds

NO_MENTIONS = discord.AllowedMentions.none()


async def send_ephemeral(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    embeds: Sequence[discord.Embed] = (),
    **kwargs: Any,
) -> None:
    """Reply or follow up, whichever is still possible: always ephemeral, without mentions, and within
    Discord's limits whatever text it carries (content clipped to 2,000, the embeds fitted together).
    Every reply and follow-up of the bot's commands and buttons goes through here."""
    options: dict[str, Any] = {"ephemeral": True, "allowed_mentions": NO_MENTIONS, **kwargs}
    if content is not None:
        options["content"] = clip(content, CONTENT_LIMIT)
    fitted = fit_embeds([*([embed] if embed is not None else []), *embeds])
    if fitted:
        options["embeds"] = fitted
    if interaction.response.is_done():
        await interaction.followup.send(**options)
    else:
        await interaction.response.send_message(**options)
