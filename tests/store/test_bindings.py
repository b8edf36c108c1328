"""Bindings (incl. config upsert), gaps, and the action log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import ActionIn, DuplicateBindingError, Store
from tests.store.helpers import GROUP, GUILD, OTHER_GROUP, T0, binding, count_rows, entries


async def test_add_get_list_bindings(store: Store) -> None:
    a = await store.add_binding(binding(1, roles=(5, 6), families=("moderation",)))
    b = await store.add_binding(binding(2, group_id=OTHER_GROUP, guild_id=999))
    assert a.id != b.id
    assert a.source == "command" and a.paused is False and a.created_at.tzinfo == UTC
    fetched = await store.get_binding(a.id)
    assert fetched == a
    assert fetched.moderator_role_ids == (5, 6) and fetched.event_families == ("moderation",)
    assert await store.get_binding(123456) is None
    assert [x.id for x in await store.list_bindings(guild_id=GUILD)] == [a.id]
    assert [x.id for x in await store.list_bindings(group_id=OTHER_GROUP)] == [b.id]
    assert [x.id for x in await store.list_bindings()] == [a.id, b.id]
    assert await store.list_bindings(source="config") == []

    with pytest.raises(DuplicateBindingError):
        await store.add_binding(binding(1))
    # Same channel for another group is fine; the store itself is still usable after the error.
    await store.add_binding(binding(1, group_id=OTHER_GROUP))
    assert len(await store.list_bindings(channel_id=1)) == 2


async def test_set_event_families(store: Store) -> None:
    b = await store.add_binding(binding(1))
    updated = await store.set_event_families(b.id, ["instances", "moderation", "instances"])
    assert updated is not None and updated.event_families == ("instances", "moderation")
    assert (await store.get_binding(b.id)).event_families == ("instances", "moderation")  # type: ignore[union-attr]
    cleared = await store.set_event_families(b.id, [])
    assert cleared is not None and cleared.event_families == ()
    assert await store.set_event_families(424242, ["x"]) is None


async def test_apply_config_bindings_is_idempotent(store: Store) -> None:
    adopted = await store.add_binding(binding(3))  # made by a command, then written into the config
    paused = await store.add_binding(binding(4), source="config")
    await store.pause_binding(binding_id=paused.id, reason="no access")
    config = [binding(1, roles=(7,)), binding(2, families=("moderation",)), binding(3), binding(4)]

    first = await store.apply_config_bindings(config)
    assert (first.added, first.updated, first.unchanged, first.removed) == (2, 1, 1, 0)
    again = await store.apply_config_bindings(config)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 4, 0)
    assert await count_rows(store, "bindings") == 4

    rows = {b.feed_channel_id: b for b in await store.list_bindings()}
    assert all(b.source == "config" for b in rows.values())
    assert rows[3].id == adopted.id
    assert rows[4].paused and rows[4].paused_reason == "no access"  # runtime state survives a reload

    changed = [replace(config[0], moderator_role_ids=(7, 8)), *config[1:3]]
    third = await store.apply_config_bindings(changed)
    assert (third.added, third.updated, third.unchanged, third.removed) == (0, 1, 2, 0)
    assert (await store.get_binding(rows[1].id)).moderator_role_ids == (7, 8)  # type: ignore[union-attr]
    assert await count_rows(store, "bindings") == 4  # binding 4 is kept without prune

    command_made = await store.add_binding(binding(9))
    pruned = await store.apply_config_bindings(changed, prune=True)
    assert pruned.removed == 1
    assert {b.feed_channel_id for b in await store.list_bindings()} == {1, 2, 3, 9}
    assert await store.get_binding(command_made.id) is not None  # prune never touches command bindings


async def test_gaps(store: Store) -> None:
    g1 = await store.record_gap(GROUP, T0, T0 + timedelta(hours=2), "VRChat API down")
    g2 = await store.record_gap(OTHER_GROUP, T0, T0 + timedelta(hours=1), "auth expired")
    assert g1.notified is False and g1.end - g1.start == timedelta(hours=2)
    assert [g.id for g in await store.unnotified_gaps()] == [g1.id, g2.id]
    assert [g.id for g in await store.unnotified_gaps(GROUP)] == [g1.id]
    assert await store.mark_gap_notified([g1.id]) == 1
    assert [g.id for g in await store.unnotified_gaps()] == [g2.id]
    with pytest.raises(ValueError, match="before it starts"):
        await store.record_gap(GROUP, T0, T0 - timedelta(seconds=1), "backwards")


async def test_action_log(store: Store) -> None:
    clock = [datetime(2026, 4, 1, tzinfo=UTC)]
    store._clock = lambda: clock[0]

    async def act(action: str, user: int = 1, outcome: str = "ok", **kw: object) -> None:
        clock[0] += timedelta(minutes=1)
        await store.record_action(
            ActionIn(
                guild_id=GUILD,
                discord_user_id=user,
                discord_user_name=f"user{user}",
                group_id=GROUP,
                action=action,
                outcome=outcome,  # type: ignore[arg-type]
                **kw,  # type: ignore[arg-type]
            )
        )

    await act("request.accept", target_id="usr_1", details={"note": "welcome"})
    await act("request.reject", target_id="usr_2")
    await act("invite", user=2, target_id="usr_3")
    await act("member.kick", user=2, outcome="error", error="HTTP 403", target_id="usr_4")
    await act("requests.bulk", user=3)

    newest_first = await store.list_actions()
    assert [a.action for a in newest_first] == [
        "requests.bulk",
        "member.kick",
        "invite",
        "request.reject",
        "request.accept",
    ]
    assert newest_first[-1].details == {"note": "welcome"}
    # 'request' matches request.* but not 'requests.bulk'.
    assert [a.action for a in await store.list_actions(action="request")] == [
        "request.reject",
        "request.accept",
    ]
    assert [a.target_id for a in await store.list_actions(discord_user_id=2)] == ["usr_4", "usr_3"]
    errors = await store.list_actions(outcome="error")
    assert len(errors) == 1 and errors[0].error == "HTTP 403"
    assert [a.action for a in await store.list_actions(limit=2)] == ["requests.bulk", "member.kick"]
    since = datetime(2026, 4, 1, 0, 3, tzinfo=UTC)
    assert [a.action for a in await store.list_actions(since=since)] == [
        "requests.bulk",
        "member.kick",
        "invite",
    ]
    assert await store.list_actions(guild_id=5) == []
    with pytest.raises(Exception, match=r"ck_action_log_outcome|CHECK constraint"):
        await act("invite", outcome="maybe")


async def test_binding_removal_keeps_entries(store: Store) -> None:
    b = await store.add_binding(binding(1))
    await store.ingest(GROUP, entries(range(3)))
    await store.remove_binding(b.id)
    assert await count_rows(store, "audit_entries") == 3
    assert await count_rows(store, "outbox") == 0
