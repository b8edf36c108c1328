"""A user's history: audit entries about them and the server's notes, merged newest first, keyset
paged and exported as CSV; the per-type tallies the summary is made of. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.store import InvalidCursorError, Store
from tests.store.helpers import GROUP, GUILD, OTHER_GROUP, T0, entry

USER = "usr_00000000-0000-4000-8000-00000000000a"
OTHER_USER = "usr_00000000-0000-4000-8000-00000000000b"
MOD = "usr_00000000-0000-4000-8000-0000000000mm"


async def _note(store: Store, seconds: float, text: str, *, guild: int = GUILD, group: str = GROUP) -> int:
    note = await store.add_note(
        guild_id=guild,
        group_id=group,
        vrchat_user_id=USER,
        text=text,
        author_discord_id=42,
        author_name="maya",
        now=T0 + timedelta(seconds=seconds),
    )
    return note.id


async def _seed(store: Store) -> None:
    await store.ingest(
        GROUP,
        [
            entry(1, event_type="group.request.create", actor_id=USER, target_id=None),  # asked, as actor
            entry(2, event_type="group.request.reject", actor_id=MOD, target_id=USER),
            entry(3, event_type="group.request.create", actor_id=USER, target_id=USER),
            entry(4, event_type="group.member.join", actor_id=USER, target_id=USER),
            entry(5, event_type="group.invite.create", actor_id=USER, target_id=OTHER_USER),  # sent one
            entry(6, event_type="group.user.ban", actor_id=USER, target_id=OTHER_USER),  # not theirs
            entry(7, event_type="group.user.ban", actor_id=MOD, target_id=USER),
            entry(8, event_type="group.user.unban", actor_id=MOD, target_id=USER),
            entry(9, event_type="group.member.role.assign", actor_id=MOD, target_id=USER),
            entry(10, event_type="group.update", actor_id=USER, target_id=None),  # not about them
        ],
    )
    await store.ingest(OTHER_GROUP, [entry(11, event_type="group.user.ban", actor_id=MOD, target_id=USER)])


def _labels(page) -> list[str]:
    return [
        f"e{int(i.entry.id.removeprefix('gaud_'))}" if i.entry is not None else f"n:{i.note.text}"
        for i in page.items
    ]


async def test_history_is_what_was_done_to_the_user_and_their_own_doings_plus_notes(store: Store) -> None:
    await _seed(store)
    await _note(store, 4.5, "seemed fine")
    await _note(store, 9, "same second as the role")  # a note sorts before an entry of its moment
    await _note(store, 3, "other server", guild=GUILD + 1)
    page = await store.user_history(guild_id=GUILD, group_id=GROUP, user_id=USER, limit=50)
    assert _labels(page) == [
        "n:same second as the role",
        "e9",
        "e8",
        "e7",
        "e5",
        "n:seemed fine",
        "e4",
        "e3",
        "e2",
        "e1",
    ]
    assert page.next_cursor is None
    nobody = await store.user_history(guild_id=GUILD, group_id=GROUP, user_id="usr_nobody", limit=5)
    assert nobody.items == [] and nobody.next_cursor is None


@pytest.mark.parametrize("size", [1, 2, 3, 4])
async def test_keyset_pages_cover_everything_once_in_order(store: Store, size: int) -> None:
    await _seed(store)
    same = T0 + timedelta(seconds=20)
    await store.ingest(
        GROUP,
        [entry(n, at=same, event_type="group.member.leave", actor_id=USER, target_id=USER) for n in (20, 21)],
    )
    for text in ("a", "b"):
        await store.add_note(
            guild_id=GUILD,
            group_id=GROUP,
            vrchat_user_id=USER,
            text=text,
            author_discord_id=1,
            author_name="m",
            now=same,
        )
    whole = _labels(await store.user_history(guild_id=GUILD, group_id=GROUP, user_id=USER, limit=100))
    assert whole[:4] == ["n:b", "n:a", "e21", "e20"]
    seen, cursor = [], None
    while True:
        page = await store.user_history(
            guild_id=GUILD, group_id=GROUP, user_id=USER, limit=size, before_cursor=cursor
        )
        assert len(page.items) <= size
        seen += _labels(page)
        cursor = page.next_cursor
        if cursor is None:
            break
        # New entries and notes arriving meanwhile do not shift the pages already handed out.
        await store.ingest(GROUP, [entry(100 + len(seen), event_type="group.user.ban", target_id=USER)])
    assert seen == whole


async def test_a_bad_cursor_is_refused(store: Store) -> None:
    for token in ("", "x", "1:q:1", "1:n:abc", "1:e:", "99999999999999999999999:e:x"):
        with pytest.raises(InvalidCursorError):
            await store.user_history(guild_id=GUILD, group_id=GROUP, user_id=USER, before_cursor=token)


async def test_csv_holds_entries_and_notes_newest_first_and_is_formula_safe(store: Store) -> None:
    await _seed(store)
    await _note(store, 8.5, '=HYPERLINK("https://evil.example")')
    out = io.StringIO()
    written = await store.export_history_csv(out, guild_id=GUILD, group_id=GROUP, user_id=USER)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["id", "created_at", "event_type"]
    assert written == len(rows) - 1 == 9  # 8 entries about them, 1 note
    assert [r[0] for r in rows[1:4]] == ["gaud_00000009", "note:1", "gaud_00000008"]
    note = rows[2]
    assert note[2] == "moderator.note" and note[3] == "discord:42" and note[6].startswith("'=")
    capped = io.StringIO()
    assert await store.export_history_csv(capped, guild_id=GUILD, group_id=GROUP, user_id=USER, limit=3) == 3


async def test_tallies_count_each_kind_and_can_stop_before_a_moment(store: Store) -> None:
    await _seed(store)
    tallies = await store.user_event_tallies(GROUP, USER)
    assert tallies["group.request.create"].count == 2
    assert tallies["group.request.reject"].count == 1
    assert tallies["group.user.ban"].count == 1 and "group.update" not in tallies
    assert tallies["group.user.ban"].last_at == T0 + timedelta(seconds=7)
    assert tallies["group.user.unban"].first_at.tzinfo is not None
    earlier = await store.user_event_tallies(GROUP, USER, before=T0 + timedelta(seconds=3))
    assert earlier["group.request.create"].count == 1 and "group.user.ban" not in earlier


async def test_notes_count_and_latest_are_per_server_and_group(store: Store) -> None:
    assert await store.latest_note(GUILD, GROUP, USER) is None
    await _note(store, 1, "first")
    await _note(store, 2, "second")
    await _note(store, 3, "elsewhere", group=OTHER_GROUP)
    assert await store.note_count(GUILD, GROUP, USER) == 2
    latest = await store.latest_note(GUILD, GROUP, USER)
    assert latest is not None and latest.text == "second" and latest.author_name == "maya"
    assert await store.note_count(GUILD + 1, GROUP, USER) == 0
