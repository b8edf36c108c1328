"""Approve / Reject / Reject & Block on a join-request card.

Each button is a DynamicItem whose custom_id carries the action, the group and the user
(`gb:jr:<action>:<grp_…>:<usr_…>`, at most 93 characters), so a click works after any restart with no
lookup table. The clicker's permission is checked again by the service on every click.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.services import AlreadyHandled, Decision
from bot.services.requests import DecisionKind
from bot.text import safe_text
from bot.views.cards import with_outcome
from bot.views.confirm import Confirm
from bot.views.context import actor_of, bridge_interaction, services_of
from bot.views.errors import explain, report_error
from bot.views.reply import NO_MENTIONS, send_ephemeral

if TYPE_CHECKING:
    pass

_ID = r"[A-Za-z0-9_-]+"
TEMPLATE = rf"gb:jr:(?P<action>accept|reject|block):(?P<group>grp_{_ID}):(?P<user>{_ID})"

NAME_LIMIT = 100  # a display name in a reply or an outcome line
_ACTIONS: dict[str, DecisionKind] = {"accept": "accept", "reject": "reject", "block": "block"}
_LABELS = {"accept": "Approve", "reject": "Reject", "block": "Reject & Block"}
_STYLES = {
    "accept": discord.ButtonStyle.success,
    "reject": discord.ButtonStyle.secondary,
    "block": discord.ButtonStyle.danger,
}


def custom_id(action: str, group_id: str, user_id: str) -> str:
    return f"gb:jr:{action}:{group_id}:{user_id}"


class RequestButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(self, action: DecisionKind, group_id: str, user_id: str) -> None:
        self.action, self.group_id, self.user_id = action, group_id, user_id
        super().__init__(
            discord.ui.Button(
                label=_LABELS[action], style=_STYLES[action], custom_id=custom_id(action, group_id, user_id)
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RequestButton:
        return cls(_ACTIONS[match["action"]], match["group"], match["user"])

    async def callback(self, clicked: discord.Interaction) -> None:
        interaction = bridge_interaction(clicked)
        # The card this button sits on: after a confirmation, `interaction` is the click on the
        # ephemeral prompt, whose message is the prompt, not the card.
        card = interaction.message
        try:
            if self.action == "block":
                # Refuse before asking: someone who may not decide is never shown a confirmation.
                await services_of(interaction).access.require_moderator(actor_of(interaction), self.group_id)
                confirm = Confirm(interaction.user.id, "Reject & Block")
                await send_ephemeral(
                    interaction,
                    "Reject this request and block the user from asking again?",
                    view=confirm,
                )
                if not await confirm.wait_for_answer():
                    await confirm.finish("Nothing was changed.", origin=interaction)
                    return
                interaction = confirm.interaction or interaction
            else:
                await interaction.response.defer(ephemeral=True, thinking=True)
            decision = await services_of(interaction).requests.decide(
                actor_of(interaction),
                self.group_id,
                self.user_id,
                self.action,
            )
        except AlreadyHandled as exc:
            await _close_card(card, outcome_line_for_error(exc))
            await send_ephemeral(interaction, explain(interaction, exc))
            return
        except Exception as exc:
            await report_error(interaction, exc)
            return
        # Cards first, then the reply: once the moderator reads "Done", every card shows the outcome.
        await _close_card(card, outcome_line(decision))
        await _close_other_cards(interaction.client, card, decision)
        await send_ephemeral(interaction, f"Done: {_name(decision.display_name)} was {decision.state}.")


def _name(text: str | None) -> str:
    """A VRChat display name (theirs to choose, 2,000 characters and "@everyone" included) in a reply."""
    return safe_text(text or "someone", NAME_LIMIT, single_line=True)


async def _close_other_cards(
    client: discord.Client, clicked: discord.Message | None, decision: Decision
) -> None:
    """The same request may have a card in another requests channel: close those too."""
    clicked_id = clicked.id if clicked else None
    for card in decision.cards:
        if not card.message_id or card.message_id == clicked_id or not card.channel_id:
            continue
        message = client.get_partial_messageable(card.channel_id).get_partial_message(card.message_id)
        with contextlib.suppress(discord.HTTPException):
            fetched = await message.fetch()
            embeds = [discord.Embed.from_dict(e.to_dict()) for e in fetched.embeds]
            if embeds:
                with_outcome(embeds[0], outcome_line(decision))
            await message.edit(embeds=embeds, view=None, allowed_mentions=NO_MENTIONS)


def outcome_line(decision: Decision) -> str:
    return f"**{decision.state.capitalize()}** by {_name(decision.by_name)} via Discord"


def outcome_line_for_error(error: AlreadyHandled) -> str:
    by = f" by {_name(error.by)}" if error.by else ""
    where = " via Discord" if error.where == "Discord" else " in VRChat"
    return f"**{error.outcome.capitalize()}**{by}{where if error.by else ''}"


async def _close_card(message: discord.Message | None, line: str) -> None:
    """Edit the card the button sits on: buttons removed, the outcome added."""
    if message is None:
        return
    embeds = [discord.Embed.from_dict(e.to_dict()) for e in message.embeds]
    if embeds:
        with_outcome(embeds[0], line)
    # The card may be gone; the card poller edits it again from the database anyway.
    with contextlib.suppress(discord.HTTPException):
        await message.edit(embeds=embeds, view=None, allowed_mentions=NO_MENTIONS)


REQUEST_BUTTONS = (RequestButton,)


def card_view(group_id: str, user_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("accept", "reject", "block"):
        view.add_item(RequestButton(action, group_id, user_id))
    return view
