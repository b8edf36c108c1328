"""Text VRChat users choose (display names, bios, post titles, role and world names) reaching every reply,
follow-up, card, embed and select the bot sends: whatever its length or content, the real bot on the
stand-ins sends nothing Discord would refuse (the stand-in, which checks Discord's OpenAPI description
and documented limits, is the oracle), and everything is within limits and inert by tests/hostile/checks.

The first test is the maintainer's report: a 2,100-character display name made the Approve follow-up
("Done: {name} was accepted.") 2,120 characters long; Discord refused it, so the moderator got no
answer although VRChat had accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.discord import DiscordStandIn, InteractionExchange, autocomplete
from bot.store import AuditEntryIn
from tests.discord.conftest import (
    CLOSED_CARD,
    card_messages,
    click,
    component_id,
    labels,
    post_cards,
)
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ID,
)
from tests.hostile.bot_driver import COMMANDS, OWN_TOKENS, CommandSpec, Harness
from tests.hostile.checks import message_problems, units
from tests.hostile.strategies import SHARED_FIXTURES, examples, hostile_text

SETTLE = 10.0


def long_name(length: int = 2100) -> str:
    """A display name past every Discord limit, with what must stay inert and a non-BMP emoji."""
    seed = "@everyone **Carol** [x](https://evil.example/) <@&123456789012345678> 😀 "
    return (seed * (length // len(seed) + 1))[:length]


def spec_named(name: str) -> CommandSpec:
    return next(s for s in COMMANDS if s.qualified_name == name)


def assert_all_sent_fits(standin: DiscordStandIn, exchanges: list[InteractionExchange] = ()) -> None:
    """The oracle (nothing refused), then the independent checks on every body the bot sent."""
    assert not standin.violations, "\n".join(standin.violations)
    bodies = [e.data for x in exchanges for e in x.events if e.kind in ("callback", "followup", "edit")]
    bodies += [r.json for r in standin.requests if r.method in ("POST", "PATCH") and "/channels/" in r.path]
    for body in bodies:
        if isinstance(body, dict) and ("content" in body or "embeds" in body):
            problems = message_problems(body, allowed=OWN_TOKENS)
            assert not problems, "\n".join(problems)


def card_of(standin: DiscordStandIn, user_id: str) -> Any:
    return next(m for m in card_messages(standin) if m.embeds[0]["footer"]["text"].endswith(user_id))


# ------------------------------------------------------------------ join-request cards and buttons
async def test_approving_a_2100_character_display_name_answers_the_moderator(harness: Harness) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    user = state.add_user(long_name(), bio=long_name(512))
    state.add_join_request(group.id, user.id)
    await post_cards(harness.bot)
    card = card_of(harness.standin, user.id)
    exchange = await click(harness.standin, component_id(card, "Approve"), card, who=MOD_ID)
    done = await exchange.wait_for_followup(1, timeout=SETTLE)
    assert done.body["content"].startswith("Done: ") and done.body["content"].endswith(" was accepted.")
    assert units(done.body["content"]) <= 2000
    assert state.is_member(group.id, user.id)
    assert labels(card_of(harness.standin, user.id)) == CLOSED_CARD  # the card closed too
    assert_all_sent_fits(harness.standin, [exchange])


@examples(6, suppress_health_check=SHARED_FIXTURES)
@given(name=hostile_text(10_000, 1), bio=hostile_text(512), action=st.sampled_from(["Approve", "Reject"]))
async def test_any_requester_text_goes_through_card_and_buttons_within_limits(
    harness: Harness, name: str, bio: str, action: str
) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    user = state.add_user(name, bio=bio)
    state.add_join_request(group.id, user.id)
    await post_cards(harness.bot)
    card = card_of(harness.standin, user.id)
    exchange = await click(harness.standin, component_id(card, action), card, who=MOD_ID)
    await exchange.wait_for_followup(1, timeout=SETTLE)
    assert exchange.followups[0].body["content"].startswith("Done: ")
    assert_all_sent_fits(harness.standin, [exchange])


async def test_block_confirmation_and_its_answer_fit(harness: Harness) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    user = state.add_user(long_name(3000))
    state.add_join_request(group.id, user.id)
    await post_cards(harness.bot)
    card = card_of(harness.standin, user.id)
    exchange = await click(harness.standin, component_id(card, "Reject & Block"), card, who=MOD_ID)
    prompt = await exchange.wait()
    confirm = await click(
        harness.standin, component_id(prompt.message, "Reject & Block"), prompt.message, who=MOD_ID
    )
    await confirm.wait_for_followup(1, timeout=SETTLE)
    assert confirm.followups[0].body["content"].endswith(" was blocked.")
    assert_all_sent_fits(harness.standin, [exchange, confirm])


async def test_a_request_handled_in_vrchat_by_a_long_name_is_told_and_closed_within_limits(
    harness: Harness,
) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    user = state.add_user(long_name())
    state.add_join_request(group.id, user.id)
    handler = state.add_user(long_name(2500))
    state.add_member(group.id, handler.id, [harness.seeded.moderator_role.id])
    await post_cards(harness.bot)
    state.respond_request(group.id, user.id, handler.id, "accept")
    card = card_of(harness.standin, user.id)
    exchange = await click(harness.standin, component_id(card, "Approve"), card, who=MOD_ID)
    await exchange.wait_for_followup(1, timeout=SETTLE)
    assert exchange.followups[0].body["content"].startswith("Already accepted by ")
    await post_cards(harness.bot)  # the card round closes any card still open
    assert labels(card_of(harness.standin, user.id)) == CLOSED_CARD
    assert_all_sent_fits(harness.standin, [exchange])


async def test_the_pending_list_fits_with_long_names(harness: Harness) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    for n in range(12):
        state.add_join_request(group.id, state.add_user(long_name(2100 + n)).id)
    outcome = await harness.run(spec_named("vrc requests"), {})
    assert not outcome.failed and outcome.bodies
    assert_all_sent_fits(harness.standin, outcome.exchanges)


# ------------------------------------------------------------------ lookups, posts, instances, audit
async def test_posts_with_long_titles_list_and_offer_delete_within_limits(harness: Harness) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    for n in range(10):
        state.add_post(group.id, harness.seeded.bot.id, long_name(300 + n) if n % 2 else " \u200b ", "text")
    outcome = await harness.run(spec_named("vrc posts"), {})
    assert not outcome.failed
    assert_all_sent_fits(harness.standin, outcome.exchanges)
    (reply,) = [e for e in outcome.exchanges[0].events if e.kind == "followup"]
    options = [o for row in reply.body["components"] for c in row["components"] for o in c.get("options", [])]
    assert len(options) == 10 and all(1 <= units(o["label"]) <= 100 and o["label"].strip() for o in options)


async def test_instances_of_long_named_worlds_fit(harness: Harness) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    for n in range(20):
        state.add_instance(group.id, long_name(500 + n), "eu", 40, n_users=n)
    outcome = await harness.run(spec_named("vrc instances"), {})
    assert not outcome.failed and outcome.bodies
    assert_all_sent_fits(harness.standin, outcome.exchanges)


async def test_the_bots_own_long_profile_fits(harness: Harness) -> None:
    bot_user = harness.seeded.bot
    bot_user.display_name, bot_user.bio, bot_user.pronouns = long_name(), long_name(512), long_name(100)
    outcome = await harness.run(spec_named("vrc profile show"), {})
    assert not outcome.failed and outcome.bodies
    assert_all_sent_fits(harness.standin, outcome.exchanges)


async def test_audit_pages_of_long_entries_fit(harness: Harness) -> None:
    entries = [
        AuditEntryIn(
            id=f"gaud_long-{n}",
            created_at=datetime(2026, 11, 25, 18, n, tzinfo=UTC),
            event_type="group.user.ban",
            actor_id=harness.seeded.moderator.id,
            actor_display_name=long_name(2100),
            target_id=harness.seeded.member.id,
            description=long_name(5000),
            data={},
        )
        for n in range(12)
    ]
    await harness.bot.store.ingest(harness.seeded.group.id, entries)
    outcome = await harness.run(spec_named("audit search"), {})
    assert not outcome.failed and outcome.bodies
    (page,) = [e.message for e in outcome.exchanges[0].events if e.kind == "followup"]
    # The next page is an edit of the same message: within limits, and with mentions disabled too.
    older = await click(harness.standin, component_id(page, "Older ▸"), page, who=ADMIN_ID)
    update = await older.wait(timeout=SETTLE)
    assert update.body["type"] == 7 and update.body["data"]["allowed_mentions"] == {"parse": []}
    assert_all_sent_fits(harness.standin, [*outcome.exchanges, older])


async def test_suggestions_of_long_or_blank_names_are_valid_choices(harness: Harness) -> None:
    state, group = harness.seeded.sim.state, harness.seeded.group
    for name in (long_name(), " \ufeff ", "Carolyn" + "😀" * 60):
        state.add_user(name)
    state.add_role(group.id, long_name(300))
    state.add_role(group.id, " ")
    member = harness.standin.member(GUILD_ID, ADMIN_ID)
    asks = [
        autocomplete("vrc", "user", "Carol", channel_id=FEED_CHANNEL_ID, member=member, subcommand="invite"),
        autocomplete("vrc", "role", "", channel_id=FEED_CHANNEL_ID, member=member, subcommand="post"),
    ]
    for ask in asks:
        exchange = await harness.standin.dispatch_interaction(ask)
        callback = await exchange.wait(timeout=SETTLE)
        choices = callback.body["data"]["choices"]
        assert choices and all(1 <= units(c["name"]) <= 100 and c["name"].strip() for c in choices), choices
    assert not harness.standin.violations, harness.standin.violations
