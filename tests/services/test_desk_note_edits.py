"""Changing and deleting notes: the author or a member with Manage Server, in the note's own server
and group only; the action log keeps what the note said; the choices offered are the ones allowed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config
from bot.desk.service import NOTE_MAX, DeskService
from bot.services.access import Access
from bot.services.common import ActionLog
from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied
from bot.store import Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, EVE, MAYA, OTHER_GUILD, SAM, actions

USER = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
OTHER_USER = "usr_00000000-0000-4000-8000-0000000000bb"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def clock() -> list[datetime]:
    return [T0]


@pytest.fixture
def desk(bound: Store, config: Config, clock: list[datetime]) -> DeskService:
    return DeskService(bound, Access(bound, config), ActionLog(bound), clock=lambda: clock[0])


async def test_the_author_changes_their_note_and_the_log_keeps_the_old_text(
    desk: DeskService, bound: Store, seeded_sim: SeededSim, clock: list[datetime]
) -> None:
    note = await desk.add_note(MAYA, seeded_sim.group.id, USER, "was rude in the lobby")
    clock[0] = T0 + timedelta(hours=1)
    edited = await desk.edit_note(MAYA, str(note.id), "  was rude in the lobby twice  ")
    assert (edited.id, edited.text, edited.created_at, edited.edited_at) == (
        note.id,
        "was rude in the lobby twice",
        T0,
        T0 + timedelta(hours=1),
    )
    assert await bound.get_note(note.id) == edited
    (logged,) = await actions(bound, action="note.edit")
    assert logged.target_id == USER and logged.details == {
        "note_id": note.id,
        "before": "was rude in the lobby",
    }
    history = await desk.history(MAYA, seeded_sim.group.id, USER)
    assert [item.note for item in history.items] == [edited]  # in its place, with its new text


async def test_another_moderator_may_not_but_an_admin_may(
    desk: DeskService, bound: Store, seeded_sim: SeededSim
) -> None:
    note = await desk.add_note(MAYA, seeded_sim.group.id, USER, "mine")
    for change in (desk.edit_note(SAM, str(note.id), "theirs"), desk.delete_note(SAM, str(note.id))):
        with pytest.raises(PermissionDenied, match="author or a member with Manage Server"):
            await change
    with pytest.raises(PermissionDenied):  # no moderator of the group, not even of their own note's
        await desk.delete_note(dataclasses.replace(EVE, user_id=MAYA.user_id), str(note.id))
    assert await bound.get_note(note.id) == note and await actions(bound, action="note.edit") == []
    gone = await desk.delete_note(ADA, str(note.id))
    assert gone == note and await bound.get_note(note.id) is None
    (logged,) = await actions(bound, action="note.delete")
    assert logged.details == {"note_id": note.id, "text": "mine", "author": "maya"}
    assert logged.discord_user_id == ADA.user_id


async def test_another_servers_note_is_unknown_here(
    desk: DeskService, bound: Store, seeded_sim: SeededSim
) -> None:
    note = await desk.add_note(MAYA, seeded_sim.group.id, USER, "ours")
    stranger = dataclasses.replace(ADA, guild_id=OTHER_GUILD)
    with pytest.raises(NotFoundError, match="no such note in this server"):
        await desk.edit_note(stranger, str(note.id), "theirs")
    with pytest.raises(NotFoundError, match="no such note in this server"):
        await desk.delete_note(ADA, str(note.id + 1))
    assert await bound.get_note(note.id) == note


@pytest.mark.parametrize(
    ("ref", "text", "error", "said"),
    [
        ("twelve", "x", InvalidInput, "Pick the note from the list"),
        ("²", "x", InvalidInput, "Pick the note from the list"),  # a digit to str.isdigit, no number
        ("9" * 6000, "x", InvalidInput, "Pick the note from the list"),  # past int() and the database
        ("9" * 18, "x", NotFoundError, "no such note"),
        ("1", "", InvalidInput, "A note needs some text."),
        ("1", "x" * (NOTE_MAX + 1), InvalidInput, f"the limit is {NOTE_MAX:,}"),
    ],
)
async def test_bad_input_changes_nothing(
    desk: DeskService,
    bound: Store,
    seeded_sim: SeededSim,
    ref: str,
    text: str,
    error: type[Exception],
    said: str,
) -> None:
    note = await desk.add_note(MAYA, seeded_sim.group.id, USER, "kept")
    with pytest.raises(error, match=said):
        await desk.edit_note(MAYA, ref, text)
    assert await bound.get_note(note.id) == note


async def test_the_choices_are_the_notes_one_may_change(
    desk: DeskService, bound: Store, seeded_sim: SeededSim, clock: list[datetime]
) -> None:
    group = seeded_sim.group.id
    first = await desk.add_note(MAYA, group, USER, "first 100%_ sure")
    clock[0] = T0 + timedelta(minutes=1)
    second = await desk.add_note(SAM, group, OTHER_USER, "second")
    assert await desk.notes_to_change(MAYA) == [first]  # only their own
    assert await desk.notes_to_change(ADA) == [second, first]  # an admin: every one, newest first
    assert await desk.notes_to_change(ADA, "100%_") == [first]  # wildcards match themselves
    assert await desk.notes_to_change(ADA, "00bb") == [second]  # by the user's ID too
    assert await desk.notes_to_change(ADA, "100%x") == []
    assert await desk.notes_to_change(dataclasses.replace(EVE, user_id=MAYA.user_id)) == []  # no moderator
    assert await desk.notes_to_change(dataclasses.replace(ADA, guild_id=OTHER_GUILD)) == []
