"""How a join-request card looks, open and closed, and the one function that closes one: what a
moderator needs to decide, all user text made inert."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.desk.views import history_button
from bot.links.requesters import DiscordLink, card_line
from bot.requests.model import GroupSummary, JoinRequest
from bot.requests.reconcile import CardChange
from bot.services.common import Where
from bot.text import (
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_LIMIT,
    clip,
    fit_embed,
    safe_text,
    text_units,
)
from bot.views.reply import NO_MENTIONS

PENDING_COLOUR = discord.Colour.blurple()
OUTCOME_COLOURS = {
    "accepted": discord.Colour.green(),
    "rejected": discord.Colour.light_grey(),
    "blocked": discord.Colour.red(),
    "gone": discord.Colour.dark_grey(),
}

WATCH_HITS_SHOWN = 3
OUTCOME = "Outcome"
NAME_LIMIT = 100  # a display name in an outcome line
DECISION_PREFIX = "gb:jr:"  # the custom_ids of a card's decision buttons


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
    request: JoinRequest,
    groups: GroupSummary | None = None,
    rule_note: str | None = None,
    state: str = "pending",
    discord_link: DiscordLink | None = None,
) -> discord.Embed:
    embed = discord.Embed(
        title=f"Join request: {safe_text(request.display_name, 200, single_line=True)}",
        url=request.profile_url,
        colour=OUTCOME_COLOURS.get(state, PENDING_COLOUR),
        timestamp=request.requested_at,
    )
    if request.avatar_url and request.avatar_url.startswith("https://"):
        embed.set_thumbnail(url=request.avatar_url)
    age = f"{request.account_age_days} days" if request.account_age_days is not None else "unknown"
    if request.profile_available:
        embed.add_field(name="Account age", value=age)
        embed.add_field(name="Trust rank", value=request.trust_rank)
    else:
        embed.add_field(name="Profile", value="unavailable (VRChat did not answer)")
    if request.adult:  # only VRChat's exact "18+"
        embed.add_field(name="Age verified", value="18+")
    embed.add_field(
        name="Profile", value=f"[{safe_text(request.user_id, 60)}]({request.profile_url})", inline=False
    )
    if request.bio_excerpt:
        embed.add_field(name="Bio", value=safe_text(request.bio_excerpt, 400), inline=False)
    if discord_link is not None:
        embed.add_field(name="Discord", value=card_line(discord_link), inline=False)
    if groups is not None:
        embed.add_field(name="Groups", value=groups_text(groups), inline=False)
        if groups.hits:
            embed.add_field(name="⚠️ On this server's watchlist", value=watch_text(groups), inline=False)
    if rule_note:
        embed.add_field(name="Rules", value=safe_text(rule_note, 1000), inline=False)
    embed.set_footer(text=f"{request.group_id} · {request.user_id}")
    return fit_embed(embed)


@dataclass(frozen=True, slots=True)
class Closing:
    """How a request ended, for its cards: the same fields whoever closes them (a click, the reconcile
    round, a click that found the request decided already)."""

    group_id: str
    user_id: str
    display_name: str | None  # the requester, for a card rebuilt without its message's embed
    state: str  # accepted | rejected | blocked | gone
    by: str | None  # who ended it, when known: a moderator's or a rule's name, or VRChat's actor
    where: Where | None  # where they did it; None counts as VRChat

    @classmethod
    def of_change(cls, change: CardChange) -> Closing:
        return cls(
            change.group_id,
            change.user_id,
            change.display_name,
            change.state,
            change.handled_by,
            change.handled_where,
        )


def outcome_line(closing: Closing) -> str:
    """The closed card's last field: what happened, who did it and where (every name made inert)."""
    if closing.state == "gone":
        return "**No longer pending**: withdrawn or handled elsewhere"
    who = f" by {safe_text(closing.by, NAME_LIMIT, single_line=True)}" if closing.by else ""
    where = "via Discord" if closing.where == "Discord" else "in VRChat"
    return f"**{safe_text(closing.state.capitalize(), 20)}**{who} {where}"


def closed_card(previous: discord.Embed | None, closing: Closing) -> discord.Embed:
    """The one look of a closed card, however it closed: the open card (a copy of `previous`) in its
    outcome's colour, the outcome as its last field. Without `previous` (its message had none), a
    card of the title and footer alone."""
    colour = OUTCOME_COLOURS.get(closing.state, discord.Colour.dark_grey())
    if previous is not None:
        embed = discord.Embed.from_dict(previous.to_dict())
        embed.colour = colour
    else:
        name = safe_text(closing.display_name or closing.user_id, 200, single_line=True)
        embed = discord.Embed(title=f"Join request: {name}", colour=colour)
        embed.set_footer(text=f"{closing.group_id} · {closing.user_id}")
    return with_outcome(embed, outcome_line(closing))


def decision_id(action: str, group_id: str, user_id: str) -> str:
    """The custom_id of a card's Approve / Reject / Reject & Block button (bot.requests.views)."""
    return f"{DECISION_PREFIX}{action}:{group_id}:{user_id}"


def is_open_card(message: discord.Message) -> bool:
    """Whether the card still offers a decision. Its History button stays when it closes, so the
    decision buttons, not the presence of any button, tell an open card from a closed one."""
    return any(
        str(getattr(item, "custom_id", None) or "").startswith(DECISION_PREFIX)
        for row in message.components
        for item in getattr(row, "children", ())
    )


def closed_view(group_id: str, user_id: str) -> discord.ui.View:
    """What a closed card keeps: the History button (bot.desk), which checks its clicker itself."""
    view = discord.ui.View(timeout=None)
    view.add_item(history_button(group_id, user_id))
    return view


async def close_card(message: discord.Message, closing: Closing) -> bool:
    """Close the card `message` (the one function that does): its decision buttons go, its History
    button stays, it takes the closed look. False when it was closed already: a click and a round, or
    two rounds, may both get here, and a second Outcome would be wrong. Raises discord.HTTPException
    (the card may be gone)."""
    if not is_open_card(message):
        return False
    previous = message.embeds[0] if message.embeds else None
    await message.edit(
        embed=closed_card(previous, closing),
        view=closed_view(closing.group_id, closing.user_id),
        allowed_mentions=NO_MENTIONS,
    )
    return True


def with_outcome(card: discord.Embed, line: str) -> discord.Embed:
    """`card` (changed in place) with its outcome as the last field, within Discord's limits: a card
    already near them gives up its own last fields, never the outcome, to make room."""
    value = clip(line, FIELD_VALUE_LIMIT)
    fit_embed(card, EMBED_TOTAL_LIMIT - text_units(OUTCOME) - text_units(value))
    while len(card.fields) >= FIELDS_LIMIT:
        card.remove_field(len(card.fields) - 1)
    card.add_field(name=OUTCOME, value=value, inline=False)
    return card
