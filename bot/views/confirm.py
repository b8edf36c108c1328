"""A short-lived, ephemeral "are you sure?" that only the person who asked can answer."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.services.common import Actor
from bot.text import CONTENT_LIMIT, clip
from bot.views.base import OwnedView
from bot.views.context import actor_of
from bot.views.errors import explain
from bot.views.reply import NO_MENTIONS, send_ephemeral

if TYPE_CHECKING:
    from bot.bot import Interaction

TIMEOUT = 60.0


class Confirm(OwnedView):
    def __init__(self, owner_id: int, confirm_label: str, *, timeout: float = TIMEOUT) -> None:
        super().__init__(owner_id, "Only the moderator who asked can answer this.", timeout=timeout)
        self.answer: bool | None = None
        self.interaction: Interaction | None = None  # the click, for the follow-up
        self.confirm.label = confirm_label

    async def _answer(self, interaction: Interaction, value: bool) -> None:
        self.answer, self.interaction = value, interaction
        await interaction.response.edit_message(
            content="Working on it…" if value else "Cancelled.", view=None, allowed_mentions=NO_MENTIONS
        )
        self.stop()

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        await self._answer(interaction, True)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        await self._answer(interaction, False)

    async def wait_for_answer(self) -> bool:
        """True only for an explicit Confirm; a timeout counts as no."""
        await self.wait()
        return bool(self.answer)

    async def finish(self, text: str, *, origin: Interaction | None = None) -> None:
        """Replace the prompt with `text`. After a timeout nobody clicked, so the prompt is edited
        through `origin`, the interaction it was sent for (else its buttons would linger, dead)."""
        target = self.interaction or origin
        if target is None:
            return
        if self.interaction is None:
            text = f"No answer in time. {text}"
        with contextlib.suppress(discord.HTTPException):  # the prompt may be gone
            await target.edit_original_response(
                content=clip(text, CONTENT_LIMIT), view=None, allowed_mentions=NO_MENTIONS
            )

    async def finish_with(self, origin: Interaction, work: Awaitable[str]) -> None:
        """Run the confirmed action; the prompt ends with its result, or with what went wrong
        (instead of staying at "Working on it…" while the error arrives as a separate message)."""
        try:
            text = await work
        except Exception as exc:
            text = explain(self.interaction or origin, exc)
        await self.finish(text, origin=origin)


async def confirm_then(
    interaction: Interaction,
    prompt: str,
    confirm_label: str,
    work: Callable[[Actor], Awaitable[str]],
    *,
    embed: discord.Embed | None = None,
    declined: str = "Nothing was changed.",
) -> None:
    """Ask `prompt` (with Confirm labelled `confirm_label`) on an ephemeral reply only the asker can
    answer. On Confirm, `work` runs as the clicker is at that click (their permission is checked
    again then, not as it was when they asked) and the prompt ends with its result; on Cancel or no
    answer it ends with `declined`."""
    confirm = Confirm(interaction.user.id, confirm_label)
    await send_ephemeral(interaction, prompt, embed=embed, view=confirm)
    if not await confirm.wait_for_answer():
        await confirm.finish(declined, origin=interaction)
        return
    await confirm.finish_with(interaction, work(actor_of(confirm.interaction or interaction)))
