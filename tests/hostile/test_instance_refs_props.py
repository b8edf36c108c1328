"""The world and instance references moderators paste (bot.vrchat.instances.parse_world_ref,
bot.instances.service.parse_instance_text) against arbitrary text: a strictly valid ID, or a short
one-line refusal; never another exception, never an unbounded echo of what was pasted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.instances.service import parse_instance_text
from bot.services.registry import InvalidInput
from bot.vrchat.ids import INSTANCE_ID_RE, WORLD_ID_RE
from bot.vrchat.instances import InvalidReference, parse_world_ref
from tests.hostile.checks import units
from tests.hostile.strategies import examples, hostile_text, uuids

MESSAGE_MAX = 1500

worldish = st.one_of(
    hostile_text(),
    uuids().map(lambda u: f"wrld_{u}"),
    st.builds(
        "{}://{}/home/{}/wrld_{}{}".format,
        st.sampled_from(["https", "http", "HTTPS", "javascript"]),
        st.sampled_from(["vrchat.com", "www.vrchat.com", "evil.example", "vrchat.com@evil.example", "[::1"]),
        st.sampled_from(["world", "launch", "group", "world/.."]),
        uuids(),
        hostile_text(40),
    ),
)


@examples(300, scale=4)
@given(worldish)
def test_a_world_reference_is_a_world_id_or_a_short_refusal(text: str) -> None:
    try:
        world_id = parse_world_ref(text)
    except InvalidReference as exc:
        message = str(exc)
        assert "\n" not in message and units(message) <= MESSAGE_MAX
        return
    assert WORLD_ID_RE.match(world_id)


instanceish = st.one_of(
    hostile_text(),
    st.builds("wrld_{}:{}~group(grp_{}){}".format, uuids(), st.integers(0, 99999), uuids(), hostile_text(60)),
    st.builds(
        "https://vrchat.com/home/launch?worldId=wrld_{}&instanceId={}".format, uuids(), hostile_text(80)
    ),
)


@examples(300, scale=4)
@given(instanceish)
def test_an_instance_reference_is_a_location_or_a_short_refusal(text: str) -> None:
    try:
        world_id, instance_id = parse_instance_text(text)
    except InvalidInput as exc:
        message = str(exc)
        assert "\n" not in message and units(message) <= MESSAGE_MAX
        return
    assert world_id is None or WORLD_ID_RE.match(world_id)
    assert INSTANCE_ID_RE.match(instance_id)
