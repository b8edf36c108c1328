"""Hostile text in the desk's options, through the real bot: a `/vrc note` is kept exactly as typed
(trimmed) or refused in one sentence with nothing kept, and shown back inert in `/vrc history`; the
user option takes IDs and profile links only and refuses anything else without touching anything."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.desk.service import NOTE_MAX
from bot.vrchat import InvalidReference, parse_user_id
from tests.fixtures.discord_gateway import GUILD_ID
from tests.hostile.bot_driver import COMMANDS, DISCORD_OPTION_MAX, Harness
from tests.hostile.strategies import SHARED_FIXTURES, examples, hostile_text
from tests.hostile.test_commands_props import assert_answered_safely

VALID = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
NOTE = next(s for s in COMMANDS if s.qualified_name == "vrc note")
HISTORY = next(s for s in COMMANDS if s.qualified_name == "vrc history")


@examples(10, suppress_health_check=SHARED_FIXTURES)
@given(text=hostile_text(DISCORD_OPTION_MAX, 1))
async def test_a_hostile_note_is_kept_exactly_or_refused_and_shows_inert(harness: Harness, text: str) -> None:
    store, user = harness.bot.store, harness.seeded.requester.id
    group = harness.seeded.group.id
    before = await store.note_count(GUILD_ID, group, user)
    written = await harness.run(NOTE, {"user": user, "text": text})
    assert_answered_safely(written, harness)
    fits = bool(text.strip()) and len(text.strip()) <= NOTE_MAX
    assert written.failed is not fits, written.first_text
    after = await store.note_count(GUILD_ID, group, user)
    if not fits:
        assert after == before
        return
    assert after == before + 1
    latest = await store.latest_note(GUILD_ID, group, user)
    assert latest is not None and latest.text == text.strip()
    shown = await harness.run(HISTORY, {"user": user})
    assert not shown.failed, shown.first_text
    assert_answered_safely(shown, harness)


@examples(10, suppress_health_check=SHARED_FIXTURES)
@given(
    user=hostile_text(DISCORD_OPTION_MAX, 1)
    | st.sampled_from(
        [
            "usr_",
            "https://vrchat.com/home/user/@everyone",
            f" {VALID} ",
            f"https://vrchat.com/home/user/{VALID}",
            "8JoV9XEdpo",
        ]
    )
)
async def test_the_user_option_takes_ids_and_profile_links_only(harness: Harness, user: str) -> None:
    try:
        parse_user_id(user)
        valid = True
    except InvalidReference:
        valid = False
    for spec, options in ((HISTORY, {"user": user}), (NOTE, {"user": user, "text": "noted"})):
        outcome = await harness.run(spec, options)
        assert_answered_safely(outcome, harness)
        assert outcome.failed is not valid, outcome.first_text
        assert not outcome.writes  # neither command ever asks VRChat to change anything
