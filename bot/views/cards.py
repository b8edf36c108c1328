"""Embeds for join-request cards: what a moderator needs to decide, all user text made inert."""

from __future__ import annotations

import discord

from bot.links.requesters import DiscordLink, card_line
from bot.services import JoinRequestView
from bot.services.request_sync import CardChange
from bot.services.request_views import GroupSummary
from bot.text import (
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_LIMIT,
    clip,
    fit_embed,
    safe_text,
    text_units,
)

PENDING_COLOUR = discord.Colour.blurple()
OUTCOME_COLOURS = {
    "accepted": discord.Colour.green(),
    "rejected": discord.Colour.light_grey(),
    "blocked": discord.Colour.red(),
    "gone": discord.Colour.dark_grey(),
}

WATCH_HITS_SHOWN = 3
OUTCOME = "Outcome"


def groups_text(groups: GroupSummary) -> str:
    """ "12 groups: A, B, C, …", or why there is nothing to show."""
    if not groups.available:
        return "groups unavailable"
    if groups.count == 0:
        return "none shown (the list may be private)"
    names = ", ".join(safe_text(n, 60, single_line=True) for n in groups.names)
    more = ", …" if groups.count > len(groups.names) else ""
    return f"{groups.count} group{'' if groups.count == 1 else 's'}: {names}{more}"


def watch_text(groups: GroupSummary) -> str:
    lines = []
    for hit in groups.hits[:WATCH_HITS_SHOWN]:  # 3 x ~250 units stays under a field's 1024
        note = f": {safe_text(hit.note, 150)}" if hit.note else ""
        name = safe_text(hit.name, 60, single_line=True)
        lines.append(f"• {name} ({safe_text(hit.group_id, 45)}){note}")
    if len(groups.hits) > WATCH_HITS_SHOWN:
        lines.append(f"… and {len(groups.hits) - WATCH_HITS_SHOWN} more")
    return "\n".join(lines)


def request_card(
    view: JoinRequestView,
    groups: GroupSummary | None = None,
    rule_note: str | None = None,
    state: str = "pending",
    discord_link: DiscordLink | None = None,
) -> discord.Embed:
    embed = discord.Embed(
        title=f"Join request: {safe_text(view.display_name, 200, single_line=True)}",
        url=view.profile_url,
        colour=OUTCOME_COLOURS.get(state, PENDING_COLOUR),
        timestamp=view.requested_at,
    )
    if view.avatar_url and view.avatar_url.startswith("https://"):
        embed.set_thumbnail(url=view.avatar_url)
    age = f"{view.account_age_days} days" if view.account_age_days is not None else "unknown"
    if view.profile_available:
        embed.add_field(name="Account age", value=age)
        embed.add_field(name="Trust rank", value=view.trust_rank)
    else:
        embed.add_field(name="Profile", value="unavailable (VRChat did not answer)")
    if view.adult:  # only VRChat's exact "18+"
        embed.add_field(name="Age verified", value="18+")
    embed.add_field(
        name="Profile", value=f"[{safe_text(view.user_id, 60)}]({view.profile_url})", inline=False
    )
    if view.bio_excerpt:
        embed.add_field(name="Bio", value=safe_text(view.bio_excerpt, 400), inline=False)
    if discord_link is not None:
        embed.add_field(name="Discord", value=card_line(discord_link), inline=False)
    if groups is not None:
        embed.add_field(name="Groups", value=groups_text(groups), inline=False)
        if groups.hits:
            embed.add_field(name="⚠️ On this server's watchlist", value=watch_text(groups), inline=False)
    if rule_note:
        embed.add_field(name="Rules", value=safe_text(rule_note, 1000), inline=False)
    embed.set_footer(text=f"{view.group_id} · {view.user_id}")
    return fit_embed(embed)


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
    return with_outcome(embed, safe_text(change.summary or change.state, 1000))


def with_outcome(card: discord.Embed, line: str) -> discord.Embed:
    """`card` (changed in place) with its outcome as the last field, within Discord's limits: a card
    already near them gives up its own last fields, never the outcome, to make room."""
    value = clip(line, FIELD_VALUE_LIMIT)
    fit_embed(card, EMBED_TOTAL_LIMIT - text_units(OUTCOME) - text_units(value))
    while len(card.fields) >= FIELDS_LIMIT:
        card.remove_field(len(card.fields) - 1)
    card.add_field(name=OUTCOME, value=value, inline=False)
    return card
