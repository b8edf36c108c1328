"""What players do in the simulated VRChat outside any API call (their own profile), and large groups."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.sandbox.vrchat import add_crowd
from tests.fixtures.vrchat_sim import SeededSim, bot_client


async def test_a_player_s_bio_and_status_reach_get_users(seeded_sim: SeededSim, tmp_path: Path) -> None:
    state, carol = seeded_sim.sim.state, seeded_sim.requester
    before = carol.updated_at
    state.edit_profile(
        carol.id, bio="discord: carol#0 code GB-7F3K", status_description="GB-7F3K", status="busy"
    )
    async with bot_client(seeded_sim, tmp_path / "s.json") as client:
        await client.login()
        user = await client.get_user(carol.id)
    assert (user.bio, user.status_description, user.status) == (
        "discord: carol#0 code GB-7F3K",
        "GB-7F3K",
        "busy",
    )
    assert carol.updated_at >= before
    assert not any(
        e.target_id == carol.id for e in state.audit(seeded_sim.group.id) if "update" in e.event_type
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bio": "x" * 513}, "512"),
        ({"status_description": "x" * 33}, "32"),
        ({"status": "online"}, "status must be one of"),
    ],
)
def test_what_vrchat_would_not_take_is_refused_and_changes_nothing(
    seeded_sim: SeededSim, change: dict[str, str], message: str
) -> None:
    carol = seeded_sim.requester
    with pytest.raises(ValueError, match=message):
        seeded_sim.sim.state.edit_profile(carol.id, **{"status": "ask me", "bio": "new bio", **change})
    assert (carol.bio, carol.status) == ("Let me in", "active")


def test_an_unknown_player_is_a_key_error(seeded_sim: SeededSim) -> None:
    with pytest.raises(KeyError):
        seeded_sim.sim.state.edit_profile("usr_00000000-0000-0000-0000-000000000000", bio="hi")


def test_a_crowd_joins_oldest_first_with_distinct_times(seeded_sim: SeededSim) -> None:
    state, gid = seeded_sim.sim.state, seeded_sim.group.id
    role = seeded_sim.moderator_role.id
    started = time.perf_counter()
    crowd = add_crowd(state, gid, 5000, name="Fan", role_ids=[role])
    print(f"\nseeded 5,000 members in {time.perf_counter() - started:.3f} s")
    assert crowd[0].display_name == "Fan 00001" and crowd[-1].display_name == "Fan 05000"
    records = [state.membership(gid, u.id) for u in crowd]
    times = [r.joined_at for r in records if r is not None]
    assert len(times) == 5000 and times == sorted(set(times))  # type: ignore[type-var]
    assert all(r is not None and r.role_ids == [role] for r in records)
    assert seeded_sim.group.member_count == 5003  # the owner, Alice and Bob too
    with pytest.raises(ValueError):
        add_crowd(state, gid, -1)
