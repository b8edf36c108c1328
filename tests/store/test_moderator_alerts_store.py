"""Runaway-moderator alerts on SQLite and PostgreSQL: settings, episodes recorded once, delivery
claimed once, the first resolution wins, everything gone with the binding."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store
from bot.store.moderator_alerts import AlertSettingsRecord, EpisodeWrite
from tests.fixtures.statements import statements
from tests.store.helpers import GROUP, T0, binding, count_rows, entries

ACTOR = "vrchat:usr_actor"


def settings(binding_id: int, **changes: object) -> AlertSettingsRecord:
    values: dict[str, object] = {
        "binding_id": binding_id,
        "enabled": True,
        "window_minutes": 10,
        "max_kicks": 10,
        "max_bans": 5,
        "max_role_removals": 10,
        "alert_channel_id": None,
        "ping_role_id": 42,
        "auto_kill_switch": False,
        **changes,
    }
    return AlertSettingsRecord(**values)  # type: ignore[arg-type]


def episode(binding_id: int, *, new: bool = True, last: int = 5, ids: int = 6) -> EpisodeWrite:
    return EpisodeWrite(
        binding_id=binding_id,
        group_id=GROUP,
        actor_key=ACTOR,
        actor_vrchat_id="usr_actor",
        actor_discord_id=None,
        actor_name="Actor Name",
        started_at=T0,
        last_entry_at=T0 + timedelta(seconds=last),
        counts={"bans": ids},
        entry_ids=[f"gaud_{n:08d}" for n in range(ids)],
        channel_id=900,
        new=new,
    )


async def test_settings_upsert_and_cascade(store: Store) -> None:
    one = await store.add_binding(binding(1))
    assert await store.alert_settings([one.id]) == {}
    await store.put_alert_settings(settings(one.id))
    await store.put_alert_settings(settings(one.id, max_bans=2, ping_role_id=None))
    saved = (await store.alert_settings([one.id]))[one.id]
    assert (saved.max_bans, saved.ping_role_id, saved.enabled) == (2, None, True)
    await store.record_episodes([episode(one.id)])
    await store.remove_binding(one.id)
    assert await count_rows(store, "moderator_alert_settings") == 0
    assert await count_rows(store, "moderator_alerts") == 0


async def test_counted_entries_come_oldest_first_and_only_of_the_types(store: Store) -> None:
    await store.ingest(GROUP, entries(range(1, 6)) + entries(range(6, 9), event_type="group.member.join"))
    found = await store.entries_of_types(GROUP, ["group.user.ban"], T0 + timedelta(seconds=2))
    assert [e.id for e in found] == [f"gaud_{n:08d}" for n in (2, 3, 4, 5)]
    newest = await store.entries_of_types(GROUP, ["group.user.ban"], T0, limit=2)
    assert [e.id for e in newest] == [f"gaud_{n:08d}" for n in (4, 5)]


async def test_an_episode_is_recorded_once_and_extended_in_place(store: Store) -> None:
    one = await store.add_binding(binding(1))
    (first,) = await store.record_episodes([episode(one.id)])
    assert await store.record_episodes([episode(one.id)]) == []  # a repeated check adds nothing
    await store.record_episodes([episode(one.id, new=False, last=50, ids=9)])
    latest = (await store.latest_alerts(one.id, [ACTOR, "vrchat:usr_nobody"]))[ACTOR]
    assert latest.id == first and latest.counts == {"bans": 9} and len(latest.entry_ids) == 9
    assert latest.last_entry_at == T0 + timedelta(seconds=50) and latest.state == "pending"
    assert await count_rows(store, "moderator_alerts") == 1


async def test_delivery_is_claimed_then_marked_and_a_crash_leaves_it_in_flight(store: Store) -> None:
    one = await store.add_binding(binding(1))
    (alert_id,) = await store.record_episodes([episode(one.id)])
    assert [a.id for a in await store.undelivered_alerts()] == [alert_id]
    assert await store.claim_alert(alert_id, "nonce-a") is True
    # A crash here: still undelivered, in flight with its nonce, claimable again with the same one.
    (in_flight,) = await store.undelivered_alerts([GROUP])
    assert (in_flight.state, in_flight.nonce, in_flight.attempts) == ("sending", "nonce-a", 1)
    assert await store.claim_alert(alert_id, "nonce-a") is True
    await store.mark_alert_sent(alert_id, 1234)
    assert await store.claim_alert(alert_id, "nonce-a") is False
    assert await store.undelivered_alerts() == []
    sent = await store.get_alert(alert_id)
    assert sent is not None and (sent.state, sent.message_id) == ("sent", 1234)


async def test_marking_sent_is_one_update_and_never_moves_the_shown_revision_back(store: Store) -> None:
    one = await store.add_binding(binding(1))
    (alert_id,) = await store.record_episodes([episode(one.id)])
    for last in (6, 7):
        await store.record_episodes([episode(one.id, new=False, last=last)])  # revision 2
    await store.claim_alert(alert_id, "n")
    await store.mark_alert_shown(alert_id, 2)  # a newer edit landed first
    with statements(store) as sent:
        await store.mark_alert_sent(alert_id, 1234, shown_revision=1)
    writes = [sql for sql, _ in sent if sql.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert len(writes) == 1  # state and shown revision together: no crash can split them
    marked = await store.get_alert(alert_id)
    assert marked is not None and (marked.state, marked.message_id) == ("sent", 1234)
    assert marked.shown_revision == 2
    await store.mark_alert_sent(alert_id, 1234, shown_revision=3)
    assert (await store.get_alert(alert_id)).shown_revision == 3  # type: ignore[union-attr]


async def test_a_failed_send_goes_back_or_gives_up(store: Store) -> None:
    one = await store.add_binding(binding(1))
    (alert_id,) = await store.record_episodes([episode(one.id)])
    await store.claim_alert(alert_id, "n")
    await store.mark_alert_failed(alert_id, "503")
    assert (await store.get_alert(alert_id)).state == "pending"  # type: ignore[union-attr]
    await store.mark_alert_failed(alert_id, "403", give_up=True)
    assert await store.undelivered_alerts() == []


async def test_the_first_resolution_wins(store: Store) -> None:
    one = await store.add_binding(binding(1))
    (alert_id,) = await store.record_episodes([episode(one.id)])
    assert await store.resolve_alert(alert_id, "dismissed", 7, "Dismissed by mod") is True
    assert await store.resolve_alert(alert_id, "roles_removed", 8) is False
    resolved = await store.get_alert(alert_id)
    assert resolved is not None and (resolved.resolution, resolved.resolved_by) == ("dismissed", 7)
