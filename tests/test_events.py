"""The event taxonomy: every known type has a real family, unknown input never raises."""

from __future__ import annotations

import random

import pytest

from bot.config import EVENT_FAMILIES as CONFIG_FAMILIES
from bot.events import EVENT_FAMILIES, FAMILY_DESCRIPTIONS, KNOWN_EVENT_TYPES, OTHER, family_of, is_family


def test_families_are_the_config_families_with_descriptions() -> None:
    assert CONFIG_FAMILIES is EVENT_FAMILIES  # one definition, not two that can drift
    assert EVENT_FAMILIES == (
        "requests",
        "members",
        "moderation",
        "roles",
        "invites",
        "posts",
        "instances",
        "settings",
        "other",
    )
    assert all(FAMILY_DESCRIPTIONS[f].strip() and "\n" not in FAMILY_DESCRIPTIONS[f] for f in EVENT_FAMILIES)
    assert is_family("moderation") and not is_family("group.user")


def test_every_known_type_maps_onto_a_named_family() -> None:
    assert len(KNOWN_EVENT_TYPES) >= 40
    for event_type, family in KNOWN_EVENT_TYPES.items():
        assert family in EVENT_FAMILIES and family != OTHER, event_type
        assert family_of(event_type) == family, event_type
    # Every family except "other" has at least one known type, so a binding to it can see something.
    assert set(KNOWN_EVENT_TYPES.values()) == set(EVENT_FAMILIES) - {OTHER}


@pytest.mark.parametrize(
    ("event_type", "family"),
    [
        ("group.request.create", "requests"),
        ("group.request.accept", "requests"),
        ("group.member.join", "members"),
        ("group.member.remove", "members"),
        ("group.member.user.update", "members"),
        ("group.user.ban", "moderation"),
        ("group.member.user.ban", "moderation"),
        ("group.instance.kick", "moderation"),  # exact type wins over the group.instance. prefix
        ("group.instance.warn", "moderation"),
        ("group.member.role.assign", "roles"),  # longer prefix wins over group.member.
        ("group.role.update", "roles"),
        ("group.invite.cancel", "invites"),
        ("group.post.delete", "posts"),
        ("group.announcement", "posts"),
        ("group.calendarEvent.create", "posts"),
        ("group.instance.close", "instances"),
        ("group.update", "settings"),
        ("group.gallery.update", "settings"),
        ("group.transfer.accept", "settings"),
        # Unknown types under a known prefix still land in the family.
        ("group.instance.open", "instances"),
        ("group.member.role.bulk_assign", "roles"),
        ("group.member.something", "members"),
        ("group.request.expire", "requests"),
        ("group.calendarEvent.series.create", "posts"),
        # Case drift is tolerated.
        ("GROUP.USER.BAN", "moderation"),
        ("group.calendarevent.delete", "posts"),
        # Unknown.
        ("group.user_note.set", "other"),
        ("group.brand_new", "other"),
        ("group.instance", "other"),  # a bare prefix is not a type in that family
        ("group.instance.", "other"),
        ("", "other"),
        ("user.ban", "other"),
    ],
)
def test_family_of(event_type: str, family: str) -> None:
    assert family_of(event_type) == family


def test_family_of_never_raises() -> None:
    rng = random.Random(20260101)
    alphabet = "group.instance.member.role.user._ \x00\n\u200b🎉GRP"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert family_of(text) in EVENT_FAMILIES
    for junk in (None, 42, b"group.user.ban", ["group.user.ban"]):
        assert family_of(junk) == OTHER  # type: ignore[arg-type]
