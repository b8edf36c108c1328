"""Rendering audit entries as embeds: every family, hostile text made inert, limits never exceeded."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from bot.events import EVENT_FAMILIES, EVENT_TITLES, KNOWN_EVENT_TYPES
from bot.feed import render
from bot.feed.render import (
    DESCRIPTION_CLIP,
    FAMILY_COLOURS,
    FAMILY_RENDERERS,
    TOTAL_BUDGET,
    embed_size,
    render_entry,
    render_gap_notice,
    render_outbox_item,
)
from bot.store.types import OutboxItem, StoredEntry
from bot.text import ZWSP, clip, safe_text, text_units

USER = "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469"
TARGET = "usr_00000000-1111-2222-3333-444444444444"
GROUP = "grp_71a7ff59-112c-4e78-a990-c7cc650776e5"
# Ids are escaped like any other text; Discord shows "\_" as "_".
GROUP_LABEL = GROUP.replace("_", "\\_")
TARGET_LABEL = TARGET.replace("_", "\\_")
AUDIT = "gaud_71a7ff59-112c-4e78-a990-c7cc650776e5"
WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
HOSTILE = "@everyone @here <@123> <@&456> <#789> **bold** __u__ [x](http://evil) `c` ~~s~~ ||sp|| > q"


def make(event_type: str = "group.user.ban", **overrides: Any) -> StoredEntry:
    values: dict[str, Any] = {
        "id": AUDIT,
        "group_id": GROUP,
        "created_at": WHEN,
        "event_type": event_type,
        "actor_id": USER,
        "actor_display_name": "Mod Name",
        "target_id": TARGET,
        "description": "Something happened.",
        "data": {},
        "fetched_at": WHEN,
        "discord_actor_id": None,
        "discord_actor_name": None,
    }
    values.update(overrides)
    return StoredEntry(**values)


def strings(obj: Any) -> list[str]:
    """Every string inside an embed's to_dict(), keys excluded."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in strings(v)]
    return []


def unescaped(text: str) -> list[tuple[int, str]]:
    """(position, char) of every character not preceded by an escaping backslash."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 2
            continue
        out.append((i, text[i]))
        i += 1
    return out


def link_targets(text: str) -> list[str]:
    """URLs of the masked links Discord would render: an unescaped '](' followed by a URL."""
    live = dict(unescaped(text))
    return [
        text[i + 2 : text.index(")", i) if ")" in text[i:] else len(text)]
        for i, ch in live.items()
        if ch == "]" and live.get(i + 1) == "("
    ]


def assert_inert(embed: discord.Embed) -> None:
    for text in strings(embed.to_dict()):
        assert not re.search(r"@(everyone|here)", text), text
        assert not re.search(r"<[@#&/:a-z]", text), text  # every '<' is followed by a zero-width space
    # Footers are plain text in Discord; the title, description and fields render markdown links.
    rendered = [embed.title or "", embed.description or ""]
    rendered += [text or "" for f in embed.fields for text in (f.name, f.value)]
    for text in rendered:
        for url in link_targets(text):
            assert url.startswith(("https://vrchat.com/home/user/", "https://vrchat.com/home/group/")), text


def assert_within_limits(embed: discord.Embed) -> None:
    assert text_units(embed.title or "") <= 256
    assert text_units(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert 0 < text_units(field.name or "") <= 256
        assert 0 < text_units(field.value or "") <= 1024
    assert text_units(embed.footer.text or "") <= 2048
    assert embed_size(embed) <= TOTAL_BUDGET < 6000
    assert embed_size(embed) >= len(embed)  # never below discord.py's own code-point count
    json.dumps(embed.to_dict())


def field(embed: discord.Embed, name: str) -> str:
    values = [f.value for f in embed.fields if f.name == name]
    assert values, f"no field {name!r} in {[f.name for f in embed.fields]}"
    return values[0] or ""


# One known type per family, with the data VRChat sends for it.
FAMILY_SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "requests": ("group.request.accept", {}),
    "members": ("group.member.join", {}),
    "moderation": ("group.instance.kick", {"location": "wrld_1:123~group(grp_1)~region(eu)"}),
    "roles": ("group.member.role.assign", {"roleId": "grol_1", "roleName": "Moderator"}),
    "invites": ("group.invite.create", {}),
    "posts": (
        "group.post.create",
        {"title": "Event tonight", "text": "Bring friends", "visibility": "group"},
    ),
    "instances": ("group.instance.create", {"groupAccessType": "plus", "roleIds": []}),
    "settings": ("group.transfer.start", {"transferTargetId": TARGET}),
    "other": ("group.mystery.thing", {"colour": "blue"}),
}


def test_one_renderer_and_colour_per_family() -> None:
    assert set(FAMILY_RENDERERS) == set(EVENT_FAMILIES) == set(FAMILY_COLOURS) == set(FAMILY_SAMPLES)
    assert len(set(FAMILY_COLOURS.values())) == len(FAMILY_COLOURS)  # families tell apart at a glance


@pytest.mark.parametrize("family", EVENT_FAMILIES)
def test_every_family_renders(family: str) -> None:
    event_type, data = FAMILY_SAMPLES[family]
    embed = render_entry(make(event_type, data=data))
    assert embed.colour is not None and embed.colour.value == FAMILY_COLOURS[family]
    assert embed.title == EVENT_TITLES.get(event_type, f"Unrecognised event: {event_type}")
    assert embed.description == "Something happened."
    assert embed.timestamp == WHEN
    assert embed.footer.text == f"{AUDIT} · {event_type}"
    assert field(embed, "Actor") == f"[Mod Name](https://vrchat.com/home/user/{USER})"
    assert field(embed, "Target") == f"[{TARGET_LABEL}](https://vrchat.com/home/user/{TARGET})"
    assert_within_limits(embed)


def test_family_specific_fields() -> None:
    def sample(family: str) -> discord.Embed:
        event_type, data = FAMILY_SAMPLES[family]
        return render_entry(make(event_type, data=data))

    kick = sample("moderation")
    assert field(kick, "Instance") == "wrld\\_1:123\\~group(grp\\_1)\\~region(eu)"
    assert field(sample("roles"), "Role") == "Moderator"
    post = sample("posts")
    assert (field(post, "Title"), field(post, "Text"), field(post, "Visibility")) == (
        "Event tonight",
        "Bring friends",
        "group",
    )
    assert field(sample("instances"), "Access") == "plus"
    transfer = sample("settings")
    assert field(transfer, "New owner") == f"[{TARGET_LABEL}](https://vrchat.com/home/user/{TARGET})"
    assert field(sample("other"), "Data") == '{"colour": "blue"}'


def test_changes_render_old_to_new_for_a_few_keys() -> None:
    data = {f"key{i}": {"old": f"a{i}", "new": f"b{i}"} for i in range(7)}
    data["joinState"] = {"new": "request"}  # no old value
    embed = render_entry(make("group.update", target_id=GROUP, data=data))
    assert field(embed, "key0") == "a0 → b0"
    assert field(embed, "key3") == "a3 → b3"
    assert "key4" not in [f.name for f in embed.fields]
    assert field(embed, "More changes") == "key4, key5, key6, joinState"
    assert field(embed, "Target") == f"[{GROUP_LABEL}](https://vrchat.com/home/group/{GROUP})"
    role = render_entry(make("group.role.update", data={"permissions": {"old": ["a", "b"], "new": ["a"]}}))
    assert field(role, "permissions") == "a, b → a"


@pytest.mark.parametrize(
    ("event_type", "title"),
    [
        ("group.brand_new.thing", "Unrecognised event: group.brand\\_new.thing"),
        ("group.instance.open", "Instances event: group.instance.open"),
        ("**x** <@1>", f"Unrecognised event: \\*\\*x\\*\\* <{ZWSP}@{ZWSP}1>"),
        ("", "Unrecognised event: "),
    ],
)
def test_unknown_event_types_show_the_raw_type(event_type: str, title: str) -> None:
    embed = render_entry(make(event_type, data={"x": 1}))
    assert embed.title == title
    assert_inert(embed)
    assert_within_limits(embed)


def test_hostile_text_is_escaped_and_cannot_ping() -> None:
    entry = make(
        actor_display_name="@everyone **bold** [x](http://evil)",
        description="Hi <@123> and <@&456> in <#789> [**y**](http://evil) \\](http://evil2) # head\n1. list",
        data={"location": HOSTILE, "name": {"old": HOSTILE, "new": "[z](http://evil)"}},
        discord_actor_name="<@77> @here",
        discord_actor_id=42,
        event_type="group.instance.warn",
    )
    embed = render_entry(entry, group_name="**Group** @everyone")
    assert_inert(embed)
    actor = field(embed, "Actor")
    label = actor[1 : actor.rindex("](")]
    # The display name survives as text: every markdown character in it is escaped.
    assert not [c for _, c in unescaped(label) if c in "*_~|`[]"], label
    assert link_targets(actor) == [f"https://vrchat.com/home/user/{USER}"]
    description = embed.description or ""
    assert not [c for _, c in unescaped(description) if c in "*_~|`[]"], description
    assert "\n1\\. list" in description
    assert "42" not in description  # the acting moderator is named, never mentioned by id
    assert description.endswith(f"by <{ZWSP}@{ZWSP}77> @{ZWSP}here via GroupBridge")
    assert field(embed, "Group").startswith("[\\*\\*Group\\*\\* @" + ZWSP + "everyone](https://vrchat.com/")


def test_non_user_actor_and_target_ids_are_plain_text() -> None:
    embed = render_entry(
        make(actor_id="vrc_admin", actor_display_name="VRChat Admin", target_id="wrld_1:1~group(x)")
    )
    assert field(embed, "Actor") == "VRChat Admin (vrc\\_admin)"
    assert field(embed, "Target") == "wrld\\_1:1\\~group(x)"
    legacy = render_entry(make(actor_id="8JoV9XEdpo", actor_display_name=None, target_id=None))
    assert field(legacy, "Actor") == "[8JoV9XEdpo](https://vrchat.com/home/user/8JoV9XEdpo)"
    assert "Target" not in [f.name for f in legacy.fields]
    nobody = render_entry(make(actor_id=None, actor_display_name=None, target_id=None))
    assert [f.name for f in nobody.fields] == []


def test_huge_text_and_data_are_clipped_within_limits() -> None:
    astral = "🎉" * 3000
    entry = make(
        "group.post.create",
        actor_display_name="N" * 10_000,
        description="d" * 100_000,
        data={
            "title": astral,
            "text": "t*" * 50_000,
            **{f"k{i}" * 50: {"old": "o" * 10_000, "new": ["n" * 500] * 100} for i in range(40)},
        },
        discord_actor_name="D" * 5000,
    )
    embed = render_entry(entry, delayed=True, group_name="G" * 5000)
    assert_within_limits(embed)
    description = embed.description or ""
    assert description.startswith("d" * 900) and f"{'d' * (DESCRIPTION_CLIP - 1)}…" in description
    assert text_units(field(embed, "Title")) <= 200 and field(embed, "Title").endswith("…")
    assert field(embed, "Actor").startswith("[" + "N" * 70)


def test_fields_that_do_not_fit_are_counted_not_dropped_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    many = [render.Field(f"f{i}", "v" * 300) for i in range(30)]
    monkeypatch.setitem(FAMILY_RENDERERS, "members", lambda entry: many)
    embed = render_entry(make("group.member.join"))
    assert_within_limits(embed)
    assert embed.fields[-1].name == "…"
    shown = len(embed.fields) - 1 - 2  # minus the note, actor and target
    assert embed.fields[-1].value == f"{30 - shown} more not shown"


def test_a_renderer_that_breaks_falls_back_to_raw_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(entry: StoredEntry) -> list[render.Field]:
        raise KeyError("surprise shape")

    monkeypatch.setitem(FAMILY_RENDERERS, "roles", broken)
    embed = render_entry(make("group.role.create", data={"name": "Mods"}))
    assert field(embed, "Data") == '{"name": "Mods"}'


@pytest.mark.parametrize(
    "data", [None, [], "text", 42, ["a", {"b": 1}], {"location": {"nested": True}}, {1: "x", "a": "y"}]
)
def test_odd_data_shapes_never_fail(data: Any) -> None:
    for event_type in ("group.instance.kick", "group.role.create", "group.update", "group.zzz"):
        assert_within_limits(render_entry(make(event_type, data=data)))


def test_delayed_entries_are_marked_with_the_original_time() -> None:
    on_time = render_entry(make())
    late = render_entry(make(), delayed=True)
    assert "delayed" not in (on_time.footer.text or "")
    assert late.footer.text == f"⏱ delayed, originally 2026-03-04 05:06:07 UTC · {AUDIT} · group.user.ban"
    assert late.timestamp == WHEN
    item = OutboxItem(1, 1, 1, "pending", 0, None, None, True, None, WHEN, None, make())
    assert render_outbox_item(item).footer.text == late.footer.text
    assert "delayed" not in (render_outbox_item(replace(item, delayed=False)).footer.text or "")


def test_discord_actor_line() -> None:
    assert "GroupBridge" not in (render_entry(make()).description or "")
    embed = render_entry(make(discord_actor_id=99, discord_actor_name="Alice_Mod"))
    assert embed.description == "Something happened.\n\nby Alice\\_Mod via GroupBridge"
    unnamed = render_entry(make(description="", discord_actor_id=99))
    assert unnamed.description == "by Discord user 99 via GroupBridge"


def test_group_field_only_with_a_group_name() -> None:
    assert "Group" not in [f.name for f in render_entry(make()).fields]
    named = render_entry(make(), group_name="Cool Group")
    assert field(named, "Group") == f"[Cool Group](https://vrchat.com/home/group/{GROUP})"
    odd_id = render_entry(make(group_id="not-a-group"), group_name="Cool Group")
    assert field(odd_id, "Group") == "Cool Group"


def test_gap_notice() -> None:
    start, end = WHEN, WHEN + timedelta(hours=2)
    embed = render_gap_notice(GROUP, start, end, "HTTP 503 <@1> @everyone **x**")
    assert embed.title == "⚠ Gap in the audit log"
    description = embed.description or ""
    assert f"<t:{int(start.timestamp())}:f> (2026-03-04 05:06:07 UTC)" in description
    assert "(2026-03-04 07:06:07 UTC)" in description
    assert description.endswith(f"Reason: HTTP 503 <{ZWSP}@{ZWSP}1> @{ZWSP}everyone \\*\\*x\\*\\*")
    assert field(embed, "Group").endswith(f"(https://vrchat.com/home/group/{GROUP})")
    assert embed.timestamp == end
    huge = render_gap_notice("x" * 10_000, start.replace(tzinfo=None), end, "r" * 100_000)
    assert_within_limits(huge)


def test_clip_counts_utf16_units_and_never_splits_a_character() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
    assert clip("🎉🎉🎉", 4) == "🎉…"  # 2 + 1 units; a second emoji would make 5
    assert text_units(clip("🎉" * 10, 6)) <= 6
    assert clip("abc", 0) == ""


def test_safe_text_escapes_line_start_markdown() -> None:
    escaped = "\\# h\n\\> q\n\\- item\n1\\. one\n\\-# small"
    assert safe_text("# h\n> q\n- item\n1. one\n-# small", 200) == escaped
    assert safe_text("a\nb", 10, single_line=True) == "a b"
    assert safe_text("x\x00y\x1b", 10) == "x y "


def test_embed_size_counts_what_discord_counts() -> None:
    embed = discord.Embed(title="ab", description="🎉")
    embed.add_field(name="n", value="vv").set_footer(text="foot").set_author(name="auth")
    assert embed_size(embed) == 2 + 2 + 1 + 2 + 4 + 4
    assert len(embed) == embed_size(embed) - 1  # discord.py counts the emoji once
    assert embed_size(discord.Embed()) == 0


_ALPHABET = [
    *"abc xyz_*~|`>#-[]()<>@&!:/\\\n\t.1",
    *("@everyone", "@here", "<@123>", "<@&4>", "<#5>", "](http://evil)", "https://x.y/a_b"),
    *(ZWSP, "🎉", "\x00", "é", "\u202e"),
]


def _random_text(rng: random.Random) -> str:
    length = rng.choice([0, 1, 5, 40, 300, 3000])
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return _random_text(rng)
    if kind == 1:
        return rng.choice([None, True, 0, -1.5, 10**30])
    if kind == 2:
        return {"old": _random_value(rng, depth + 1), "new": _random_value(rng, depth + 1)}
    if kind == 3:
        return [_random_text(rng) for _ in range(rng.randrange(5))]
    if kind == 4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_random_text(rng)[:30]: _random_value(rng, depth + 1) for _ in range(rng.randrange(6))}


@pytest.mark.parametrize("seed", range(40))
def test_fuzz_any_text_renders_inert_and_within_limits(seed: int) -> None:
    rng = random.Random(seed)
    types = [*KNOWN_EVENT_TYPES, "group.zz", _random_text(rng)]
    for _ in range(10):
        entry = make(
            rng.choice(types),
            actor_id=rng.choice([USER, None, "vrc_system", _random_text(rng)]),
            actor_display_name=rng.choice([None, _random_text(rng)]),
            target_id=rng.choice([TARGET, GROUP, None, _random_text(rng)]),
            description=_random_text(rng),
            data=_random_value(rng),
            discord_actor_id=rng.choice([None, 1234]),
            discord_actor_name=rng.choice([None, _random_text(rng)]),
        )
        embed = render_entry(
            entry, delayed=rng.random() < 0.5, group_name=rng.choice([None, _random_text(rng)])
        )
        assert_within_limits(embed)
        assert_inert(embed)


def test_every_family_has_its_own_icon_and_colour() -> None:
    from bot.feed.render import FAMILY_ICONS

    assert set(FAMILY_ICONS) == set(EVENT_FAMILIES) == set(FAMILY_COLOURS)
    assert len(set(FAMILY_ICONS.values())) == len(FAMILY_ICONS)
    assert len(set(FAMILY_COLOURS.values())) == len(FAMILY_COLOURS)
    for event_type, family in KNOWN_EVENT_TYPES.items():
        embed = render_entry(make(event_type))
        assert embed.author.name == f"{FAMILY_ICONS[family]} {family.capitalize()}"


def test_instance_entries_link_to_the_instance() -> None:
    world = "wrld_4cf554b4-430c-4f8f-b53e-1f294eb230dd"
    location = f"{world}:12345~group({GROUP})~groupAccessType(members)~region(eu)"
    embed = render_entry(make("group.instance.create", target_id=location))
    assert "https://vrchat.com/home/launch?worldId=" + world in field(embed, "Instance")
    hostile = render_entry(make("group.instance.create", target_id="wrld_x:1~evil)](https://evil.example)"))
    assert all(f.name != "Instance" for f in hostile.fields)
    assert_inert(hostile)
