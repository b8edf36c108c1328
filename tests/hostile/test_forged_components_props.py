"""Forged clicks on the desk's and the alerts' restart-safe components, through the real bot on the
Discord stand-in and the VRChat simulator.

A DynamicItem trusts nothing but its custom_id (and a select its values), so whoever can put a
component on a message, or an old message whose IDs now mean something else, decides what reaches
`from_custom_id`. Whatever arrives - the right prefix with hostile text after it, IDs of groups that
are not bound, of users who do not exist, of alerts, reports and ban prompts that were never made,
numbers too big for the database - the bot logs no error, and nothing changes in VRChat or the
database. A custom_id one of the bot's templates takes is answered privately (a refusal, a "not
found", or a harmless panel, history or confirmation that is then cancelled); anything else is left
alone, as discord.py leaves a custom_id no item claims.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.banbridge.views import TEMPLATE as BAN_PROMPT_TEMPLATE
from bot.desk.actions import ACTION_TEMPLATE
from bot.desk.views import HISTORY_TEMPLATE, PAGE_TEMPLATE
from bot.feed.actions import FEED_ACTIONS_ID, KINDS
from bot.instances.views import CloseButton
from bot.links.views import VerifyButton
from bot.requests.views import TEMPLATE as CARD_TEMPLATE
from bot.sandbox.discord import InteractionExchange, StandInMessage, button_click
from bot.views.errors import UNEXPECTED
from bot.watchdog.views import DismissButton, KillSwitchButton
from tests.discord.conftest import answered, card_messages, components, is_ephemeral, post_cards
from tests.fixtures.discord_gateway import GUILD_ID, MEMBER_ID, MOD_ID
from tests.hostile.bot_driver import OWN_TOKENS, SETTLE_SECONDS, Harness
from tests.hostile.checks import message_problems
from tests.hostile.strategies import GROUP_ID, SHARED_FIXTURES, USER_ID, examples, hostile_text

CUSTOM_ID_MAX = 100  # Discord's limit for a custom_id and for a select option's value
# Every template the bot registers a DynamicItem for: a forged ID one of these takes must be answered.
TEMPLATES = tuple(
    re.compile(t)
    for t in (
        ACTION_TEMPLATE,
        HISTORY_TEMPLATE,
        PAGE_TEMPLATE,
        KillSwitchButton.TEMPLATE,
        DismissButton.TEMPLATE,
        CloseButton.TEMPLATE,
        BAN_PROMPT_TEMPLATE,
        CARD_TEMPLATE,
        VerifyButton.TEMPLATE,
        re.escape(FEED_ACTIONS_ID),
    )
)
PREFIXES = (
    "gb:ua:ban:",
    "gb:ua:kick:",
    "gb:ua:unban:",
    "gb:uh:",
    "gb:hp:",
    "gb:alert:kill:",
    "gb:alert:dismiss:",
    "gb:inst:close:",
    "gb:ban:confirm:",
    "gb:ban:dismiss:",
    "gb:link:verify:",
    "gb:fa",
)
SNOWFLAKE_SHAPED = st.one_of(
    st.sampled_from(["0", "1", "9223372036854775807", "9223372036854775808", "9" * 19, "0" * 19]),
    st.integers(0, 10**19 - 1).map(str),
)
ID_CHARACTERS = st.text("abcdefABCDEF0123456789_-", min_size=1, max_size=60)


def taken(custom_id: str) -> bool:
    return any(t.fullmatch(custom_id) for t in TEMPLATES)


def group_ids(harness: Harness) -> st.SearchStrategy[str]:
    """Mostly the bound group (so a forged ID gets past the permission check), else a well-formed one
    that is not bound, or a shape only the template accepts."""
    bound = harness.seeded.group.id
    return st.sampled_from([bound, bound, GROUP_ID, ""]).flatmap(
        lambda group: st.just(group) if group else ID_CHARACTERS.map(lambda s: f"grp_{s}")
    )


def user_ids(harness: Harness) -> st.SearchStrategy[str]:
    """Members, strangers, the bot's own account, an unknown user, and (mostly) shapes only the
    template accepts."""
    seeded = harness.seeded
    known = [seeded.member.id, seeded.outsider.id, seeded.requester.id, seeded.moderator.id, seeded.bot.id]
    return st.sampled_from([*known, USER_ID, *[""] * 6]).flatmap(
        lambda user: st.just(user) if user else ID_CHARACTERS
    )


@st.composite
def forged_custom_ids(draw: st.DrawFn, harness: Harness) -> str:
    """The shapes the templates take, with hostile parts in them, or a prefix and then anything."""
    group, user = draw(group_ids(harness)), draw(user_ids(harness))
    number, round_ = draw(SNOWFLAKE_SHAPED), draw(st.integers(0, 10**9 - 1).map(str))
    shaped = [
        *(f"gb:ua:{action}:{group}:{user}" for action in ("ban", "kick", "unban")),
        f"gb:uh:{group}:{user}",
        f"gb:hp:{number}:{round_}",
        f"gb:alert:kill:{number}",
        f"gb:alert:dismiss:{number}",
        f"gb:inst:close:{number}",
        f"gb:ban:confirm:{number}:{round_}",
        f"gb:ban:dismiss:{number}:{round_}",
        f"gb:link:verify:{number}",
    ]
    tail = draw(hostile_text(CUSTOM_ID_MAX), label="tail")
    anything = [p + tail for p in PREFIXES]
    custom_id = draw(st.sampled_from([*shaped, *shaped, *anything]))
    return custom_id[:CUSTOM_ID_MAX] or "gb:"


@st.composite
def forged_values(draw: st.DrawFn, harness: Harness) -> str:
    """A value of the feed's select: "<kind>:<group>:<user>" with hostile parts, or anything."""
    kind = draw(st.sampled_from([*sorted(KINDS), "", "note", "ban ", "BAN"]))
    shaped = f"{kind}:{draw(group_ids(harness))}:{draw(user_ids(harness))}"
    hostile = draw(st.sampled_from([False, False, False, True]), label="hostile")
    value = draw(hostile_text(CUSTOM_ID_MAX, 1), label="value") if hostile else shaped
    return value[:CUSTOM_ID_MAX] or "x"


async def a_card(harness: Harness) -> list[StandInMessage]:
    """The bot's join-request cards, posted on first use (before anything is measured)."""
    if not card_messages(harness.standin):
        await post_cards(harness.bot)
    return card_messages(harness.standin)


async def forged_click(
    harness: Harness, component: dict[str, Any], who: int, values: list[str] | None = None
) -> InteractionExchange:
    """A click by `who` on `component`, carried by a message of the bot's (a join-request card) as
    Discord would send it."""
    cards = await a_card(harness)
    member = harness.standin.member(GUILD_ID, who)
    payload = button_click(component["custom_id"], cards[0], member=member, values=values)
    payload["message"] = harness.standin.render_message(cards[0])
    payload["message"]["components"] = [{"type": 1, "components": [component]}]
    return await harness.standin.dispatch_interaction(payload)


async def cancel_as(harness: Harness, exchange: InteractionExchange, who: int) -> None:
    """Answer Cancel on a confirmation the click opened, as the person who clicked, until it ends."""
    for event in list(exchange.events):
        prompt: StandInMessage | None = event.message
        cancel = [c for c in (components(prompt) if prompt else []) if c.get("label") == "Cancel"]
        if cancel and prompt is not None:
            member = harness.standin.member(GUILD_ID, who)
            answer = await harness.standin.dispatch_interaction(
                button_click(cancel[0]["custom_id"], prompt, member=member)
            )
            await answer.wait_for_edit(timeout=SETTLE_SECONDS)  # "Nothing was changed."


async def settled_without_answer(harness: Harness, exchange: InteractionExchange, who: int) -> None:
    """A click nothing claims gets no answer: once a later click is answered, this one had its turn."""
    select = {"type": 3, "custom_id": FEED_ACTIONS_ID, "options": [{"label": "x", "value": "x"}]}
    later = await forged_click(harness, select, who, values=["x"])
    await later.wait_for(answered, timeout=SETTLE_SECONDS, what="an answer to the later click")
    assert not exchange.events, f"a custom_id no template takes was answered: {exchange.events}"


async def click_forged(
    harness: Harness, component: dict[str, Any], who: int, values: list[str] | None = None
) -> None:
    """Click `component` on a bot message as `who`; the bot answers safely and changes nothing."""
    await a_card(harness)
    before_db, before_writes = harness.db_snapshot(), len(harness.vrchat_writes())
    with harness.error_log() as errors:
        exchange = await forged_click(harness, component, who, values)
        if taken(component["custom_id"]):
            await exchange.wait_for(answered, timeout=SETTLE_SECONDS, what="an answer")
            await cancel_as(harness, exchange, who)
            first = exchange.callback.data if exchange.callback and exchange.callback.data else {}
            assert is_ephemeral(first), f"answered in public: {exchange.events}"
        else:
            await settled_without_answer(harness, exchange, who)
    assert not errors.lines, f"errors were logged: {errors.lines}"
    assert not harness.standin.violations, harness.standin.violations
    assert not harness.seeded.sim.violations, harness.seeded.sim.violations
    for event in exchange.events:
        if event.kind in ("callback", "followup", "edit") and event.ok and "content" in event.data:
            body = event.data
            assert body.get("allowed_mentions") == {"parse": []}, body
            assert not message_problems(body, allowed=OWN_TOKENS), body
            assert UNEXPECTED not in (body.get("content") or ""), body["content"]
    assert harness.vrchat_writes()[before_writes:] == [], "a forged click wrote to VRChat"
    assert harness.db_snapshot() == before_db, "a forged click changed the database"


@examples(80, suppress_health_check=SHARED_FIXTURES)
@given(data=st.data())
async def test_forged_button_custom_ids_change_nothing(harness: Harness, data: st.DataObject) -> None:
    custom_id = data.draw(forged_custom_ids(harness), label="custom_id")
    who = data.draw(st.sampled_from([MOD_ID, MOD_ID, MEMBER_ID]), label="who")
    await click_forged(harness, {"type": 2, "style": 2, "label": "Forged", "custom_id": custom_id}, who)


@examples(60, suppress_health_check=SHARED_FIXTURES)
@given(data=st.data())
async def test_forged_values_of_the_feed_select_change_nothing(harness: Harness, data: st.DataObject) -> None:
    value = data.draw(forged_values(harness), label="value")
    who = data.draw(st.sampled_from([MOD_ID, MOD_ID, MEMBER_ID]), label="who")
    select = {"type": 3, "custom_id": FEED_ACTIONS_ID, "options": [{"label": "x", "value": value}]}
    await click_forged(harness, select, who, values=[value])


# What the properties above found once, kept so that every run tries them: row IDs beyond SQLite's
# 64-bit integers (they crashed the lookup), and user IDs only the template's loose shape takes (they
# went into a profile link on the confirmation and the panel).
FOUND_BUTTONS = (
    "gb:alert:kill:9223372036854775808",
    "gb:alert:dismiss:9999999999999999999",
    "gb:inst:close:9223372036854775808",
    "gb:ban:confirm:9223372036854775808:1",
    "gb:link:verify:9223372036854775808",
    "gb:ua:ban:{group}:0",
    "gb:ua:unban:{group}:ABC-_",
    "gb:uh:{group}:0",
    "gb:hp:0:2",  # not found, tried anyway: the Next of a history that fits on one page (no pager)
    "gb:hp:999999999999999999:1",
)
FOUND_VALUES = ("ban:{group}:0", "join:{group}:usr_")


async def test_forgeries_found_before_change_nothing(harness: Harness) -> None:
    group = harness.seeded.group.id
    for custom_id in FOUND_BUTTONS:
        button = {"type": 2, "style": 2, "label": "Forged", "custom_id": custom_id.format(group=group)}
        await click_forged(harness, button, MOD_ID)
    for value in (v.format(group=group) for v in FOUND_VALUES):
        select = {"type": 3, "custom_id": FEED_ACTIONS_ID, "options": [{"label": "x", "value": value}]}
        await click_forged(harness, select, MOD_ID, values=[value])
