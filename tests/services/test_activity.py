"""A moderator's command on a group is activity there (bot.activity): the feed hears of it and polls a
quiet group at the interval again. A refused command is not; a listener's bug never fails a command."""

from __future__ import annotations

import discord
import pytest

from bot.activity import GroupActivity
from bot.config import Config
from bot.feed.outbox import OutboxWorker
from bot.feed.poller import PollSettings
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.services.registry import PermissionDenied, Services
from bot.store import Store
from bot.vrchat import VRChatClient
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import EVE, MAYA, SAM


@pytest.fixture
def heard() -> list[str]:
    return []


@pytest.fixture
def hub(heard: list[str]) -> GroupActivity:
    activity = GroupActivity()
    activity.subscribe(heard.append)
    return activity


@pytest.fixture
def active_services(vrc: VRChatClient, bound: Store, config: Config, hub: GroupActivity) -> Services:
    return Services(vrc, bound, config, activity=hub)


async def test_moderation_and_request_decisions_are_heard_per_group(
    active_services: Services, seeded_sim: SeededSim, heard: list[str]
) -> None:
    gid = seeded_sim.group.id
    await active_services.moderation.kick(MAYA, gid, "Bob")
    await active_services.requests.decide(SAM, gid, seeded_sim.requester.id, "reject")
    assert heard == [gid, gid]


async def test_a_refused_command_is_not_activity(
    active_services: Services, seeded_sim: SeededSim, heard: list[str]
) -> None:
    with pytest.raises(PermissionDenied):
        await active_services.moderation.kick(EVE, seeded_sim.group.id, "Bob")
    assert heard == []
    assert seeded_sim.sim.state.is_member(seeded_sim.group.id, seeded_sim.member.id)


async def test_a_failing_listener_does_not_fail_the_command(
    active_services: Services, hub: GroupActivity, seeded_sim: SeededSim, heard: list[str]
) -> None:
    def broken(group_id: str) -> None:
        raise RuntimeError("listener bug")

    hub.subscribe(broken)
    outcome = await active_services.moderation.kick(MAYA, seeded_sim.group.id, "Bob")
    assert outcome.user_id == seeded_sim.member.id and heard == [seeded_sim.group.id]


async def test_the_feed_puts_the_groups_poller_back_at_the_interval(
    active_services: Services, vrc: VRChatClient, bound: Store, hub: GroupActivity, seeded_sim: SeededSim
) -> None:
    # A Discord client that never connects: nothing is sent here, the feed only needs its sender.
    sender = DiscordFeedSender(discord.Client(intents=discord.Intents.none()))
    feed = FeedService(vrc, bound, OutboxWorker(bound, sender), PollSettings(quiet_ceiling=180))
    hub.subscribe(feed.mark_active)  # as bot.bot connects them
    await feed.sync_pollers()
    poller = feed.pollers[seeded_sim.group.id]
    for _ in range(4):
        poller.backoff.polled(new_entries=False)
    assert poller.backoff.quiet and poller.backoff.nominal() == 180
    await active_services.moderation.ban(MAYA, seeded_sim.group.id, seeded_sim.outsider.id)
    assert not poller.backoff.quiet and poller.backoff.nominal() == 60
