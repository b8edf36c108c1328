"""Reading the pipeline's messages, and the back-off between connections (no network)."""

from __future__ import annotations

import json
import random

import pytest

from bot.vrchat.pipeline import Backoff, JoinRequestNotice, PipelineRefusal, parse_message

GROUP = "grp_0a1b2c3d-4e5f-4789-abcd-ef0123456789"
OTHER_GROUP = "grp_11111111-2222-4333-8444-555555555555"
USER = "usr_0a1b2c3d-4e5f-4789-abcd-ef0123456789"


def notification(**content: object) -> str:
    base: dict[str, object] = {"id": "ntf_1", "version": 2, "type": "group.joinRequest", "senderUserId": USER}
    base.update(content)
    return json.dumps({"type": "notification-v2", "content": json.dumps(base)})


def test_a_double_encoded_join_request_names_the_group_and_the_requester() -> None:
    event = parse_message(notification(data={"groupId": GROUP}, link=f"group:{OTHER_GROUP}"))
    assert event == JoinRequestNotice(group_id=GROUP, user_id=USER, notification_id="ntf_1")


def test_content_sent_as_an_object_is_read_too() -> None:
    raw = json.dumps(
        {"type": "notification-v2", "content": {"type": "group.joinRequest", "link": f"group:{GROUP}"}}
    )
    assert parse_message(raw) == JoinRequestNotice(group_id=GROUP, user_id=None)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"link": f"group:{GROUP}", "data": {}}, GROUP),
        ({"link": "", "responses": [{"type": "unsubscribe", "data": f"{GROUP},{USER}"}]}, GROUP),
        ({"data": {"groupId": "grp_not-a-uuid"}, "link": f"group:{GROUP}"}, GROUP),
        ({"link": "", "data": {}, "responses": []}, None),
        ({"link": 12, "data": "odd", "responses": "odd"}, None),
    ],
    ids=["link", "responses", "bad-data-id", "bare", "wrong-types"],
)
def test_the_group_is_found_wherever_the_message_puts_it(
    content: dict[str, object], expected: str | None
) -> None:
    event = parse_message(notification(**content))
    assert isinstance(event, JoinRequestNotice) and event.group_id == expected


def test_a_sender_that_is_no_user_id_is_left_out() -> None:
    event = parse_message(notification(senderUserId=None, link=f"group:{GROUP}"))
    assert event == JoinRequestNotice(group_id=GROUP, user_id=None, notification_id="ntf_1")
    event = parse_message(notification(senderUserId="'; DROP TABLE", link=f"group:{GROUP}"))
    assert isinstance(event, JoinRequestNotice) and event.user_id is None


@pytest.mark.parametrize(
    "raw",
    [
        notification(type="group.announcement", link=f"group:{GROUP}"),
        json.dumps({"type": "notification-v2-update", "content": json.dumps({"type": "group.joinRequest"})}),
        json.dumps({"type": "friend-online", "content": json.dumps({"userId": USER})}),
        json.dumps({"type": "notification-v2", "content": "{not json"}),
        json.dumps({"type": "notification-v2", "content": "[1, 2]"}),
        json.dumps([1, 2, 3]),
        "not json at all",
        b"\xff\xfe",
        "",
    ],
)
def test_everything_else_is_ignored(raw: str | bytes) -> None:
    assert parse_message(raw) is None


def test_an_err_is_a_refusal_with_its_text_made_safe() -> None:
    assert parse_message(
        '{"err": "authToken doesn\'t correspond with an active session"}'
    ) == PipelineRefusal("authToken doesn't correspond with an active session")
    event = parse_message('{"err": "bad \\ud800 \\u0000 thing' + "x" * 1000 + '"}')
    assert isinstance(event, PipelineRefusal)
    assert "\ud800" not in event.message and "\x00" not in event.message and len(event.message) <= 300
    assert parse_message('{"err": {"code": 4}}') == PipelineRefusal('{"code": 4}')


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=2.0, cap=60.0, max_per_window=1000, rng=random.Random(1))
    delays = [backoff.delay() for _ in range(10)]
    steps = [min(60.0, 2.0 * 2**n) for n in range(10)]
    for delay, step in zip(delays, steps, strict=True):
        assert step / 2 <= delay <= step
    assert max(delays) <= 60.0 and delays[-1] >= 30.0
    backoff.succeeded()
    assert backoff.delay() <= 2.0  # a connection that lasted starts it over


def test_no_more_attempts_per_window_than_allowed() -> None:
    clock = FakeClock()
    backoff = Backoff(base=1.0, cap=1.0, window=600.0, max_per_window=3, clock=clock, rng=random.Random(2))
    attempts = []
    for _ in range(8):
        attempts.append(clock.now)
        backoff.attempted()
        clock.now += backoff.delay()
    assert attempts[1] - attempts[0] <= 1.0  # below the cap, the back-off alone sets the pace
    # Never a fourth attempt within one window of three.
    assert all(later - first >= 600.0 - 1e-6 for first, later in zip(attempts, attempts[3:], strict=False))


def test_a_backoff_that_could_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base=0.0)
    with pytest.raises(ValueError, match="max_per_window"):
        Backoff(max_per_window=0)
