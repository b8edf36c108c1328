"""The desk's service on a real SQLite store: who may read a history and write notes, what a note may
be, the one-line summary, and the card's summary from the right server's notes. No VRChat here."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config
from bot.desk.service import NOTE_MAX, DeskService, summary_line
from bot.services.access import Access
from bot.services.common import ActionLog
from bot.services.registry import Actor, InvalidInput, PermissionDenied
from bot.store import AuditEntryIn, BindingIn, EventTally, Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, EVE, GUILD, MAYA, OTHER_GUILD, REQUESTS, actions

USER = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def tally(n: int, day: int) -> EventTally:
    at = T0 + timedelta(days=day)
    return EventTally(n, at, at)


def test_the_summary_line_says_what_matters_in_one_line() -> None:
    line = summary_line(
        {
            "group.request.create": tally(2, 0),
            "group.request.reject": tally(1, 1),
            "group.user.ban": tally(1, 0),
            "group.member.user.unban": tally(1, 32),
        },
        0,
        earlier=True,
    )
    assert line == "2 earlier requests, rejected once; banned 2026-03-01, unbanned 2026-04-02"
    assert summary_line({"group.member.join": tally(3, 5)}, 2, earlier=False) == (
        "joined 3 times (last 2026-03-06); 2 notes"
    )
    assert summary_line({}, 0, earlier=True) == "No earlier requests, membership changes, bans or notes here."
    assert "\n" not in summary_line(
        {t: tally(2, 1) for t in ("group.member.leave", "group.member.remove")}, 1, earlier=False
    )


@pytest.fixture
def desk(bound: Store, config: Config) -> DeskService:
    return DeskService(bound, Access(bound, config), ActionLog(bound), clock=lambda: T0)


async def test_only_the_groups_moderators_read_and_write(
    desk: DeskService, bound: Store, seeded_sim: SeededSim
) -> None:
    group = seeded_sim.group.id
    for who in (EVE, Actor(EVE.user_id, "eve", None, frozenset(), True)):
        with pytest.raises(PermissionDenied):
            await desk.history(who, group, USER)
        with pytest.raises(PermissionDenied):
            await desk.add_note(who, group, USER, "hello")
        with pytest.raises(PermissionDenied):
            await desk.export_csv(who, group, USER)
    assert await bound.note_count(GUILD, group, USER) == 0 and await actions(bound) == []
    note = await desk.add_note(ADA, group, f"https://vrchat.com/home/user/{USER}", "  hello  ")
    assert (note.text, note.author_name, note.created_at, note.guild_id) == ("hello", "ada", T0, GUILD)
    (recorded,) = await actions(bound, action="note.add")
    assert recorded.target_id == USER and recorded.discord_user_id == ADA.user_id


async def test_bad_input_is_refused_before_anything_is_read_or_written(
    desk: DeskService, bound: Store, seeded_sim: SeededSim
) -> None:
    group = seeded_sim.group.id
    cases = [
        (desk.add_note(MAYA, group, USER, ""), "A note needs some text."),
        (desk.add_note(MAYA, group, USER, "x" * (NOTE_MAX + 1)), f"the limit is {NOTE_MAX:,}"),
        (desk.add_note(MAYA, group, "Carol", "hi"), "is not a VRChat user ID or profile link"),
        (desk.history(MAYA, group, USER, cursor="nonsense"), "That page is no longer valid"),
        (desk.history(MAYA, "grp_nope", USER), "group"),
        (desk.history(MAYA, group, USER, page_size=26), "between 1 and 25"),
    ]
    for call, expected in cases:
        with pytest.raises(InvalidInput, match=expected):
            await call
    assert await bound.note_count(GUILD, group, USER) == 0 and await actions(bound) == []
    # The longest note allowed is kept whole.
    assert (await desk.add_note(MAYA, group, USER, "y" * NOTE_MAX)).text == "y" * NOTE_MAX


async def test_history_and_csv(desk: DeskService, bound: Store, seeded_sim: SeededSim) -> None:
    group = seeded_sim.group.id
    await bound.ingest(
        group,
        [
            AuditEntryIn(
                f"gaud_s-{n}", T0 + timedelta(minutes=n), "group.user.ban", "usr_m", "M", USER, f"ban {n}"
            )
            for n in range(3)
        ],
        enqueue=False,
    )
    await desk.add_note(MAYA, group, USER, "watch them")
    first = await desk.history(MAYA, group, USER, page_size=2)
    assert (
        first.group_name == "Test Group" and first.summary.line == "banned 3 times (last 2026-03-01); 1 note"
    )
    assert [i.entry.description for i in first.items if i.entry] == ["ban 2", "ban 1"]
    assert first.next_cursor is not None
    rest = await desk.history(MAYA, group, USER, cursor=first.next_cursor, page_size=2)
    # The note was written at the moment of the first ban: notes come first within a moment.
    assert [(i.note.text if i.note else i.entry.description) for i in rest.items] == ["watch them", "ban 0"]
    assert rest.next_cursor is None
    export = await desk.export_csv(MAYA, group, USER)
    rows = list(csv.reader(io.StringIO(export.data.decode())))
    assert export.rows == 4 == len(rows) - 1 and not export.capped
    assert export.filename == f"history-{USER}-20260301-120000.csv"


async def test_a_card_shows_the_notes_of_the_server_whose_channel_it_is_in(
    desk: DeskService, bound: Store, seeded_sim: SeededSim
) -> None:
    group = seeded_sim.group.id
    other_requests = 900_000_000_000_000_099
    await bound.add_binding(BindingIn(group, OTHER_GUILD, 900_000_000_000_000_098, other_requests, ()))
    await desk.add_note(MAYA, group, USER, "ours")
    await bound.ingest(
        group,
        [
            AuditEntryIn(
                "gaud_c-1", T0 - timedelta(days=3), "group.request.create", USER, "U", USER, "asked"
            ),
            AuditEntryIn(
                "gaud_c-2", T0 - timedelta(days=2), "group.request.reject", "usr_m", "M", USER, "no"
            ),
            # The request on the card, logged a moment before the time VRChat gives the request.
            AuditEntryIn(
                "gaud_c-3", T0 - timedelta(seconds=2), "group.request.create", USER, "U", USER, "again"
            ),
        ],
        enqueue=False,
    )
    ours = await desk.card_summary(group, USER, REQUESTS, T0)
    assert ours.line == "1 earlier request, rejected once; 1 note" and ours.latest_note.text == "ours"
    theirs = await desk.card_summary(group, USER, other_requests, T0)
    assert theirs.line == "1 earlier request, rejected once" and theirs.latest_note is None
    unknown_channel = await desk.card_summary(group, USER, 1, None)
    assert unknown_channel.line == "2 requests, rejected once" and unknown_channel.notes == 0


async def test_a_capped_export_cuts_after_a_row_not_inside_a_multiline_field(
    desk: DeskService, bound: Store, seeded_sim: SeededSim
) -> None:
    group = seeded_sim.group.id
    await bound.ingest(
        group,
        [
            AuditEntryIn(
                f"gaud_m-{n}",
                T0 + timedelta(minutes=n),
                "group.user.ban",
                "usr_m",
                "M",
                USER,
                f"ban {n}\nsee",
            )
            for n in range(3)
        ],
        enqueue=False,
    )
    export = await desk.export_csv(MAYA, group, USER, limit=2)
    rows = list(csv.reader(io.StringIO(export.data.decode())))
    assert export.capped and export.rows == 2 == len(rows) - 1
    assert [row[rows[0].index("description")] for row in rows[1:]] == ["ban 2\nsee", "ban 1\nsee"]
