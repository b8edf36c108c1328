"""The pure detector: a burst alerts once per episode, a quiet window starts a new one, the bot's
actions for a Discord moderator count against that moderator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import StoredEntry
from bot.watchdog.detector import KnownEpisode, Thresholds, counted, detect

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOT = "usr_00000000-0000-4000-8000-00000000b07b"
MAYA = "usr_00000000-0000-4000-8000-0000000000aa"
OLI = "usr_00000000-0000-4000-8000-0000000000bb"
LIMITS = Thresholds(window=timedelta(minutes=10), limits={"kicks": 5, "bans": 3, "role_removals": 5})


def entry(
    n: int, minute: float, actor: str = MAYA, kind: str = "group.user.ban", *, discord: int | None = None
) -> StoredEntry:
    return StoredEntry(
        id=f"gaud_{n:08d}-0000-4000-8000-000000000000",
        group_id="grp_x",
        created_at=T0 + timedelta(minutes=minute),
        event_type=kind,
        actor_id=actor,
        actor_display_name="Maya" if actor == MAYA else "someone",
        target_id=f"usr_{n:08d}-0000-4000-8000-000000000001",
        description="",
        data=None,
        fetched_at=T0,
        discord_actor_id=discord,
        discord_actor_name=None if discord is None else f"mod{discord}",
    )


def known_from(episode) -> KnownEpisode:
    return KnownEpisode(
        episode.started_at, episode.last_entry_at, tuple(episode.entry_ids), dict(episode.counts)
    )


def test_a_burst_is_one_episode_however_long() -> None:
    burst = [entry(i, i * 0.5) for i in range(30)]  # 30 bans, one every 30 s
    (episode,) = detect(counted(burst), {}, LIMITS)
    assert episode.new and episode.actor.key == f"vrchat:{MAYA}"
    assert episode.counts["bans"] == 30 and len(episode.entry_ids) == 30
    assert episode.started_at == T0  # the window that went over: the first four bans


def test_below_the_threshold_nothing() -> None:
    # Three bans in any ten minutes is the limit, not over it; ten kicks spread out never are.
    calm = [entry(i, i * 4) for i in range(12)] + [
        entry(100 + i, i * 2.5, kind="group.member.remove") for i in range(20)
    ]
    assert detect(counted(calm), {}, LIMITS) == []


def test_a_quiet_window_makes_a_second_episode() -> None:
    first = [entry(i, i) for i in range(5)]
    second = [entry(10 + i, 30 + i) for i in range(5)]  # 26 minutes of quiet in between
    episodes = detect(counted(first + second), {}, LIMITS)
    assert [e.started_at for e in episodes] == [T0, T0 + timedelta(minutes=30)]
    assert all(e.new for e in episodes)


def test_running_again_with_the_stored_episode_adds_nothing() -> None:
    burst = counted([entry(i, i * 0.5) for i in range(8)])
    (episode,) = detect(burst, {}, LIMITS)
    assert detect(burst, {episode.actor.key: known_from(episode)}, LIMITS) == []


def test_more_of_the_same_burst_extends_the_stored_episode() -> None:
    burst = counted([entry(i, i * 0.5) for i in range(8)])
    (episode,) = detect(burst[:5], {}, LIMITS)
    (extended,) = detect(burst, {episode.actor.key: known_from(episode)}, LIMITS)
    assert not extended.new and extended.started_at == episode.started_at
    assert extended.counts["bans"] == 8


def test_the_bots_actions_count_against_the_discord_moderator_it_credits() -> None:
    # Four bans by the bot account: two credited to Discord moderator 7, two to 9, none over the limit
    # alone; then four more for 7, which are.
    entries = [entry(i, i, BOT, discord=7 if i % 2 else 9) for i in range(4)]
    entries += [entry(10 + i, 5 + i * 0.1, BOT, discord=7) for i in range(4)]
    (episode,) = detect(counted(entries), {}, LIMITS)
    assert episode.actor.key == "discord:7" and episode.actor.discord_id == 7
    assert episode.actor.vrchat_id is None and episode.counts["bans"] == 6


def test_each_actor_and_kind_is_counted_on_its_own() -> None:
    mixed = [entry(i, i * 0.5, MAYA if i % 2 else OLI) for i in range(6)]  # 3 bans each: at the limit
    mixed += [entry(20 + i, i * 0.5, MAYA, "group.member.role.unassign") for i in range(5)]
    assert detect(counted(mixed), {}, LIMITS) == []
    mixed.append(entry(40, 3, MAYA, "group.member.role.unassign"))
    (episode,) = detect(counted(mixed), {}, LIMITS)
    assert episode.actor.vrchat_id == MAYA and episode.counts["role_removals"] == 6


def test_entries_not_counted_are_ignored() -> None:
    joins = [entry(i, i * 0.1, kind="group.member.join") for i in range(50)]
    assert counted(joins) == []
