"""`/vrc history`, `/vrc note`, `note-edit` and `note-delete`: a user's whole history in the group,
and moderators' notes.

Thin: the service (bot.desk.service) checks who may and reads the database; nothing here asks VRChat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands

from bot.desk.actions import ACTION_ITEMS
from bot.desk.service import NOTE_MAX
from bot.desk.views import HistoryButton, HistoryPageButton, desk_of, send_history
from bot.text import plain_label, safe_text
from bot.views.context import actor_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

USER_HELP = "A VRChat user ID (usr_…) or vrchat.com profile link"
PICK_NOTE = "Type part of the note or the user ID"


@app_commands.command(name="history", description="Everything the bot knows about a user in the group")
@app_commands.describe(user=USER_HELP, csv="Attach the whole history as a CSV file")
@group_option()
async def history(interaction: Interaction, user: str, csv: bool = False, group: str | None = None) -> None:
    group_id = await chosen_group(interaction, group)
    await send_history(interaction, group_id, user, csv=csv)


@app_commands.command(name="note", description="Keep a note about a user for this server's moderators")
@app_commands.describe(user=USER_HELP, text=f"The note (up to {NOTE_MAX:,} characters)")
@group_option()
async def note(interaction: Interaction, user: str, text: str, group: str | None = None) -> None:
    group_id = await chosen_group(interaction, group)
    kept = await desk_of(interaction).add_note(actor_of(interaction), group_id, user, text)
    await send_ephemeral(
        interaction,
        f"Noted about {safe_text(kept.vrchat_user_id, 60)}: {safe_text(kept.text, 1500)}\n"
        "It shows in /vrc history and on their next join-request card.",
    )


async def notes_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The notes the member may change, newest first: who it is about, when, how it starts."""
    try:
        notes = await desk_of(interaction).notes_to_change(actor_of(interaction), current)
    except Exception:  # an autocomplete answers with choices or nothing
        return []
    return [
        app_commands.Choice(
            name=plain_label(f"{n.vrchat_user_id} · {n.created_at:%Y-%m-%d} · {n.text}"), value=str(n.id)
        )
        for n in notes
    ]


@app_commands.command(name="note-edit", description="Change a note (yours, or any with Manage Server)")
@app_commands.describe(note=PICK_NOTE, text=f"The new text (up to {NOTE_MAX:,} characters)")
@app_commands.autocomplete(note=notes_autocomplete)
async def note_edit(interaction: Interaction, note: str, text: str) -> None:
    edited = await desk_of(interaction).edit_note(actor_of(interaction), note, text)
    await send_ephemeral(
        interaction,
        f"Note about {safe_text(edited.vrchat_user_id, 60)} changed: {safe_text(edited.text, 1500)}",
    )


@app_commands.command(name="note-delete", description="Delete a note (yours, or any with Manage Server)")
@app_commands.describe(note=PICK_NOTE)
@app_commands.autocomplete(note=notes_autocomplete)
async def note_delete(interaction: Interaction, note: str) -> None:
    gone = await desk_of(interaction).delete_note(actor_of(interaction), note)
    await send_ephemeral(
        interaction,
        f"Deleted the note about {safe_text(gone.vrchat_user_id, 60)}: {safe_text(gone.text, 1500)}",
    )


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(history)
    bot.groups.vrc.add_command(note)
    bot.groups.vrc.add_command(note_edit)
    bot.groups.vrc.add_command(note_delete)
    bot.add_dynamic_items(HistoryButton, HistoryPageButton, *ACTION_ITEMS)


async def teardown(bot: GroupBridgeBot) -> None:
    bot.remove_dynamic_items(HistoryButton, HistoryPageButton, *ACTION_ITEMS)
