"""The audit-log poller against the simulator and a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.feed.poller import AuditPoller, PollSettings
from bot.sandbox.vrchat import Fault
from bot.store import Store
from bot.vrchat import VRChatClient
from bot.vrchat.models import AuditLogPage
from tests.feed.conftest import FEED_CHANNEL, bind, seed_history, started_poller
from tests.fixtures.vrchat_sim import SeededSim


class BeforeRequest:
    """The client as the poller's audit-log source, running `happen` just before its `nth` request."""

    def __init__(self, client: VRChatClient, nth: int, happen: Callable[[], object]) -> None:
        self._client, self._nth, self._happen = client, nth, happen
        self.calls = 0

    def user_id_for(self, group_id: str) -> str | None:
        return self._client.user_id_for(group_id)

    async def get_audit_logs(self, group_id: str, n: int = 100, offset: int = 0) -> AuditLogPage:
        self.calls += 1
        if self.calls == self._nth:
            self._happen()
        return await self._client.get_audit_logs(group_id, n=n, offset=offset)


async def stored_ids(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT id FROM audit_entries ORDER BY created_at, id"))
        return [r[0] for r in rows]


async def outbox_ids(store: Store) -> list[str]:
    items = await store.pending_for_channel(FEED_CHANNEL, limit=10_000)
    return [i.entry.id for i in items]


def audit_requests(seeded: SeededSim) -> int:
    return len(seeded.sim.requests_to("GET", r"/auditLogs$"))


async def test_first_poll_without_backfill_stores_only_an_anchor(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    history = seed_history(seeded_sim, 30)
    await bind(sqlite_store, seeded_sim.group.id)
    poller = AuditPoller(vrc, sqlite_store, seeded_sim.group.id)
    result = await poller.poll_once()
    assert result.backfill and result.new == 1 and result.queued == 0
    assert await stored_ids(sqlite_store) == [history[-1]]
    cursor = await sqlite_store.get_cursor(seeded_sim.group.id)
    assert cursor is not None and cursor.backfill_done and cursor.newest_entry_id == history[-1]


@pytest.mark.parametrize(("mode", "count", "expected"), [("last", 25, 25), ("all", 0, 230)])
async def test_backfill_is_stored_without_posting(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim, mode: str, count: int, expected: int
) -> None:
    history = seed_history(seeded_sim, 230)
    await bind(sqlite_store, seeded_sim.group.id)
    settings = PollSettings(backfill=mode, backfill_count=count or 100)  # type: ignore[arg-type]
    result = await AuditPoller(vrc, sqlite_store, seeded_sim.group.id, settings).poll_once()
    assert result.new == expected and result.queued == 0
    assert await stored_ids(sqlite_store) == history[-expected:]
    assert await outbox_ids(sqlite_store) == []


async def test_backfill_can_be_posted_when_configured(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    history = seed_history(seeded_sim, 12)
    await bind(sqlite_store, seeded_sim.group.id)
    settings = PollSettings(backfill="last", backfill_count=5, post_backfill=True)
    await AuditPoller(vrc, sqlite_store, seeded_sim.group.id, settings).poll_once()
    assert await outbox_ids(sqlite_store) == history[-5:]  # oldest first


async def test_new_entries_are_stored_and_queued_oldest_first(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 5)
    poller = await started_poller(vrc, sqlite_store, seeded_sim)

    # Moderators act (through the API, as the bot would); each action appends to the log.
    await vrc.kick_member(seeded_sim.group.id, seeded_sim.member.id)
    await vrc.invite_user(seeded_sim.group.id, seeded_sim.outsider.id)
    await vrc.respond_join_request(seeded_sim.group.id, seeded_sim.requester.id, "reject")
    result = await poller.poll_once()
    assert result.new == 3 and result.queued == 3 and result.delayed == 0
    queued = await sqlite_store.pending_for_channel(FEED_CHANNEL)
    assert [i.entry.event_type for i in queued] == [
        "group.member.remove",
        "group.invite.create",
        "group.request.reject",
    ]


async def test_entries_of_the_same_millisecond_keep_vrchats_order(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    poller = await started_poller(vrc, sqlite_store, seeded_sim)
    state, group_id, bot_id = seeded_sim.sim.state, seeded_sim.group.id, seeded_sim.bot.id
    tie = datetime.now(UTC).replace(microsecond=123_000)
    # Ids chosen against their order, so sorting by id would visibly reorder them.
    made = [
        state.add_audit_entry(group_id, "group.update", bot_id, group_id, f"tie {n}", created_at=tie)
        for n in range(4)
    ]
    for entry, entry_id in zip(made, ("gaud_d", "gaud_c", "gaud_b", "gaud_a"), strict=True):
        entry.id = entry_id
    assert [e.id for e in state.audit(group_id)][:4] == [
        "gaud_a",
        "gaud_b",
        "gaud_c",
        "gaud_d",
    ]  # newest first
    await poller.poll_once()
    assert await outbox_ids(sqlite_store) == ["gaud_d", "gaud_c", "gaud_b", "gaud_a"]


async def test_an_idle_poll_costs_exactly_one_request(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 300)
    poller = await started_poller(
        vrc, sqlite_store, seeded_sim, PollSettings(backfill="all"), channel_id=None
    )
    before = audit_requests(seeded_sim)
    for _ in range(3):
        result = await poller.poll_once()
        assert result.new == 0 and result.requests == 1
    assert audit_requests(seeded_sim) == before + 3


async def test_a_burst_is_paged_until_known_entries(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 3)
    poller = await started_poller(vrc, sqlite_store, seeded_sim)
    burst = seed_history(seeded_sim, 1000, start=datetime.now(UTC) - timedelta(minutes=30), step=0.5)
    result = await poller.poll_once()
    assert result.new == 1000 and result.requests == 11  # 10 full pages + the one that meets the anchor
    assert await outbox_ids(sqlite_store) == burst  # complete, in order, nothing twice


async def test_pages_shifting_under_the_poller_neither_lose_nor_duplicate(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    """New entries arriving between two page requests shift offsets: entries repeat across pages."""
    seed_history(seeded_sim, 3)
    await bind(sqlite_store, seeded_sim.group.id)

    def forty_more() -> None:  # between page 1 and 2 of the second poll
        seed_history(seeded_sim, 40, start=datetime.now(UTC) - timedelta(minutes=1), step=0.01)

    poller = AuditPoller(BeforeRequest(vrc, 3, forty_more), sqlite_store, seeded_sim.group.id)
    await poller.poll_once()
    seed_history(seeded_sim, 150, start=datetime.now(UTC) - timedelta(minutes=30), step=1)
    await poller.poll_once()
    await poller.poll_once()
    stored = await stored_ids(sqlite_store)
    assert len(stored) == len(set(stored)) == 1 + 150 + 40
    queued = await outbox_ids(sqlite_store)
    assert len(queued) == len(set(queued)) == 190


async def test_a_late_entry_is_posted_marked_delayed(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 50, start=datetime.now(UTC) - timedelta(minutes=30), step=20)
    poller = await started_poller(vrc, sqlite_store, seeded_sim)
    cursor = await sqlite_store.get_cursor(seeded_sim.group.id)
    assert cursor is not None and cursor.newest_created_at is not None
    # VRChat shows an entry late, stamped three minutes before the newest one we have.
    late = seeded_sim.sim.state.add_audit_entry(
        seeded_sim.group.id,
        "group.user.ban",
        seeded_sim.bot.id,
        seeded_sim.outsider.id,
        "late",
        created_at=cursor.newest_created_at - timedelta(minutes=3),
    )
    result = await poller.poll_once()
    assert result.new == 1 and result.delayed == 1
    (item,) = await sqlite_store.pending_for_channel(FEED_CHANNEL)
    assert item.entry.id == late.id and item.delayed


async def test_a_failed_page_stores_nothing_and_the_next_poll_catches_up(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 2)
    poller = await started_poller(vrc, sqlite_store, seeded_sim)
    seed_history(seeded_sim, 250, start=datetime.now(UTC) - timedelta(minutes=30), step=1)
    # The second page fails for good (500 is not retried): the poll fails as a whole.
    failing = Fault(method="GET", path=r"/auditLogs$", status=500, times=1)

    second_page_fails = BeforeRequest(vrc, 2, lambda: seeded_sim.sim.faults.add(failing))
    flaky = AuditPoller(second_page_fails, sqlite_store, seeded_sim.group.id)
    assert await flaky.poll_safely() is None
    assert failing.hits == 1
    assert len(await stored_ids(sqlite_store)) == 1  # nothing of the burst was stored
    cursor = await sqlite_store.get_cursor(seeded_sim.group.id)
    assert cursor is not None and cursor.last_error and "500" in cursor.last_error

    result = await poller.poll_once()
    assert result.new == 250 and len(await outbox_ids(sqlite_store)) == 250


async def test_more_than_pagination_reaches_records_a_gap(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 2, start=datetime.now(UTC) - timedelta(days=2))
    poller = await started_poller(vrc, sqlite_store, seeded_sim, PollSettings(max_pages=2))
    seed_history(seeded_sim, 450, start=datetime.now(UTC) - timedelta(minutes=30), step=1)
    result = await poller.poll_once()
    assert result.gap is not None and result.new == 200
    (gap,) = await sqlite_store.unnotified_gaps(seeded_sim.group.id)
    assert gap.start < gap.end and "more than 200" in gap.reason


async def test_one_groups_failure_does_not_stop_another(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 3)
    missing = "grp_00000000-0000-0000-0000-00000000dead"
    broken = AuditPoller(vrc, sqlite_store, missing)
    healthy = AuditPoller(vrc, sqlite_store, seeded_sim.group.id)
    assert await broken.poll_safely() is None
    assert (await healthy.poll_safely()) is not None
    bad = await sqlite_store.get_cursor(missing)
    assert bad is not None and bad.last_error and "404" in bad.last_error
    good = await sqlite_store.get_cursor(seeded_sim.group.id)
    assert good is not None and good.last_error is None and good.backfill_done


def test_poll_interval_floor_and_jitter() -> None:
    with pytest.raises(ValueError, match="at least 30"):
        PollSettings(interval=10)
    assert PollSettings(interval=1, floor=0.1).interval == 1  # a simulator on loopback
    import random

    poller = AuditPoller(object(), object(), "grp_x", PollSettings(interval=60), rng=random.Random(7))  # type: ignore[arg-type]
    delays = {round(poller.next_delay(), 3) for _ in range(50)}
    assert len(delays) > 40 and all(58 <= d <= 62 for d in delays)  # never beyond interval + 2 s


async def test_actions_taken_through_the_bot_are_credited_to_the_discord_moderator(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    from bot.store import ActionIn

    seed_history(seeded_sim, 2)
    poller = await started_poller(vrc, sqlite_store, seeded_sim)

    # A Discord moderator bans Dave through the bot; the service logs it, then makes the call.
    await sqlite_store.record_action(
        ActionIn(
            guild_id=1,
            discord_user_id=4242,
            discord_user_name="mod_maya",
            group_id=seeded_sim.group.id,
            action="member.ban",
            target_id=seeded_sim.outsider.id,
        )
    )
    await vrc.ban_member(seeded_sim.group.id, seeded_sim.outsider.id)
    # Someone else (in VRChat, not via the bot) kicks Bob: that stays the VRChat actor's alone.
    seeded_sim.sim.state.kick(seeded_sim.group.id, seeded_sim.member.id, seeded_sim.moderator.id)
    await poller.poll_once()

    items = {i.entry.event_type: i.entry for i in await sqlite_store.pending_for_channel(FEED_CHANNEL)}
    ban, kick = items["group.user.ban"], items["group.member.remove"]
    assert (ban.discord_actor_id, ban.discord_actor_name) == (4242, "mod_maya")
    assert kick.discord_actor_id is None and kick.actor_id == seeded_sim.moderator.id


async def test_idle_polls_stay_at_one_request_after_a_dense_burst(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 3)
    poller = await started_poller(vrc, sqlite_store, seeded_sim, channel_id=None)
    # 600 entries inside five minutes: the whole overlap window is full of stored entries.
    seed_history(seeded_sim, 600, start=datetime.now(UTC) - timedelta(minutes=5), step=0.5)
    assert (await poller.poll_once()).new == 600
    for _ in range(2):
        result = await poller.poll_once()
        assert (result.new, result.requests) == (0, 1)


async def test_first_poll_keeps_a_dense_overlap_so_it_is_not_reposted_as_late(
    vrc: VRChatClient, sqlite_store: Store, seeded_sim: SeededSim
) -> None:
    seed_history(seeded_sim, 150, start=datetime.now(UTC) - timedelta(minutes=3), step=1)
    poller = await started_poller(vrc, sqlite_store, seeded_sim)  # backfill "none"
    result = await poller.poll_once()
    assert (result.new, result.delayed) == (0, 0)
    assert await outbox_ids(sqlite_store) == []
