"""Every slash command's free-text options, through the real bot on the Discord stand-in and the VRChat
simulator: whatever is typed, the user gets an answer, every message is within Discord's limits and
cannot ping, and a refusal is a sentence for the user that changed nothing in VRChat or the database.

How hypothesis meets the async bot: pytest-asyncio runs an async `@given` test by running each
example's coroutine on the test's own event loop, the loop the fixtures were set up on. So the bot
(a function-scoped fixture) is connected once per command and serves all of that command's examples;
the function-scoped-fixture health check is suppressed for exactly that reason. Each example is
judged on its own interaction only (and on the before/after state), so earlier examples cannot make a
later one pass or fail, and a failure shrinks to the smallest text that shows it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.discord import autocomplete, modal_submit
from bot.services.posts import TEXT_MAX, TITLE_MAX
from bot.views.errors import UNEXPECTED
from tests.discord.conftest import answered, command, is_ephemeral
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
)
from tests.fixtures.vrchat_sim import SeededSim
from tests.hostile.bot_driver import (
    COMMANDS,
    DISCORD_OPTION_MAX,
    OWN_TOKENS,
    TEXT_COMMANDS,
    CommandSpec,
    Harness,
    Option,
    Outcome,
    command_specs,
)
from tests.hostile.checks import message_problems, units
from tests.hostile.strategies import SHARED_FIXTURES, examples, hostile_text

WATCHED = "grp_00000000-1111-4222-8333-444444444444"


def option_text(option: Option) -> st.SearchStrategy[str]:
    """What a user can type into `option`: Discord enforces its length bounds (at most 6,000)."""
    top = DISCORD_OPTION_MAX if option.max_value is None else min(int(option.max_value), DISCORD_OPTION_MAX)
    return hostile_text(top, int(option.min_value or 0))


def valid_text(seeded: SeededSim) -> dict[str, str]:
    """Sensible values by option name, so hostile text in one option reaches past the others."""
    return {
        "user": seeded.outsider.id,
        "group": seeded.group.id,
        "watched": WATCHED,
        "families": "members",
        "reason": "spam",
        # /vrc instance open|close, /vrc role: so hostile text in the other options gets that far
        "world": "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd",
        "instance": seeded.instance.location,
        "role": seeded.moderator_role.id,
    }


@st.composite
def invocations(draw: st.DrawFn, spec: CommandSpec, harness: Harness) -> dict[str, Any]:
    """One free-text option gets hostile text; the others are left out, valid, or hostile too."""
    focus = draw(st.sampled_from(spec.text_options))
    valid = valid_text(harness.seeded)
    options: dict[str, Any] = {}
    for option in spec.options:
        if option is focus:
            options[option.name] = draw(option_text(option), label=option.name)
        elif option.free_text:
            ways = [
                "hostile",
                *(["valid"] if option.name in valid else []),
                *([] if option.required else ["omit"]),
            ]
            way = draw(st.sampled_from(ways))
            if way == "hostile":
                options[option.name] = draw(option_text(option), label=option.name)
            elif way == "valid":
                options[option.name] = valid[option.name]
        elif option.choices and (option.required or draw(st.booleans())):
            options[option.name] = draw(st.sampled_from(option.choices))
        elif option.required:
            options[option.name] = harness.fill(option)
    return options


def spec_named(name: str) -> CommandSpec:
    return next(s for s in COMMANDS if s.qualified_name == name)


def assert_answered_safely(outcome: Outcome, harness: Harness) -> None:
    assert not outcome.errors, f"errors were logged: {outcome.errors}"
    assert not harness.standin.violations, harness.standin.violations
    assert not harness.seeded.sim.violations, harness.seeded.sim.violations
    for kind, body in outcome.bodies:
        assert body.get("allowed_mentions") == {"parse": []}, (kind, body)
        problems = message_problems(body, allowed=OWN_TOKENS)
        assert not problems, "\n".join([kind, *problems])
        assert UNEXPECTED not in (body.get("content") or ""), body["content"]
    if outcome.failed:
        refusal = outcome.bodies[0][1] if outcome.bodies else {}
        assert is_ephemeral(refusal) and outcome.first_text.strip(), f"no ephemeral sentence: {refusal}"
        assert units(outcome.first_text) <= 2000
        assert not outcome.writes, f"a refused command still wrote to VRChat: {outcome.writes}"
        assert not outcome.db_changed, "a refused command still changed the database"


@pytest.mark.parametrize("spec", TEXT_COMMANDS, ids=lambda s: s.qualified_name.replace(" ", "-"))
@examples(8, suppress_health_check=SHARED_FIXTURES)
@given(data=st.data())
async def test_hostile_text_in_any_option_is_answered_within_limits_without_pings(
    spec: CommandSpec, harness: Harness, data: st.DataObject
) -> None:
    options = data.draw(invocations(spec, harness), label="options")
    outcome = await harness.run(spec, options)
    assert_answered_safely(outcome, harness)


AUTOCOMPLETED = [(s, o) for s in TEXT_COMMANDS for o in s.text_options if o.autocomplete]


@pytest.mark.parametrize(
    ("spec", "option"), AUTOCOMPLETED, ids=lambda v: getattr(v, "qualified_name", getattr(v, "name", ""))
)
@examples(5, suppress_health_check=SHARED_FIXTURES)
@given(typed=hostile_text(DISCORD_OPTION_MAX))
async def test_hostile_text_being_typed_gets_valid_suggestions(
    spec: CommandSpec, option: Option, harness: Harness, typed: str
) -> None:
    member = harness.standin.member(GUILD_ID, ADMIN_ID)
    exchange = await harness.standin.dispatch_interaction(
        autocomplete(
            spec.top, option.name, typed, channel_id=FEED_CHANNEL_ID, member=member, subcommand=spec.sub
        )
    )
    callback = await exchange.wait(timeout=10)
    assert callback.body["type"] == 8, callback.body
    choices = callback.body["data"]["choices"]
    assert len(choices) <= 25
    for choice in choices:
        assert 1 <= len(choice["name"]) <= 100 and isinstance(choice["value"], str), choice
        assert len(choice["value"]) <= 100, choice
    assert not harness.standin.violations, harness.standin.violations


async def test_the_commands_covered_are_the_live_bots_commands(harness: Harness) -> None:
    # The list above is built offline; the running bot must have exactly the same commands and options.
    assert command_specs(harness.bot.tree) == COMMANDS
    assert {s.qualified_name for s in TEXT_COMMANDS} >= {"vrc invite", "audit search", "bridge link"}


async def test_a_superscript_digit_as_an_account_age_is_refused_with_a_sentence(harness: Harness) -> None:
    options = {"condition": "account_age_days_at_least", "outcome": "hold", "parameter": "²"}
    assert_answered_safely(await harness.run(spec_named("bridge rules add"), options), harness)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("vrc posts", {"group": "@everyone " * 600}),  # was echoed whole: over 2,000, so never shown
        ("audit search", {"since": "@here [x](https://evil.example/) <@&123456789012345678>"}),
    ],
)
async def test_a_refusal_quoting_the_input_is_inert_and_fits(
    harness: Harness, name: str, options: dict[str, Any]
) -> None:
    outcome = await harness.run(spec_named(name), options)
    assert outcome.failed
    assert_answered_safely(outcome, harness)


async def test_blank_profile_text_is_shown_rather_than_refused_by_discord(harness: Harness) -> None:
    # A blank embed field value made Discord refuse the reply after the profile had changed.
    outcome = await harness.run(
        spec_named("vrc profile set"), {"pronouns": " ", "status_description": "\ufeff"}
    )
    assert not outcome.failed
    assert_answered_safely(outcome, harness)


@examples(8, suppress_health_check=SHARED_FIXTURES)
@given(title=hostile_text(TITLE_MAX, 1), text=hostile_text(TEXT_MAX, 1))
async def test_hostile_post_text_is_previewed_inertly_and_never_published_unasked(
    harness: Harness, title: str, text: str
) -> None:
    # The post modal's two text inputs are typed text too; Discord enforces their max_length.
    opened = await command(harness.standin, "vrc", "post", {}, who=ADMIN_ID)
    modal = opened.callback.body["data"] if opened.callback else {}
    inputs = [
        c for row in modal.get("components", []) for c in row.get("components", [row.get("component", {})])
    ]
    by_label = {c.get("label"): c["custom_id"] for c in inputs if "custom_id" in c}
    before = harness.vrchat_writes()
    with harness.error_log() as errors:
        submit = await harness.standin.dispatch_interaction(
            modal_submit(
                modal["custom_id"],
                {by_label["Title"]: title, by_label["Text"]: text},
                channel_id=FEED_CHANNEL_ID,
                member=harness.standin.member(GUILD_ID, ADMIN_ID),
            )
        )
        await submit.wait_for(answered, timeout=10, what="a preview or a refusal")
        clicks = await harness.cancel_prompts(submit)
        for click_exchange in clicks:  # the prompt ends as "Not published." (an edit through the click)
            await click_exchange.wait_for_edit(timeout=10)
    outcome = Outcome([submit, *clicks], False, harness.vrchat_writes()[len(before) :], False, errors.lines)
    assert outcome.bodies, "neither a preview nor a refusal"
    assert_answered_safely(outcome, harness)
    assert not outcome.writes, outcome.writes


@examples(10, suppress_health_check=SHARED_FIXTURES)
@given(name=hostile_text(300, 1), bio=hostile_text(512), pronouns=hostile_text(32))
async def test_a_hostile_vrchat_profile_reaches_discord_inert(
    harness: Harness, name: str, bio: str, pronouns: str
) -> None:
    # The other direction: text VRChat users wrote about themselves, shown by the lookup. (The invite's
    # answer shows it too: see the xfail test below.)
    user = harness.seeded.sim.state.add_user(name, bio=bio, pronouns=pronouns)
    outcome = await harness.run(spec_named("vrc user"), {"user": user.id})
    assert not outcome.failed, outcome.first_text
    assert_answered_safely(outcome, harness)


async def test_an_invite_answer_shows_a_hostile_display_name_inert(harness: Harness) -> None:
    user = harness.seeded.sim.state.add_user("@everyone [x](https://evil.example/)")
    outcome = await harness.run(spec_named("vrc invite"), {"user": user.id})
    assert_answered_safely(outcome, harness)
