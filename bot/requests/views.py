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

from bot.requests.cards import DECISION_PREFIX, Closing, close_card, decision_id
from bot.requests.service import Decision, DecisionKind
from bot.services.common import AlreadyHandled
from bot.text import safe_text
from bot.views.base import ReportedClick
from bot.views.confirm import Confirm
from bot.views.context import actor_of, services_of
from bot.views.errors import explain, report_error
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import Interaction

_ID = r"[A-Za-z0-9_-]+"
TEMPLATE = rf"{DECISION_PREFIX}(?P<action>accept|reject|block):(?P<group>grp_{_ID}):(?P<user>{_ID})"

NAME_LIMIT = 100  # a display name in a reply
_ACTIONS: dict[str, DecisionKind] = {"accept": "accept", "reject": "reject", "block": "block"}
_LABELS = {"accept": "Approve", "reject": "Reject", "block": "Reject & Block"}
_STYLES = {
    "accept": discord.ButtonStyle.success,
    "reject": discord.ButtonStyle.secondary,
    "block": discord.ButtonStyle.danger,
}


class RequestButton(ReportedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(self, action: DecisionKind, group_id: str, user_id: str) -> None:
        self.action, self.group_id, self.user_id = action, group_id, user_id
        super().__init__(
            discord.ui.Button(
                label=_LABELS[action], style=_STYLES[action], custom_id=decision_id(action, group_id, user_id)
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

    async def clicked(self, interaction: Interaction) -> None:
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
            closing = Closing(self.group_id, self.user_id, None, exc.outcome, exc.by, exc.where)
            await _close(interaction, card, closing)
            await send_ephemeral(interaction, explain(interaction, exc))
            return
        except Exception as exc:
            # Here, not in ReportedClick's funnel: after a confirmation the error answers the click on
            # Confirm (`interaction` now), where the moderator is looking.
            await report_error(interaction, exc)
            return
        # Cards first, then the reply: once the moderator reads "Done", every card shows the outcome.
        closing = Closing(
            self.group_id, self.user_id, decision.display_name, decision.state, decision.by_name, "Discord"
        )
        await _close(interaction, card, closing)
        await _close_other_cards(interaction, card, decision, closing)
        await send_ephemeral(interaction, f"Done: {_name(decision.display_name)} was {decision.state}.")


def _name(text: str | None) -> str:
    """A VRChat display name (theirs to choose, 2,000 characters and "@everyone" included) in a reply."""
    return safe_text(text or "someone", NAME_LIMIT, single_line=True)


async def _close(interaction: Interaction, card: discord.Message | None, closing: Closing) -> None:
    # The card may be gone; the card round closes it again from the database anyway.
    if card is not None:
        with contextlib.suppress(discord.HTTPException):
            await close_card(card, closing)
            await _closed(interaction, closing, card.channel.id)


async def _closed(interaction: Interaction, closing: Closing, channel_id: int) -> None:
    """Recorded once the card shows it: a crash before this leaves it to the start-up pass."""
    await services_of(interaction).requests.card_closed(closing.group_id, closing.user_id, channel_id)


async def _close_other_cards(
    interaction: Interaction, clicked: discord.Message | None, decision: Decision, closing: Closing
) -> None:
    """The same request may have a card in another requests channel: close those too."""
    clicked_id = clicked.id if clicked else None
    for card in decision.cards:
        if not card.message_id or card.message_id == clicked_id or not card.channel_id:
            continue
        message = interaction.client.get_partial_messageable(card.channel_id).get_partial_message(
            card.message_id
        )
        with contextlib.suppress(discord.HTTPException):
            await close_card(await message.fetch(), closing)
            await _closed(interaction, closing, card.channel_id)


REQUEST_BUTTONS = (RequestButton,)


def card_view(group_id: str, user_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("accept", "reject", "block"):
        view.add_item(RequestButton(action, group_id, user_id))
    return view
