"""VRChat's JSON is made storable and sendable where it enters the bot (bot/vrchat/text_safety.py), and
read liberally (bot/vrchat/models.py): odd values never cost a page, a list or the poll loop."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.sandbox.vrchat.render import DROP
from bot.vrchat.models import AuditLogPage, GroupMember, GroupPost, User, parse_items
from bot.vrchat.text_safety import MAX_DEPTH, TOO_DEEP, decode_json, make_safe, safe_str
from tests.fixtures.vrchat_sim import SeededSim
from tests.vrchat.conftest import ClientFactory

REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Any code point, lone surrogates and controls included (st.characters leaves out surrogates by default).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=25,
)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def test_the_reported_lone_surrogate() -> None:
    """Issue #12: JSON "bad \\ud800 text"."""
    assert decode_json(b'{"description": "bad \\ud800 text"}') == {"description": "bad \ufffd text"}


def test_safe_str_keeps_what_is_fine_and_repairs_or_drops_the_rest() -> None:
    assert safe_str("tab\tnew\nline\rok 😀 ZWJ\u200d") == "tab\tnew\nline\rok 😀 ZWJ\u200d"
    assert safe_str("\ud83d\ude00") == "😀"  # a pair written as two escapes is the character it encodes
    assert safe_str("a\ude00b\ud83d") == "a\ufffdb\ufffd"  # halves on their own
    assert safe_str("n\x00u\x01l\x1f\x0bx\ufffe\uffff") == "nulx"


def test_decode_json_reads_what_python_alone_would_refuse() -> None:
    assert decode_json(b'{"n": NaN, "i": Infinity, "m": -Infinity}') == {
        "n": "NaN",
        "i": "Infinity",
        "m": "-Infinity",
    }
    huge = "9" * 5000  # Python refuses to turn over 4,300 digits into an int
    assert decode_json(f'{{"big": {huge}, "small": 12}}'.encode()) == {"big": huge, "small": 12}
    assert decode_json(b'{"k\\u0000ey": "bad \xff utf-8"}') == {"key": "bad \ufffd utf-8"}
    assert decode_json(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}
    deep = decode_json(("[" * 100 + "]" * 100).encode())
    for _ in range(MAX_DEPTH):
        deep = deep[0]
    assert deep == TOO_DEEP


def test_a_body_nested_beyond_the_parser_is_malformed_not_a_crash() -> None:
    # A RecursionError would escape the transport's "not JSON" handling and fail the poll unexpectedly.
    with pytest.raises(ValueError, match="deep"):
        decode_json(("[" * 100_000 + "]" * 100_000).encode())


@settings(max_examples=300, deadline=None)
@given(value=json_values)
@example(value={"\ud800": ["\x00", float("nan"), "\udfff\ud800"]})
def test_make_safe_gives_values_every_backend_and_discord_take(value: Any) -> None:
    safe = make_safe(value)
    for text in strings_in(safe):
        assert not REFUSED.search(text), repr(text)
        text.encode("utf-8")  # SQLite, asyncpg and orjson-style encoders insist on this
    encoded = json.dumps(safe, ensure_ascii=False, allow_nan=False)  # no NaN for PostgreSQL's json
    assert json.loads(encoded) == safe
    assert make_safe(safe) == safe  # idempotent


def test_wrong_types_fall_back_instead_of_failing_the_object() -> None:
    user = User.model_validate(
        {
            "id": "usr_x",
            "displayName": 42,
            "bio": ["a"],
            "bioLinks": "x",
            "tags": {"a": 1},
            "date_joined": "?",
        }
    )
    assert (user.display_name, user.bio, user.bio_links, user.tags, user.date_joined) == (
        "42",
        '["a"]',
        [],
        [],
        None,
    )
    member = GroupMember.model_validate({"userId": "usr_x", "user": "me", "roleIds": 5, "createdAt": []})
    assert member.user is None and member.role_ids == [] and member.created_at is None
    post = GroupPost.model_validate({"id": "not_1", "title": None, "text": 3.5, "roleId": None})
    assert (post.title, post.text, post.role_ids) == ("", "3.5", [])


def test_a_list_skips_only_the_items_it_cannot_read() -> None:
    members = parse_items(
        GroupMember, [{"userId": "usr_a"}, {"noUser": 1}, "text", None, {"userId": "usr_b"}]
    )
    assert [m.user_id for m in members] == ["usr_a", "usr_b"]
    assert parse_items(GroupMember, {"not": "a list"}) == []


def test_an_audit_page_keeps_unreadable_entries_apart_in_their_places() -> None:
    good = {"id": "gaud_1", "created_at": "2026-11-25T10:00:00.000Z", "data": "not an object"}
    page = AuditLogPage.model_validate(
        {
            "results": [
                {"id": "gaud_0", "created_at": "later"},
                good,
                ["a", "list"],
                {"id": "x" * 201, "created_at": "2026-11-25T09:00:00.000Z"},
                {"id": "gaud_9", "created_at": "0001-01-01T00:00:00Z"},
            ],
            "hasNext": True,
        }
    )
    assert [e.id for e in page.results] == ["gaud_1"] and page.results[0].data == {"value": "not an object"}
    assert page.size == 5 and page.has_next
    order = page.in_order()
    assert [getattr(item, "key", None) or item.id for item in order][:2] == ["gaud_0", "gaud_1"]  # type: ignore[union-attr]
    unreadable = page.unreadable
    assert [u.position for u in unreadable] == [0, 2, 3, 4]
    assert unreadable[0].key == "gaud_0" and "created_at" in unreadable[0].reason
    assert unreadable[1].key.startswith("unreadable:") and unreadable[1].raw == ["a", "list"]
    assert unreadable[2].key.startswith("unreadable:")  # an "id" that long is no id
    assert unreadable[2].created_at == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert unreadable[3].key == "gaud_9" and "implausible" in unreadable[3].reason
    again = AuditLogPage.model_validate({"results": [["a", "list"]]})
    assert again.unreadable[0].key == unreadable[1].key  # the same on every poll


async def test_the_client_serves_the_bot_safe_text(
    client_factory: ClientFactory, seeded_sim: SeededSim
) -> None:
    """Through the wire: the simulator sends the lone surrogate as JSON does (an escape), the client
    hands out U+FFFD; join requests and users with odd fields are read, not refused."""
    state, group = seeded_sim.sim.state, seeded_sim.group.id
    state.add_audit_entry(group, "group.update", seeded_sim.bot.id, group, "bad \ud800 text")
    state.inject_unchecked_audit_entry(group, {"created_at": None})
    request = state.group(group).memberships[seeded_sim.requester.id]  # type: ignore[union-attr]
    request.unchecked_json = {"user": {"displayName": "\ud800\x00Carol", "id": seeded_sim.requester.id}}
    seeded_sim.requester.unchecked_json = {"displayName": "\udfffCarol", "bio": {"odd": True}, "tags": DROP}
    client = await client_factory()
    await client.login()

    page = await client.get_audit_logs(group)
    assert [e.description for e in page.results][:1] == ["bad \ufffd text"]
    assert len(page.unreadable) == 1 and page.unreadable[0].position == 0
    (pending,) = await client.list_join_requests(group)
    assert pending.user is not None and pending.user.display_name == "\ufffdCarol"
    user = await client.get_user(seeded_sim.requester.id)
    assert user.display_name == "\ufffdCarol" and user.bio == '{"odd": true}' and user.tags == []
    assert seeded_sim.sim.unchecked_responses == 3
