import re

import pytest

from bot.vrchat import ids
from bot.vrchat.ids import (
    GroupShortCode,
    InvalidReference,
    parse_group_id,
    parse_group_ref,
    parse_user_id,
    require_group_id,
    require_post_id,
    require_role_id,
    require_user_id,
)

USER = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
GROUP = "grp_71a7ff59-112c-4e78-a990-c7cc650776e5"


@pytest.mark.parametrize(
    "text",
    [
        USER,
        f"  {USER}\n",
        f"https://vrchat.com/home/user/{USER}",
        f"https://www.vrchat.com/home/user/{USER}/",
        f"https://vrchat.com/home/user/{USER}?ref=discord#top",
        f"http://vrchat.com/home/user/{USER}",
    ],
)
def test_user_forms(text: str) -> None:
    assert parse_user_id(text) == USER


def test_legacy_user_id() -> None:
    assert parse_user_id("8JoV9XEdpo") == "8JoV9XEdpo"
    assert parse_user_id("https://vrchat.com/home/user/8JoV9XEdpo") == "8JoV9XEdpo"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "someone",
        "usr_not-a-uuid",
        USER.upper(),  # VRChat IDs are lower-case
        f"{USER}x",
        f"https://evil.example/home/user/{USER}",
        f"https://vrchat.com/home/group/{GROUP}",
        f"https://vrchat.com/home/world/{USER}",
        "8JoV9XEdp",  # 9 characters
        "8JoV9XEdpo!",
        f"javascript://vrchat.com/home/user/{USER}",
    ],
)
def test_user_rejections_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidReference) as err:
        parse_user_id(text)
    message = str(err.value)
    assert "usr_" in message and "https://vrchat.com/home/user/" in message


@pytest.mark.parametrize(
    "text",
    [
        GROUP,
        f"https://vrchat.com/home/group/{GROUP}",
        f"https://vrchat.com/home/group/{GROUP}/info",
        f"https://www.vrchat.com/home/group/{GROUP}?x=1",
    ],
)
def test_group_id_forms(text: str) -> None:
    assert parse_group_ref(text).group_id == GROUP
    assert parse_group_id(text) == GROUP


@pytest.mark.parametrize(
    "text",
    ["ABCDE.1234", "abcde.1234", "https://vrc.group/ABCDE.1234", "https://vrchat.com/home/group/ABCDE.1234"],
)
def test_short_codes(text: str) -> None:
    ref = parse_group_ref(text)
    assert ref.group_id is None
    assert ref.short_code == GroupShortCode("ABCDE", "1234")
    assert str(ref.short_code) == "ABCDE.1234"


def test_short_code_where_an_id_is_needed_explains() -> None:
    with pytest.raises(InvalidReference, match="short code"):
        parse_group_id("ABCDE.1234")


@pytest.mark.parametrize(
    "text",
    [
        "ABCDE",
        "ABCDE.12",
        "ABCDE.12345",
        "AB.1234",
        "grp_xyz",
        "https://vrc.group/",
        "https://vrc.group/a/b",
        USER,
    ],
)
def test_group_rejections(text: str) -> None:
    with pytest.raises(InvalidReference, match="grp_"):
        parse_group_ref(text)


def test_overlong_input_is_clipped_in_the_message() -> None:
    with pytest.raises(InvalidReference) as err:
        parse_user_id("x" * 5000)
    assert len(str(err.value)) < 500


def test_require_helpers() -> None:
    assert require_user_id(USER) == USER
    assert require_group_id(GROUP) == GROUP
    assert require_role_id("grol_459d3911-f672-44bc-b84d-e54ffe7960fe")
    assert require_post_id("not_00000000-0000-0000-0000-000000000000")
    for bad, fn in [
        ("../../auth", require_user_id),
        (f"{GROUP}/members", require_group_id),
        (GROUP, require_role_id),
        (None, require_post_id),
    ]:
        with pytest.raises(InvalidReference):
            fn(bad)  # type: ignore[arg-type]


WORLD = "wrld_4cf554b4-430c-4f8f-b53e-1f294eb230dd"


def test_locations_and_launch_links() -> None:
    from bot.vrchat.ids import launch_url, parse_location

    location = (
        f"{WORLD}:12345~group(grp_71a7ff59-112c-4e78-a990-c7cc650776e5)~groupAccessType(members)~region(eu)"
    )
    world, instance = parse_location(location) or ("", "")
    assert world == WORLD and instance.startswith("12345~group(")
    url = launch_url(world, instance)
    assert url is not None and url.startswith("https://vrchat.com/home/launch?worldId=" + WORLD)
    assert "%28" in url and "(" not in url  # encoded, so it survives inside a markdown link
    for bad in [None, "", WORLD, "offline", f"{WORLD}:12345~evil)](https://x", "wrld_x:12345", f"{WORLD}:"]:
        assert parse_location(bad) is None


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (ids.USER_ID_RE, "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469\n"),
        (ids.GROUP_ID_RE, "grp_c1644b5b-3ca4-45b4-97c6-a2a0de70d469\n"),
        (ids.LEGACY_USER_ID_RE, "abcdefghij\n"),
        (ids.WORLD_ID_RE, "wrld_c1644b5b-3ca4-45b4-97c6-a2a0de70d469\n"),
    ],
)
def test_an_id_with_a_trailing_newline_is_not_an_id(pattern: re.Pattern[str], value: str) -> None:
    # `$` matches before a final newline; an ID that reaches a URL or a custom_id must end where it ends.
    assert pattern.match(value) is None
    assert pattern.match(value.rstrip("\n")) is not None
