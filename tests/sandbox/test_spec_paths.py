"""The path-template router both stand-ins' spec checks share."""

from __future__ import annotations

from bot.sandbox.spec_paths import PathTemplates


def test_the_template_with_more_literal_segments_wins_whatever_the_spec_order() -> None:
    templates = PathTemplates(
        ["/groups/{groupId}", "/groups/roleTemplates", "/groups/{groupId}/bans/{userId}"]
    )

    assert templates.match("/groups/roleTemplates") == ("/groups/roleTemplates", {})
    assert templates.match("/groups/grp_1") == ("/groups/{groupId}", {"groupId": "grp_1"})
    assert templates.match("/groups/grp_1/bans/usr_2") == (
        "/groups/{groupId}/bans/{userId}",
        {"groupId": "grp_1", "userId": "usr_2"},
    )


def test_a_parameter_spans_one_segment_and_unknown_paths_match_nothing() -> None:
    templates = PathTemplates(["/channels/{channel_id}/messages"])

    assert templates.match("/channels/1/2/messages") is None
    assert templates.match("/channels/1/messages/") is None
    assert templates.match("/users/@me") is None
