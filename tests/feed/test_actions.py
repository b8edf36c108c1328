"""The select under a feed message: a pure function of the message's rows (so a resend after a crash
is the same message), one option per user, within Discord's limits whatever the entries say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feed.actions import KINDS, USER_EVENT_KINDS, feed_actions
from bot.store import OutboxItem, SetAside, StoredEntry

GROUP = "grp_00000000-0000-4000-8000-000000000001"
BOB = "usr_00000000-0000-4000-8000-00000000000b"
DAVE = "usr_00000000-0000-4000-8000-00000000000d"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def item(
    n: int, event_type: str, actor: str | None, target: str | None, name: str | None = "Bob", **kw
) -> OutboxItem:
    entry = StoredEntry(
        id=f"gaud_{n}",
        group_id=GROUP,
        created_at=T0 + timedelta(seconds=n),
        event_type=event_type,
        actor_id=actor,
        actor_display_name=name,
        target_id=target,
        description="",
        data=None,
        fetched_at=T0,
        discord_actor_id=None,
        discord_actor_name=None,
    )
    return OutboxItem(n, 1, 1, "pending", 0, None, None, False, None, T0, None, entry, **kw)


def test_each_user_once_from_their_newest_entry_in_message_order() -> None:
    items = [
        item(1, "group.member.join", BOB, BOB),
        item(2, "group.user.ban", "usr_mod", DAVE, name="Mod"),
        item(3, "group.update", "usr_mod", None),
        item(4, "group.member.leave", BOB, BOB),
        item(5, "group.post.create", "usr_mod", "not_1"),
    ]
    actions = feed_actions(items)
    assert [a.value for a in actions] == [f"ban:{GROUP}:{DAVE}", f"leave:{GROUP}:{BOB}"]
    assert [a.label for a in actions] == [f"User banned: {DAVE}", "Member left: Bob"]
    assert feed_actions(items) == actions  # the same rows, the same select
    assert feed_actions([items[2], items[4]]) == []  # nothing about a user: no select at all
    # A ban without a target is about nobody we know: never its actor, the moderator.
    assert feed_actions([item(6, "group.user.ban", DAVE, None), item(7, "group.member.join", BOB, None)]) == [
        feed_actions([item(7, "group.member.join", BOB, BOB)])[0]
    ]


def test_a_set_aside_entry_offers_nothing() -> None:
    aside = SetAside("gaud_1", GROUP, "render", "could not be shown", None, T0)
    assert feed_actions([item(1, "group.member.join", BOB, BOB, set_aside=aside)]) == []


names = st.text(max_size=3000) | st.sampled_from(["@everyone", "<@&1>", "", " ", "\u200b", "\n\n"])
user_ids = st.sampled_from([BOB, DAVE, "usr_evil:grp_x", "8JoV9XEdpo", "not a user", ""]) | st.none()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*sorted(USER_EVENT_KINDS), "group.update"]),
            user_ids,
            user_ids,
            names | st.none(),
        ),
        max_size=10,
    )
)
def test_options_stay_within_discords_limits(rows: list) -> None:
    items = [item(n, kind, actor, target, name) for n, (kind, actor, target, name) in enumerate(rows)]
    actions = feed_actions(items)
    assert len(actions) <= 10 and len({a.value for a in actions}) == len(actions)
    for action in actions:
        assert 1 <= len(action.label) <= 100 and action.label.strip()
        assert 1 <= len(action.description) <= 100
        kind, group, user = action.value.split(":")
        assert kind in KINDS and group == GROUP and user in (BOB, DAVE, "8JoV9XEdpo")
        assert len(action.value) <= 100
        assert "@everyone" not in action.label
