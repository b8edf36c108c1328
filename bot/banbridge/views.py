"""The "also ban in VRChat?" card and its Confirm / Dismiss buttons.

Each button is a DynamicItem whose custom_id carries the action, the prompt's row id and its round
(`gb:ban:<confirm|dismiss>:<id>:<round>`), so a click works after any restart with no lookup table,
and a button of an older card (the member was unbanned and banned again since) acts on nothing.
Whoever clicks is checked again by the service: a moderator of the prompt's group, at that moment.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.banbridge.service import (
    BanDecision,
    PromptClosed,
    was_already_banned,
    was_automatic,
    was_credited,
)
from bot.requests.cards import with_outcome
from bot.store import BanPrompt
from bot.text import profile_link, safe_text
from bot.views.base import ReportedClick
from bot.views.context import actor_of
from bot.views.reply import NO_MENTIONS, send_ephemeral

if TYPE_CHECKING:
    from bot.bot import Interaction

# At most 18 digits: every such row ID fits SQLite's 64-bit integer (a forged 19-digit one would not).
TEMPLATE = r"gb:ban:(?P<action>confirm|dismiss):(?P<prompt>[0-9]{1,18}):(?P<round>[0-9]{1,9})"
NAME_LIMIT = 100
PENDING_COLOUR = discord.Colour.orange()
COLOURS = {
    "banned": discord.Colour.red(),
    "dismissed": discord.Colour.light_grey(),
    "lifted": discord.Colour.dark_grey(),
}


def footer(prompt: BanPrompt) -> str:
    """Names the prompt and its round: how a card lost in a crash is found again in the channel."""
    return f"Ban prompt {prompt.id}.{prompt.round} · {prompt.group_id} · {prompt.vrchat_user_id}"


def vrchat_account(user_id: str, display_name: str | None) -> str:
    link = profile_link(user_id)
    if display_name:
        return f"{safe_text(display_name, NAME_LIMIT, single_line=True)} ({link})"
    return link


def _name(text: str | None) -> str:
    return safe_text(text or "someone", NAME_LIMIT, single_line=True)


def outcome_line(prompt: BanPrompt, group_label: str) -> str | None:
    """How the prompt ended, for the card; None while it waits."""
    group = safe_text(group_label, NAME_LIMIT, single_line=True)
    already = " (they were already banned there)" if was_already_banned(prompt) else ""
    if was_credited(prompt):
        return (
            f"**Banned in VRChat** automatically in {group} (this binding's setting), because "
            f"{_name(prompt.handled_by_name)} banned them in Discord{already}"
        )
    if was_automatic(prompt):
        return (
            f"**Banned in VRChat** automatically in {group} (this binding's setting); who banned them "
            f"in Discord is not known (the bot needs View Audit Log to tell){already}"
        )
    if prompt.state == "banned":
        return f"**Banned in VRChat** in {group} by {_name(prompt.handled_by_name)} via Discord{already}"
    if prompt.state == "dismissed":
        return f"**Dismissed** by {_name(prompt.handled_by_name)}: not banned in VRChat"
    if prompt.state == "lifted":
        return "**Discord ban lifted** before anyone decided: nothing was done in VRChat"
    return None


def ban_card(prompt: BanPrompt, group_label: str, display_name: str | None) -> discord.Embed:
    group = safe_text(group_label, NAME_LIMIT, single_line=True)
    account = vrchat_account(prompt.vrchat_user_id, display_name)
    done = "kicked from" if prompt.kicked else "banned in"
    embed = discord.Embed(
        title=f"{'Kicked from' if prompt.kicked else 'Banned in'} Discord: also ban in VRChat?",
        description=(
            f"<@{prompt.discord_user_id}> was {done} this server. Their Discord account is linked to "
            f"the VRChat account {account}.\nAlso ban {account} in the VRChat group **{group}**?"
        ),
        colour=COLOURS.get(prompt.state, PENDING_COLOUR),
        timestamp=prompt.created_at,
    )
    embed.add_field(name="Discord member", value=f"<@{prompt.discord_user_id}> (`{prompt.discord_user_id}`)")
    embed.add_field(name="Linked VRChat account", value=account)
    embed.add_field(name="VRChat group", value=group)
    if prompt.state == "open" and prompt.note:
        embed.add_field(name="Automatic ban", value=safe_text(prompt.note, 1000), inline=False)
    embed.set_footer(text=footer(prompt))
    line = outcome_line(prompt, group_label)
    return with_outcome(embed, line) if line else embed


def prompt_view(prompt: BanPrompt) -> discord.ui.View | None:
    """Confirm / Dismiss while the prompt waits; no buttons once it is decided."""
    if prompt.state != "open":
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(BanPromptButton("confirm", prompt.id, prompt.round))
    view.add_item(BanPromptButton("dismiss", prompt.id, prompt.round))
    return view


async def close_card(message: discord.Message | None, prompt: BanPrompt, group_label: str) -> None:
    """The card the button sits on, buttons removed and the outcome added."""
    line = outcome_line(prompt, group_label)
    if message is None or line is None:
        return
    embeds = [discord.Embed.from_dict(e.to_dict()) for e in message.embeds]
    if embeds:
        embeds[0].colour = COLOURS.get(prompt.state, PENDING_COLOUR)
        with_outcome(embeds[0], line)
    with contextlib.suppress(discord.HTTPException):  # the card may be gone: the decision stands
        await message.edit(embeds=embeds, view=None, allowed_mentions=NO_MENTIONS)


def decision_reply(decision: BanDecision, group_label: str) -> str:
    group = safe_text(group_label, NAME_LIMIT, single_line=True)
    prompt = decision.prompt
    if prompt.state == "dismissed":
        return f"Dismissed: {prompt.vrchat_user_id} was not banned in {group}."
    if decision.already:
        return f"{prompt.vrchat_user_id} was already banned in {group}; the card is closed."
    return f"Banned {prompt.vrchat_user_id} in {group}."


class BanPromptButton(ReportedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(self, action: str, prompt_id: int, round_: int) -> None:
        self.action, self.prompt_id, self.round = action, prompt_id, round_
        confirm = action == "confirm"
        super().__init__(
            discord.ui.Button(
                label="Confirm: ban in VRChat" if confirm else "Dismiss",
                style=discord.ButtonStyle.danger if confirm else discord.ButtonStyle.secondary,
                custom_id=f"gb:ban:{action}:{prompt_id}:{round_}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> BanPromptButton:
        return cls(match["action"], int(match["prompt"]), int(match["round"]))

    async def clicked(self, interaction: Interaction) -> None:
        card = interaction.message
        await interaction.response.defer(ephemeral=True, thinking=True)  # VRChat may take a while
        service = interaction.client.ban_bridge
        actor = actor_of(interaction)
        try:
            if self.action == "confirm":
                decision = await service.confirm(actor, self.prompt_id, self.round)
            else:
                decision = await service.dismiss(actor, self.prompt_id, self.round)
        except PromptClosed as exc:
            if exc.prompt.round == self.round:
                await close_card(card, exc.prompt, service.group_label(exc.prompt.group_id))
            await send_ephemeral(interaction, exc.message)
            return
        label = service.group_label(decision.prompt.group_id)
        await close_card(card, decision.prompt, label)  # the card first: "Done" means it shows
        await send_ephemeral(interaction, decision_reply(decision, label))
