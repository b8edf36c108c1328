"""What the bot renders from user-controlled text (bot/text.py, the audit feed, join-request cards): for
any input, within Discord's limits, no live mention, no masked link to anywhere but VRChat pages
built from strict IDs (see tests/hostile/checks.py for what each of those means)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import discord
from hypothesis import example, given
from hypothesis import strategies as st

from bot.events import KNOWN_EVENT_TYPES
from bot.feed.render import embed_size, render_entry, render_gap_notice
from bot.requests.cards import Closing, closed_card, request_card
from bot.requests.model import build_request
from bot.requests.reconcile import CardChange
from bot.services.watchlist import summarise
from bot.store.types import StoredEntry
from bot.store.watchlist import NOTE_MAX, WatchEntry
from bot.text import ZWSP, clip, format_value, plain_line, safe_text, text_units
from bot.vrchat.ids import is_user_id
from bot.vrchat.models import GroupMember, GroupMemberUser, User, UserGroup
from tests.hostile.checks import USER_URL, blank, live_link_targets, live_mentions, message_problems, units
from tests.hostile.strategies import MENTIONS, examples, group_ids, hostile_text, user_ids, uuids

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
# Markdown that changes how a line looks when it starts a line; all of it must come out escaped.
LINE_MARKUP = re.compile(r"^(?:#{1,3} |> |>>> |-# )", re.MULTILINE)


def assert_message_ok(embeds: list[discord.Embed], allowed: tuple[re.Pattern[str], ...] = ()) -> None:
    body = {"embeds": [e.to_dict() for e in embeds]}
    json.dumps(body)  # what discord.py will send must serialise
    problems = message_problems(body, allowed=allowed)
    assert not problems, "\n".join(problems)


# --- bot/text.py -----------------------------------------------------------------------------------------

values = st.recursive(
    st.one_of(hostile_text(), st.none(), st.booleans(), st.integers(), st.floats()),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(hostile_text(30), inner, max_size=5),
    max_leaves=20,
)


@examples(300)
@given(value=st.one_of(hostile_text(), values), limit=st.integers(1, 6000), single_line=st.booleans())
@example(value="@everyone <@&1> [x](https://evil.example)", limit=10, single_line=False)
@example(value="😀" * 5000, limit=4096, single_line=True)
@example(value="a\\", limit=2, single_line=False)
@example(value=" \ufeff\u3000\x00", limit=100, single_line=True)  # was "": Discord refuses blank fields
def test_safe_text_is_inert_and_within_its_limit(value: Any, limit: int, single_line: bool) -> None:
    text = safe_text(value, limit, single_line=single_line)
    assert units(text) <= limit and (value == "" or not blank(text)), repr(text)
    assert not live_mentions(text), text
    assert not live_link_targets(text), text
    assert not LINE_MARKUP.search(text), text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), text  # tab and newline only as themselves
    if single_line:
        assert "\n" not in text and "\r" not in text, text


@examples(200)
@given(text=hostile_text(), limit=st.integers(1, 3000))
def test_plain_line_is_one_line_without_mentions_within_its_limit(text: str, limit: int) -> None:
    line = plain_line(text, limit)
    assert units(line) <= limit and not live_mentions(line), line
    assert not re.search(r"[\x00-\x1f\x7f]", line), line


@examples(300)
@given(text=hostile_text(), limit=st.integers(0, 12_000))
def test_clip_keeps_a_prefix_within_the_limit(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert text_units(text) == units(text)  # the code's count is exactly UTF-16's
    assert units(clipped) <= limit
    if units(text) <= limit:
        assert clipped == text
    elif clipped:
        assert clipped.endswith("…") and text.startswith(clipped[:-1])


@examples(100)
@given(value=values)
def test_format_value_never_fails_on_data(value: Any) -> None:
    assert isinstance(format_value(value), str)


# --- the audit feed ---------------------------------------------------------------------------------------

refs = st.one_of(
    user_ids(), group_ids(), st.sampled_from(["vrc_admin", "vrc_system", "8JoV9XEdpo"]), hostile_text(300)
)
locations = st.builds(
    "wrld_{}:{}~group(grp_{})~region(eu)".format, uuids(), st.from_regex(r"\A[0-9]{1,6}\Z"), uuids()
)
change = st.fixed_dictionaries({}, optional={"old": values, "new": values})
# The keys the family renderers read, so hostile values reach every one of them.
DATA_KEYS = (
    *("roleName", "name", "permissions", "title", "text", "visibility", "accessType", "location"),
    *("groupAccessType", "message", "transferTargetId", "oldOwnerId", "isPurchase"),
)
entry_data = st.one_of(
    st.dictionaries(
        st.one_of(st.sampled_from(DATA_KEYS), hostile_text(60)),
        st.one_of(values, change, refs),
        max_size=8,
    ),
    values,
)
entries = st.builds(
    StoredEntry,
    id=st.one_of(uuids().map(lambda u: f"gaud_{u}"), hostile_text(300)),
    group_id=st.one_of(group_ids(), hostile_text(100)),
    created_at=st.datetimes(timezones=st.just(UTC)),
    event_type=st.one_of(st.sampled_from(sorted(KNOWN_EVENT_TYPES)), hostile_text(300)),
    actor_id=st.one_of(st.none(), refs),
    actor_display_name=st.one_of(st.none(), hostile_text()),
    target_id=st.one_of(st.none(), refs, locations),
    description=hostile_text(),
    data=entry_data,
    fetched_at=st.just(WHEN),
    discord_actor_id=st.one_of(st.none(), st.integers(1, 2**63)),
    discord_actor_name=st.one_of(st.none(), hostile_text()),
)


@examples(300)
@given(entry=entries, delayed=st.booleans(), group_name=st.one_of(st.none(), hostile_text()))
def test_a_feed_entry_renders_within_limits_without_pings_or_foreign_links(
    entry: StoredEntry, delayed: bool, group_name: str | None
) -> None:
    embed = render_entry(entry, delayed=delayed, group_name=group_name)
    assert_message_ok([embed])
    assert embed_size(embed) >= sum(units(t) for t in (embed.title, embed.description) if t)
    if entry.actor_id and is_user_id(entry.actor_id):
        # However the display name is made, the actor's profile link survives intact.
        actor = next((f.value or "" for f in embed.fields if f.name == "Actor"), "")
        assert actor.startswith("[") and actor.endswith(f"]({USER_URL}{entry.actor_id})"), actor
        assert live_link_targets(actor) == [f"{USER_URL}{entry.actor_id}"], actor


TIMESTAMP = re.compile(r"<t:-?\d+:f>")  # the gap notice's own timestamps, not user text


@examples(100)
@given(
    group_id=st.one_of(group_ids(), hostile_text()),
    reason=hostile_text(),
    start=st.datetimes(),
    end=st.datetimes(),
)
def test_a_gap_notice_renders_within_limits_without_pings(
    group_id: str, reason: str, start: datetime, end: datetime
) -> None:
    assert_message_ok([render_gap_notice(group_id, start, end, reason)], allowed=(TIMESTAMP,))


# --- join-request cards -----------------------------------------------------------------------------------

users = st.builds(
    User,
    id=user_ids(),
    display_name=hostile_text(),
    bio=st.one_of(st.none(), hostile_text()),
    tags=st.lists(
        st.one_of(st.sampled_from(["system_trust_basic", "system_trust_veteran"]), hostile_text(40))
    ),
    age_verification_status=st.one_of(st.none(), st.just("18+"), hostile_text(20)),
    date_joined=st.one_of(st.none(), st.dates(max_value=date(2026, 3, 4))),
    user_icon=st.one_of(st.none(), st.just("https://files.vrchat.cloud/icon.png"), hostile_text(100)),
)
user_groups = st.lists(
    st.builds(UserGroup, group_id=st.one_of(st.none(), group_ids(), hostile_text(100)), name=hostile_text()),
    max_size=30,
)
watch = st.lists(
    st.builds(
        WatchEntry,
        id=st.just(1),
        binding_id=st.just(1),
        group_id=group_ids(),
        note=hostile_text(NOTE_MAX),
        added_by_discord_id=st.just(1),
        added_at=st.just(WHEN),
    ),
    max_size=5,
)


@examples(200)
@given(
    user=users,
    requester_name=st.one_of(st.none(), hostile_text()),
    groups=st.one_of(st.none(), user_groups),
    watched=watch,
    rule_note=st.one_of(st.none(), hostile_text()),
    state=st.sampled_from(["pending", "accepted", "rejected", "blocked", "gone", "odd"]),
    outcome=hostile_text(),
)
@example(
    user=User(
        id="usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469", display_name=" ".join(MENTIONS), bio="[x](y) " * 99
    ),
    requester_name=None,
    groups=[UserGroup(group_id=None, name="@everyone")] * 4,
    watched=[],
    rule_note="<@&1>",
    state="pending",
    outcome="@here",
)
def test_a_join_request_card_stays_within_limits_and_inert(
    user: User,
    requester_name: str | None,
    groups: list[UserGroup] | None,
    watched: list[WatchEntry],
    rule_note: str | None,
    state: str,
    outcome: str,
) -> None:
    group_id = "grp_71a7ff59-112c-4e78-a990-c7cc650776e5"
    request = GroupMember(
        user_id=user.id, created_at=WHEN, user=GroupMemberUser(id=user.id, display_name=requester_name)
    )
    view = build_request(group_id, request, user, WHEN.date())
    # Watchlist hits are the requester's groups that the server watches.
    hits = [
        WatchEntry(1, 1, g.group_id, w.note, 1, WHEN)
        for g, w in zip(groups or [], watched, strict=False)
        if g.group_id
    ]
    summary = summarise(groups, hits)
    card = request_card(view, summary, rule_note, state)
    assert_message_ok([card])
    # The outcome line quotes whoever ended the request: a VRChat display name, hostile like any other.
    change = CardChange(
        "update", group_id, user.id, 1, 1, state, display_name=view.display_name, handled_by=outcome
    )  # type: ignore[arg-type]
    closing = Closing.of_change(change)
    assert_message_ok([closed_card(card, closing), closed_card(None, closing)])
    assert ZWSP not in (card.footer.text or "")  # the footer holds strict IDs only: nothing to neutralise
