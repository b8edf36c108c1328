"""Embeds for join-request cards: what a moderator needs to decide, all user text made inert."""

from __future__ import annotations

import discord

from bot.services import JoinRequestView
from bot.services.request_sync import CardChange
from bot.text import safe_text

PENDING_COLOUR = discord.Colour.blurple()
OUTCOME_COLOURS = {
    "accepted": discord.Colour.green(),
    "rejected": discord.Colour.light_grey(),
    "blocked": discord.Colour.red(),
    "gone": discord.Colour.dark_grey(),
}


def request_card(view: JoinRequestView) -> discord.Embed:
    embed = discord.Embed(
        title=f"Join request: {safe_text(view.display_name, 200, single_line=True)}",
        url=view.profile_url,
        colour=PENDING_COLOUR,
        timestamp=view.requested_at,
    )
    if view.avatar_url and view.avatar_url.startswith("https://"):
        embed.set_thumbnail(url=view.avatar_url)
    age = f"{view.account_age_days} days" if view.account_age_days is not None else "unknown"
    embed.add_field(name="Account age", value=age)
    embed.add_field(name="Trust rank", value=view.trust_rank)
    if view.adult:  # only VRChat's exact "18+"
        embed.add_field(name="Age verified", value="18+")
    embed.add_field(
        name="Profile", value=f"[{safe_text(view.user_id, 60)}]({view.profile_url})", inline=False
    )
    if view.bio_excerpt:
        embed.add_field(name="Bio", value=safe_text(view.bio_excerpt, 400), inline=False)
    embed.set_footer(text=f"{view.group_id} · {view.user_id}")
    return embed


def closed_card(change: CardChange, previous: discord.Embed | None = None) -> discord.Embed:
    """The card after the request ended, however it ended: buttons go, the outcome is shown."""
    if previous is not None:
        embed = discord.Embed.from_dict(previous.to_dict())
        embed.colour = OUTCOME_COLOURS.get(change.state, discord.Colour.dark_grey())
    else:
        name = safe_text(change.display_name or change.user_id, 200, single_line=True)
        embed = discord.Embed(
            title=f"Join request: {name}",
            colour=OUTCOME_COLOURS.get(change.state, discord.Colour.dark_grey()),
        )
        embed.set_footer(text=f"{change.group_id} · {change.user_id}")
    embed.add_field(name="Outcome", value=safe_text(change.summary or change.state, 1000), inline=False)
    return embed
