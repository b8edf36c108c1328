"""bot/vrchat/ids.py against arbitrary text: a strictly valid value, or InvalidReference with a short,
one-line message; never another exception, never an unbounded echo of what was pasted."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.vrchat import ids
from bot.vrchat.ids import (
    GROUP_ID_RE,
    INSTANCE_ID_RE,
    LAUNCH_URL,
    POST_ID_RE,
    ROLE_ID_RE,
    SHORT_CODE_RE,
    WORLD_ID_RE,
    GroupRef,
    InvalidReference,
    is_user_id,
)
from tests.hostile.checks import units
from tests.hostile.strategies import examples, group_ids, hostile_text, user_ids, uuids

# A message goes into one Discord message (2,000 units) with room to spare, however long the input.
MESSAGE_MAX = 1500

urlish = st.one_of(
    hostile_text(),
    st.builds(
        "{}://{}/{}".format,
        st.sampled_from(["http", "https", "ftp", "HTTPS", "javascript"]),
        st.sampled_from(
            ["vrchat.com", "VRChat.com", "www.vrchat.com", "vrc.group", "evil.example", "[", "[::1"]
        ),
        hostile_text(200),
    ),
)


def assert_clear_refusal(exc: InvalidReference) -> None:
    message = str(exc)
    assert message.strip(), "an empty refusal"
    assert units(message) <= MESSAGE_MAX, f"{units(message)} units: {message[:200]!r}…"
    assert "\n" not in message and "\r" not in message, message


def parse_or_refuse(parse: Callable[[Any], Any], text: Any) -> Any:
    """The parsed value, or None after checking the refusal; any other exception propagates."""
    try:
        return parse(text)
    except InvalidReference as exc:
        assert_clear_refusal(exc)
        return None


@examples(300)
@given(urlish)
@example("http://[")  # urlsplit raises ValueError("Invalid IPv6 URL") for an unclosed bracket
@example("https://vrchat.com:99999999/home/user/usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469")
def test_parse_user_id_returns_a_strict_id_or_refuses(text: str) -> None:
    user_id = parse_or_refuse(ids.parse_user_id, text)
    if user_id is not None:
        assert is_user_id(user_id) and user_id in text


@examples(300)
@given(urlish)
@example("https://vrc.group/[")
@example("https://[/home/group/grp_71a7ff59-112c-4e78-a990-c7cc650776e5")
def test_parse_group_ref_returns_one_strict_form_or_refuses(text: str) -> None:
    ref = parse_or_refuse(ids.parse_group_ref, text)
    if ref is None:
        return
    assert isinstance(ref, GroupRef) and (ref.group_id is None) != (ref.short_code is None)
    if ref.group_id is not None:
        assert GROUP_ID_RE.match(ref.group_id) and ref.group_id in text
    else:
        assert ref.short_code is not None and SHORT_CODE_RE.match(str(ref.short_code))
        assert ref.short_code.code == ref.short_code.code.upper()
    group_id = parse_or_refuse(ids.parse_group_id, text)
    assert group_id == ref.group_id  # a short code is refused, an ID is the same ID


REQUIRES: list[tuple[Callable[[object], str], re.Pattern[str] | None]] = [
    (ids.require_user_id, None),
    (ids.require_group_id, GROUP_ID_RE),
    (ids.require_role_id, ROLE_ID_RE),
    (ids.require_post_id, POST_ID_RE),
]


@pytest.mark.parametrize(("require", "pattern"), REQUIRES, ids=lambda v: getattr(v, "__name__", ""))
@examples(100)
@given(
    value=st.one_of(
        hostile_text(),
        st.none(),
        st.integers(),
        st.binary(max_size=50),
        st.lists(st.text(max_size=5), max_size=3),
        uuids().map(lambda u: f"grp_{u}"),
        uuids().map(lambda u: f"usr_{u}"),
    )
)
def test_require_returns_the_same_valid_id_or_refuses(
    require: Callable[[object], str], pattern: re.Pattern[str] | None, value: object
) -> None:
    checked = parse_or_refuse(require, value)
    if checked is not None:
        assert checked is value
        assert is_user_id(checked) if pattern is None else pattern.match(checked)


hosts = st.sampled_from(["vrchat.com", "www.vrchat.com", "VRChat.com", "WWW.VRCHAT.COM"])
tails = st.sampled_from(["", "/", "/members", "?tab=1", "#about", "/x?y=z#w"])
padding = st.sampled_from(["", " ", "\n", "\t ", "  \n"])


@examples(100)
@given(
    user_id=st.one_of(user_ids(), st.from_regex(r"\A[A-Za-z0-9]{10}\Z")),
    scheme=st.sampled_from(["http", "https"]),
    host=hosts,
    tail=tails,
    pad=padding,
)
def test_a_valid_user_id_parses_bare_or_in_a_profile_link(
    user_id: str, scheme: str, host: str, tail: str, pad: str
) -> None:
    assert ids.parse_user_id(f"{pad}{user_id}{pad}") == user_id
    assert ids.parse_user_id(f"{pad}{scheme}://{host}/home/user/{user_id}{tail}{pad}") == user_id


@examples(100)
@given(group_id=group_ids(), scheme=st.sampled_from(["http", "https"]), host=hosts, tail=tails, pad=padding)
def test_a_valid_group_id_parses_bare_or_in_a_group_link(
    group_id: str, scheme: str, host: str, tail: str, pad: str
) -> None:
    assert ids.parse_group_id(f"{pad}{group_id}{pad}") == group_id
    assert ids.parse_group_id(f"{pad}{scheme}://{host}/home/group/{group_id}{tail}{pad}") == group_id


@examples(100)
@given(
    code=st.from_regex(r"\A[A-Za-z0-9]{3,6}\Z"),
    number=st.from_regex(r"\A[0-9]{4}\Z"),
    host=st.sampled_from(["vrc.group", "www.vrc.group", "VRC.GROUP"]),
)
def test_a_short_code_parses_bare_or_in_a_vrc_group_link(code: str, number: str, host: str) -> None:
    expected = f"{code.upper()}.{number}"
    assert str(ids.parse_group_ref(f"{code}.{number}").short_code) == expected
    assert str(ids.parse_group_ref(f"https://{host}/{code}.{number}").short_code) == expected
    with pytest.raises(InvalidReference, match="short code"):
        ids.parse_group_id(f"{code}.{number}")


@examples(100)
@given(
    user_id=user_ids(),
    host=st.sampled_from(
        [
            "evil.example",
            "vrchat.com.evil.example",
            "vrchat.com@evil.example",
            "evil.example#@vrchat.com",
            "evilvrchat.com",
        ]
    ),
)
def test_an_id_in_a_link_to_another_site_is_refused(user_id: str, host: str) -> None:
    with pytest.raises(InvalidReference):
        ids.parse_user_id(f"https://{host}/home/user/{user_id}")


world_ids = uuids().map(lambda u: f"wrld_{u}")
instance_ids = st.from_regex(r"\A[A-Za-z0-9]{1,8}(~[a-z]{1,8}(\([A-Za-z0-9_.:-]{0,20}\))?){0,3}\Z")


@examples(200)
@given(st.one_of(hostile_text(300), st.none(), st.builds("{}:{}".format, world_ids, instance_ids)))
def test_parse_location_never_raises_and_keeps_only_strict_ids(location: str | None) -> None:
    parsed = ids.parse_location(location)
    if parsed is not None:
        world, instance = parsed
        assert WORLD_ID_RE.match(world) and INSTANCE_ID_RE.match(instance)
        assert location == f"{world}:{instance}"


@examples(200)
@given(
    world=st.one_of(world_ids, hostile_text(200), st.none()),
    instance=st.one_of(instance_ids, hostile_text(200), st.none()),
)
def test_launch_url_round_trips_strict_ids_and_nothing_else(world: str | None, instance: str | None) -> None:
    url = ids.launch_url(world, instance)
    strict = bool(world and instance and WORLD_ID_RE.match(world) and INSTANCE_ID_RE.match(instance))
    assert (url is not None) == strict
    if url is not None:
        assert url.startswith(LAUNCH_URL)
        # Nothing that could end a markdown link or an autolink early, no whitespace.
        assert re.fullmatch(r"[A-Za-z0-9:/?&=%._~+-]+", url), url
        assert parse_qs(urlsplit(url).query) == {"worldId": [world], "instanceId": [instance]}
