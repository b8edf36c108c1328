"""What every view, modal and button of the bot shares, written once: an error in a callback reaches
the user through the one funnel (bot.views.errors), and a view on one member's reply answers only them.

- `OwnedView`: pagers, pickers, confirmations on a member's ephemeral reply.
- `ReportingModal`: a modal whose `on_submit` may raise.
- `ReportedClick`: mixed into a restart-safe button (a DynamicItem), which implements `clicked`.
- `RowButton`: a restart-safe button whose custom_id is a prefix and one row id.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord

from bot.views.context import bridge_interaction
from bot.views.errors import report_error
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import Interaction


class OwnedView(discord.ui.View):
    """Only the member who opened it may use it. Anyone else who clicks is told `not_yours`: an answer,
    not silence (Discord would otherwise show "This interaction failed"). What a callback raises goes
    to the funnel, so callbacks need no try/except of their own."""

    def __init__(self, owner_id: int, not_yours: str, *, timeout: float | None) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.not_yours = not_yours

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await send_ephemeral(interaction, self.not_yours)
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)


class ReportingModal(discord.ui.Modal):
    """A modal whose `on_submit` may raise: the error reaches the user through the funnel."""

    # discord.py calls a modal's on_error with two arguments, but types Modal as a View, whose on_error
    # takes the item too: the optional `item` fits both (mypy checks against View's).
    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any] | None = None, /
    ) -> None:
        await report_error(interaction, error)


class ReportedClick:
    """Mixed into a DynamicItem (before it: `class B(ReportedClick, DynamicItem[...], template=...)`).
    discord.py only logs what a DynamicItem's callback raises (no view's on_error runs for one), so the
    click runs here, inside the funnel; the item implements `clicked`."""

    async def callback(self, interaction: discord.Interaction) -> None:
        bridged = bridge_interaction(interaction)
        try:
            await self.clicked(bridged)
        except Exception as exc:
            await report_error(bridged, exc)

    async def clicked(self, interaction: Interaction) -> None:
        raise NotImplementedError


class RowButton(
    ReportedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"gb:[a-z]+:[a-z]+:[0-9]{1,18}"
):
    """A restart-safe button whose custom_id is a prefix and a row id (`gb:alert:kill:<id>`), so a click
    needs no lookup table after a restart. A subclass names all it differs in on its class line
    (`class B(RowButton, prefix="gb:alert:kill:", label=..., style=...)`) and implements `clicked`,
    which reads the id in `row_id`. At most 18 digits: every such id fits SQLite's 64-bit integer
    (a forged 19-digit one would not)."""

    prefix: ClassVar[str]
    label: ClassVar[str]
    style: ClassVar[discord.ButtonStyle]
    TEMPLATE: ClassVar[str]  # what the subclass's custom_ids match

    def __init_subclass__(cls, *, prefix: str, label: str, style: discord.ButtonStyle) -> None:
        cls.TEMPLATE = re.escape(prefix) + r"(?P<row_id>[0-9]{1,18})"
        super().__init_subclass__(template=cls.TEMPLATE)
        cls.prefix, cls.label, cls.style = prefix, label, style

    def __init__(self, row_id: int) -> None:
        self.row_id = row_id
        super().__init__(
            discord.ui.Button(label=self.label, style=self.style, custom_id=f"{self.prefix}{row_id}")
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["row_id"]))
