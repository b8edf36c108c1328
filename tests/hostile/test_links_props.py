"""Linking against hostile text, through the real bot: whatever a VRChat bio or status says, Verify links
exactly when the issued code stands there as a token of its own, answers in one inert line that never
repeats the bio, and stays within Discord's limits. (`/link start`'s own argument gets hostile text in
test_commands_props.py, with every other command's free-text options.)"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.links.codes import new_code
from tests.discord.linking import Clock, link_start, press_verify, use_clock
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, MEMBER_ID, MOD_ROLE_ID, REQUESTS_CHANNEL_ID
from tests.fixtures.vrchat_profiles import edit_profile
from tests.hostile.bot_driver import Harness
from tests.hostile.checks import message_problems
from tests.hostile.strategies import SHARED_FIXTURES, examples, hostile_text

OWN_TOKENS = (
    re.compile(rf"<@&{MOD_ROLE_ID}>"),
    re.compile(rf"<#(?:{FEED_CHANNEL_ID}|{REQUESTS_CHANNEL_ID})>"),
)
# Where the issued code goes: standing alone, glued to a neighbour (not a token), or not there at all.
PLACES = ("alone", "glued before", "glued after", "absent", "another code")


def placed(code: str, place: str, text: str) -> str:
    if place == "alone":
        return f"{text} {code} {text}"
    if place == "glued before":
        return f"{text}x{code}"
    if place == "glued after":
        return f"{code}_{text}"
    if place == "another code":
        return f"{text} {new_code()} {text}"
    return text


@examples(12, suppress_health_check=SHARED_FIXTURES)
@given(
    bio=hostile_text(6000),
    status=hostile_text(200),
    place=st.sampled_from(PLACES),
    in_status=st.booleans(),
)
async def test_verify_links_exactly_on_the_code_and_answers_inertly(
    harness: Harness, bio: str, status: str, place: str, in_status: bool
) -> None:
    standin, sim = harness.standin, harness.seeded.sim
    clock = Clock()
    clock.advance(hours=2 * len(sim.state.users))  # each example in an hour of its own: no caps
    use_clock(harness.bot, clock)
    user = sim.state.add_user("Player")  # a fresh VRChat account per example
    issued = await link_start(standin, user.id, MEMBER_ID)
    if in_status:
        bio_text, status_text = bio, placed(issued.code, place, status)
    else:
        bio_text, status_text = placed(issued.code, place, bio), status
    edit_profile(sim, user.id, bio=bio_text, status_description=status_text, beyond_spec=True)
    with harness.error_log() as errors:
        outcome = await press_verify(standin, issued, MEMBER_ID)
    assert not errors.lines, errors.lines
    link = await harness.bot.store.link_of_discord(MEMBER_ID)
    linked = link is not None and link.vrchat_user_id == user.id
    assert linked == (place == "alone"), (place, outcome)
    if linked:
        assert outcome.startswith("Linked: your Discord account is now linked"), outcome
    else:  # one sentence of our own, whatever the bio held
        assert outcome == (
            f"The code wasn't found in the bio or status of {user.id}. Put it there exactly as shown "
            "(VRChat can take a minute to show a change), then press Verify again."
        )
    body = standin.exchanges[-1].followups[-1].body
    assert body.get("allowed_mentions") == {"parse": []} and body.get("flags", 0) & 64
    assert not message_problems(body, allowed=OWN_TOKENS)
    assert not standin.violations, standin.violations
