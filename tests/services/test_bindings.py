"""Linking, unlinking, event families, resume, and the status report."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.services.registry import InvalidInput, NotFoundError, PermissionDenied, Services
from bot.store import AuditEntryIn, BindingIn, CursorUpdate, Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import (
    ADA,
    FEED,
    GHOST_GROUP,
    GUILD,
    MAYA,
    MOD_ROLE,
    OTHER_GUILD,
    REQUESTS,
    actions,
)
from tests.store.helpers import count_rows

NEW_FEED = 900_000_000_000_000_010


async def test_link_by_group_link(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    linked = await services.bindings.link(
        ADA, GUILD, f"https://vrchat.com/home/group/{gid}", NEW_FEED, None, [MOD_ROLE, MOD_ROLE, 5]
    )
    binding = linked.binding
    assert linked.permission_problem is None  # the bot account owns the group: it may do anything
    assert (binding.group_id, binding.feed_channel_id, binding.moderator_role_ids, binding.source) == (
        gid,
        NEW_FEED,
        (MOD_ROLE, 5),
        "command",
    )
    assert len(seeded_sim.sim.requests_to("GET", f"/groups/{gid}$")) == 1
    (record,) = await actions(bound)
    assert (record.action, record.discord_user_name, record.details["group_name"]) == (
        "binding.link",
        "ada",
        "Test Group",
    )
    with pytest.raises(InvalidInput, match=f"Test Group already posts to <#{NEW_FEED}>"):
        await services.bindings.link(ADA, GUILD, gid, NEW_FEED)


@pytest.mark.parametrize("code", ["TESTG.1234", "testg.1234", "https://vrc.group/TESTG.1234"])
async def test_link_by_short_code(services: Services, bound: Store, seeded_sim: SeededSim, code: str) -> None:
    state = seeded_sim.sim.state
    # Groups the search also finds, which are not the one named: the same code with another
    # discriminator, and a group whose name holds the code.
    state.add_group("Other", short_code="TESTG", discriminator="0001", owner_id=seeded_sim.bot.id)
    state.add_group("TESTG fans", short_code="FANS", discriminator="1234", owner_id=seeded_sim.bot.id)
    linked = await services.bindings.link(ADA, GUILD, code, NEW_FEED)
    assert linked.binding.group_id == seeded_sim.group.id
    (search,) = seeded_sim.sim.requests_to("GET", "/groups$")
    assert search.query == {"query": "TESTG", "n": "100", "offset": "0"}


async def test_a_short_code_is_looked_for_only_after_the_rest_is_checked(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    with pytest.raises(InvalidInput, match="not a valid Discord channel ID"):
        await services.bindings.link(ADA, GUILD, "TESTG.1234", -1)
    assert seeded_sim.sim.requests_to("GET", "/groups$") == []


async def test_a_short_code_search_stops_after_two_pages(
    services: Services, bound: Store, seeded_sim: SeededSim
) -> None:
    state = seeded_sim.sim.state
    for i in range(250):  # all "TESTG", none with the discriminator asked for
        state.add_group(
            f"Twin {i}", short_code="TESTG", discriminator=f"{i + 2000:04d}", owner_id=seeded_sim.bot.id
        )
    with pytest.raises(NotFoundError, match=re.escape("finds no group TESTG.0042")):
        await services.bindings.link(ADA, GUILD, "TESTG.0042", NEW_FEED)
    offsets = [r.query["offset"] for r in seeded_sim.sim.requests_to("GET", "/groups$")]
    assert offsets == ["0", "100"]
    assert await count_rows(bound, "bindings") == 1


@pytest.mark.parametrize(
    ("actor", "group_text", "error", "message"),
    [
        (MAYA, "{gid}", PermissionDenied, "Only members with the Manage Server permission"),
        (dataclasses.replace(ADA, guild_id=OTHER_GUILD), "{gid}", PermissionDenied, "the server you are in"),
        (ADA, "TESTG.9999", NotFoundError, "VRChat's group search finds no group TESTG.9999"),
        (ADA, "Test Group", InvalidInput, "is not a VRChat group ID, short code or link"),
        (ADA, "grp_00000000-0000-4000-8000-0000000000aa", PermissionDenied, "not one of the groups this bot"),
        (ADA, GHOST_GROUP, NotFoundError, "VRChat has no group grp_00000000-0000-4000-8000-00000000dead, or"),
    ],
)
async def test_link_refusals(
    services: Services,
    bound: Store,
    seeded_sim: SeededSim,
    actor: object,
    group_text: str,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        await services.bindings.link(actor, GUILD, group_text.format(gid=seeded_sim.group.id), NEW_FEED)  # type: ignore[arg-type]
    assert await count_rows(bound, "bindings") == 1
    assert await actions(bound) == []


async def test_unlink(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    with pytest.raises(PermissionDenied):
        await services.bindings.unlink(MAYA, GUILD, gid)
    removed = await services.bindings.unlink(ADA, GUILD, gid)
    assert [b.feed_channel_id for b in removed] == [FEED]
    assert await bound.list_bindings() == []
    with pytest.raises(NotFoundError, match="not linked to the VRChat group Test Group"):
        await services.bindings.unlink(ADA, GUILD, gid)

    await bound.apply_config_bindings([BindingIn(gid, GUILD, FEED)])
    with pytest.raises(PermissionDenied, match=r"comes from config\.toml; remove it there"):
        await services.bindings.unlink(ADA, GUILD, gid)
    assert len(await bound.list_bindings()) == 1


async def test_set_events(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    (updated,) = await services.bindings.set_events(ADA, GUILD, gid, ["Moderation", "requests", "moderation"])
    assert updated.event_families == ("moderation", "requests")
    for bad, message in (([], "Pick at least one kind of event"), (["bans"], "Unknown kind of event “bans”")):
        with pytest.raises(InvalidInput, match=message):
            await services.bindings.set_events(ADA, GUILD, gid, bad)
    with pytest.raises(PermissionDenied):
        await services.bindings.set_events(MAYA, GUILD, gid, ["posts"])
    (binding,) = await bound.list_bindings()
    assert binding.event_families == ("moderation", "requests")


async def test_resume(services: Services, bound: Store) -> None:
    with pytest.raises(InvalidInput, match="is not paused"):
        await services.bindings.resume(ADA, GUILD, FEED)
    with pytest.raises(NotFoundError, match="is not a feed channel of this server"):
        await services.bindings.resume(ADA, GUILD, REQUESTS)
    await bound.pause_binding(channel_id=FEED, reason="Missing Access (403)")
    with pytest.raises(PermissionDenied):
        await services.bindings.resume(MAYA, GUILD, FEED)
    (resumed,) = await services.bindings.resume(ADA, GUILD, FEED)
    assert not resumed.paused
    (record,) = await actions(bound)
    assert (record.action, record.details["paused_reason"]) == ("binding.resume", "Missing Access (403)")


async def test_status_report(services: Services, bound: Store, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    empty = await services.bindings.status(GUILD)
    (group,) = empty.groups
    assert (group.group_name, group.last_poll_at, group.cursor_age, group.last_error) == (
        "Test Group",
        None,
        None,
        None,
    )
    assert not empty.session_blocked and empty.vrchat_user_id == seeded_sim.bot.id
    assert [(c.channel_id, c.pending, c.paused) for c in empty.channels] == [(FEED, 0, False)]

    newest = datetime.now(UTC) - timedelta(hours=2)
    entries = [AuditEntryIn(f"gaud_{n}", newest - timedelta(minutes=n), "group.update") for n in range(3)]
    await bound.ingest(gid, entries, cursor_update=CursorUpdate("gaud_0", newest))
    await bound.record_poll(gid, ok=False, error="VRChat answered 503")
    await bound.pause_binding(channel_id=FEED, reason="Missing Permissions (403)")
    gap = await bound.record_gap(gid, newest - timedelta(days=2), newest - timedelta(days=1), "audit log gap")
    await bound.add_binding(BindingIn(GHOST_GROUP, OTHER_GUILD, 1))  # another server's: not shown

    report = await services.bindings.status(GUILD)
    (group,) = report.groups
    assert group.last_error == "VRChat answered 503"
    assert group.last_poll_at is not None and group.last_success_at is not None
    assert group.newest_entry_at == newest
    assert group.cursor_age is not None and timedelta(hours=2) <= group.cursor_age < timedelta(
        hours=2, minutes=1
    )
    (channel,) = report.channels
    assert (channel.channel_id, channel.pending, channel.paused, channel.paused_reason) == (
        FEED,
        3,
        True,
        "Missing Permissions (403)",
    )
    assert channel.oldest_pending_age is not None and channel.oldest_pending_age < timedelta(minutes=1)
    assert report.paused_channels == (channel,) and report.outbox_pending == 3
    assert [g.id for g in report.gaps] == [gap.id]
