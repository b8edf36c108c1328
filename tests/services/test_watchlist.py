"""Watchlists: admins only, private to one server, and shown on the join-request cards."""

from __future__ import annotations

import pytest

from bot.sandbox.vrchat import Fault
from bot.services.registry import Actor, InvalidInput, NotFoundError, PermissionDenied, Services
from bot.store import BindingIn, Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import ADA, GUILD, MAYA, OTHER_GUILD, REQUESTS, actions

OTHER_ADMIN = Actor(user_id=2001, name="olga", guild_id=OTHER_GUILD, role_ids=frozenset(), manage_guild=True)
OTHER_REQUESTS = 900_000_000_000_000_009


def raiders(seeded: SeededSim, *members: str) -> str:
    """A group "Raiders" with these members; returns its ID."""
    state = seeded.sim.state
    group = state.add_group("Raiders", short_code="RAID", discriminator="6666", owner_id=seeded.outsider.id)
    for user_id in members:
        state.add_member(group.id, user_id)
    return group.id


async def bind_other_guild(store: Store, group_id: str) -> None:
    await store.add_binding(BindingIn(group_id, OTHER_GUILD, 900_000_000_000_000_008, OTHER_REQUESTS, ()))


async def test_add_list_remove(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    watched = raiders(seeded_sim)
    entry = await services.watchlist.add(
        ADA, GUILD, None, f"https://vrchat.com/home/group/{watched}", " known  raiders "
    )
    assert (
        entry.group_id == watched
        and entry.note == "known raiders"
        and entry.added_by_discord_id == ADA.user_id
    )
    binding, entries = await services.watchlist.list(ADA, GUILD, None)
    assert binding.group_id == seeded_sim.group.id
    assert [(e.group_id, e.note) for e in entries] == [(watched, "known raiders")]
    with pytest.raises(InvalidInput, match="already"):
        await services.watchlist.add(ADA, GUILD, None, watched, "again")
    await services.watchlist.remove(ADA, GUILD, seeded_sim.group.id, watched)
    assert (await services.watchlist.list(ADA, GUILD, None))[1] == []
    with pytest.raises(NotFoundError):
        await services.watchlist.remove(ADA, GUILD, None, watched)
    logged = [a.action for a in await actions(bound, guild_id=GUILD)]
    assert sorted(logged) == ["watchlist.add", "watchlist.remove"]


async def test_moderators_are_not_admins(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    watched = raiders(seeded_sim)
    for call in (
        services.watchlist.add(MAYA, GUILD, None, watched, ""),
        services.watchlist.remove(MAYA, GUILD, None, watched),
        services.watchlist.list(MAYA, GUILD, None),
    ):
        with pytest.raises(PermissionDenied, match="Manage Server"):
            await call
    # An admin of another server cannot reach this server's list either.
    with pytest.raises(PermissionDenied):
        await services.watchlist.add(OTHER_ADMIN, GUILD, None, watched, "")
    assert await bound.list_watch([b.id for b in await bound.list_bindings()]) == []


@pytest.mark.parametrize("text", ["RAID.6666", "https://vrc.group/RAID.6666"])
async def test_a_short_code_is_looked_up_and_the_id_kept(
    services: Services, bound: Store, seeded_sim: SeededSim, text: str
) -> None:
    watched = raiders(seeded_sim)
    entry = await services.watchlist.add(ADA, GUILD, None, text, "")
    assert entry.group_id == watched
    await services.watchlist.remove(ADA, GUILD, None, text)
    assert await bound.list_watch([b.id for b in await bound.list_bindings()]) == []


async def test_a_short_code_vrchat_does_not_find_is_refused(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    raiders(seeded_sim)
    with pytest.raises(NotFoundError, match=r"finds no group RAID\.6667"):
        await services.watchlist.add(ADA, GUILD, None, "RAID.6667", "")
    assert await bound.list_watch([b.id for b in await bound.list_bindings()]) == []


@pytest.mark.parametrize("text", ["raiders", "usr_c1644b5b-3ca4-45b4-97c6-a2a0de70d469", ""])
async def test_other_text_is_refused(services: Services, text: str) -> None:
    with pytest.raises(InvalidInput, match="not a VRChat group ID, short code or link"):
        await services.watchlist.add(ADA, GUILD, None, text, "")


async def test_a_long_note_is_refused(services: Services, seeded_sim: SeededSim) -> None:
    with pytest.raises(InvalidInput, match="200 characters"):
        await services.watchlist.add(ADA, GUILD, None, raiders(seeded_sim), "x" * 201)
    await services.watchlist.add(ADA, GUILD, None, raiders(seeded_sim), "x" * 200)


async def test_watchlists_are_not_shared_between_servers(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    gid = seeded_sim.group.id
    await bind_other_guild(bound, gid)
    watched = raiders(seeded_sim, seeded_sim.requester.id)
    await services.watchlist.add(OTHER_ADMIN, OTHER_GUILD, None, watched, "their note")
    assert (await services.watchlist.list(ADA, GUILD, None))[1] == []
    assert [e.note for e in (await services.watchlist.list(OTHER_ADMIN, OTHER_GUILD, None))[1]] == [
        "their note"
    ]

    posts = {c.channel_id: c for c in await services.requests.reconcile(gid)}
    assert set(posts) == {REQUESTS, OTHER_REQUESTS}
    ours, theirs = posts[REQUESTS].groups, posts[OTHER_REQUESTS].groups
    assert ours is not None and theirs is not None
    assert ours.available and ours.count == 1 and ours.names == ("Raiders",) and ours.hits == ()
    assert [(h.group_id, h.name, h.note) for h in theirs.hits] == [(watched, "Raiders", "their note")]


async def test_a_card_summarises_groups_and_watchlist_hits(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    state, carol = seeded_sim.sim.state, seeded_sim.requester.id
    watched = raiders(seeded_sim, carol)
    for i in range(4):
        club = state.add_group(
            f"Club {i}", short_code=f"CLUB{i}", discriminator="0001", owner_id=seeded_sim.outsider.id
        )
        state.add_member(club.id, carol)
    await services.watchlist.add(ADA, GUILD, None, watched, "raided us in May")
    (post,) = await services.requests.reconcile(seeded_sim.group.id)
    assert post.groups is not None and post.groups.available
    assert post.groups.count == 5 and len(post.groups.names) == 3
    assert [(h.group_id, h.note) for h in post.groups.hits] == [(watched, "raided us in May")]


async def test_a_failed_groups_lookup_still_posts_the_card(services: Services, seeded_sim: SeededSim) -> None:
    seeded_sim.sim.faults.add(Fault(method="GET", path=r"^/users/[^/]+/groups$", status=500))
    (post,) = await services.requests.reconcile(seeded_sim.group.id)
    assert post.kind == "post" and post.request is not None
    assert post.groups is not None and not post.groups.available
