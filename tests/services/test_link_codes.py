"""Link codes: their shape, and finding one in hostile text as a whole token and nothing else."""

from __future__ import annotations

import re

from hypothesis import given

from bot.links.codes import ALPHABET, code_digest, codes_in, holds_code, new_code
from bot.links.requesters import DiscordLink, card_line
from tests.hostile.strategies import hostile_text

CODE = "GB-7QX4-M9CW"
SHAPE = re.compile(rf"^GB-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}\Z")


def test_new_codes_have_the_shape_and_differ() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(SHAPE.match(c) for c in codes)
    assert not set(ALPHABET) & set("01OILSBAEU")  # nothing to misread, no vowels to spell words


def test_a_code_is_found_as_a_whole_token_in_any_case() -> None:
    digest = code_digest(CODE)
    for text in (
        CODE,
        f"hi! {CODE.lower()}.",
        f"({CODE})",
        f"line\n{CODE}\nmore",
        f"code:{CODE}",
        "Gb-7qx4-M9cw",
    ):
        assert holds_code((text,), digest), text
        assert holds_code((None, text), digest), text  # the status description counts as much


def test_a_code_inside_a_longer_token_or_spelt_with_look_alikes_is_not_found() -> None:
    digest = code_digest(CODE)
    for text in (
        f"X{CODE}",
        f"{CODE}1",
        f"{CODE}-X",
        f"_{CODE}",
        f"é{CODE}",
        f"{CODE}ß",
        "GB-7QX4-M9C",
        "GB 7QX4 M9CW",
        "GB-7QX4-M9\u212aW",  # the Kelvin sign folds to "k" under IGNORECASE; it is not a code letter
        "ＧＢ-7QX4-M9CW",  # full-width letters
        "GB-7QX4-\u200bM9CW",  # a zero-width space inside
        "GB\u20117QX4\u2011M9CW",  # non-breaking hyphens
        "",
    ):
        assert not holds_code((text,), digest), text
    assert not holds_code((None, None), digest)


def test_only_the_code_with_the_stored_digest_counts() -> None:
    assert not holds_code(("GB-7QX4-M9CX",), code_digest(CODE))
    assert holds_code(("GB-7QX4-M9CX GB-7QX4-M9CW",), code_digest(CODE))


@given(before=hostile_text(3000), after=hostile_text(3000))
def test_hostile_text_around_a_code(before: str, after: str) -> None:
    """Whatever surrounds it: found exactly when it stands as a token; never something that is not there."""
    text = f"{before}{CODE}{after}"
    token = not re.search(r"[\w-]\Z", before) and not re.match(r"[\w-]", after)
    assert holds_code((text,), code_digest(CODE)) == (
        token or CODE in " ".join(codes_in(before + " " + after))
    )
    for found in codes_in(text):
        assert found.casefold() in text.casefold()


@given(text=hostile_text(6000))
def test_codes_found_in_hostile_text_are_in_it(text: str) -> None:
    for found in codes_in(text):
        assert SHAPE.match(found) and found.casefold() in text.casefold()


def test_card_lines_name_only_a_member_of_this_server() -> None:
    assert card_line(DiscordLink("in_server", 123)) == "<@123> (in this server)"
    assert "123" not in card_line(DiscordLink("not_in_server"))
    assert card_line(DiscordLink("not_linked")) == "not linked"
    assert "could not be checked" in card_line(DiscordLink("unknown"))
