"""Join-request cards from the audit-log mirror. Where this process mirrors a group's log and its polls
go through, the full card round lists the group's requests only as a reconcile (every
feed.request_reconcile_seconds), and a new request reaches its card through the mirror's
`group.request.*` entry; a group whose log the account may not read is listed at every round, as
before. Rounds run on a virtual clock shared by the feed and the card loop, a minute per round."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from bot.bot import GroupBridgeBot
from bot.config import load_config_text
from bot.feed.outbox import OutboxWorker
from bot.feed.poller import PollSettings
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.requests.cog import JoinRequests
from bot.requests.loop import CardRounds
from bot.sandbox.discord import DiscordStandIn
from bot.store import BindingIn, Store
from tests.discord.conftest import card_messages
from tests.fixtures.bridge import BotFactory
from tests.fixtures.clocks import VirtualClock
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, GUILD_ID, MOD_ROLE_ID, REQUESTS_CHANNEL_ID
from tests.fixtures.vrchat_sim import SeededSim

ROUND = 60.0  # virtual seconds between full rounds (CARD_POLL_SECONDS, without its jitter)


def listings(seeded_sim: SeededSim, group_id: str) -> int:
    """How often the bot has asked VRChat for the group's pending join requests."""
    path = f"/groups/{group_id}/requests"
    return sum(1 for r in seeded_sim.sim.requests if r.method == "GET" and r.path.endswith(path))


def mirror(bot: GroupBridgeBot, clock: VirtualClock) -> FeedService:
    """The audit-log mirror as `groupbridge run` builds it, on the test's clock (moved by the test)."""
    settings = PollSettings(quiet_ceiling=bot.config.feed.quiet_ceiling)
    worker = OutboxWorker(bot.store, DiscordFeedSender(bot))
    return FeedService(bot.vrchat, bot.store, worker, settings, clock=clock.time)


def card_rounds(bot: GroupBridgeBot) -> CardRounds:
    cog = bot.get_cog("JoinRequests")
    assert cog is not None
    return cast("JoinRequests", cog).rounds  # loaded as an extension: a class of its own import


async def full_round(bot: GroupBridgeBot, clock: VirtualClock) -> None:
    """A minute later: the mirror polls every group, then the card loop's full round."""
    assert bot.feed is not None
    clock.now += ROUND
    await bot.feed.run_once()
    await card_rounds(bot).full_round(ROUND, now=clock.now)


@pytest.mark.slow  # thirty rounds of the real bot's card loop
async def test_a_mirrored_group_is_listed_per_reconcile_a_blind_one_every_round(
    make_bot: BotFactory, bot_store: Store, seeded_sim: SeededSim, tmp_path: Path
) -> None:
    state, group_id = seeded_sim.sim.state, seeded_sim.group.id
    # A second group where the bot may handle join requests but not read the audit log.
    blind = state.add_group("Blind Group", short_code="BLIND", owner_id=seeded_sim.outsider.id)
    gatekeeper = state.add_role(blind.id, "Gatekeeper", permissions=["group-invites-manage"])
    state.add_member(blind.id, seeded_sim.bot.id, [gatekeeper.id])
    await bot_store.add_binding(
        BindingIn(
            group_id=blind.id,
            guild_id=GUILD_ID,
            feed_channel_id=FEED_CHANNEL_ID,
            requests_channel_id=REQUESTS_CHANNEL_ID,
            moderator_role_ids=(MOD_ROLE_ID,),
        )
    )
    groups = [{"id": group_id, "name": "Test Group"}, {"id": blind.id, "name": "Blind Group"}]
    async with make_bot(load_config_text(config_toml(seeded_sim, tmp_path, groups=groups))) as bot:
        assert bot.config.feed.request_reconcile_seconds == 1800
        clock = VirtualClock(start=10_000.0)
        bot.feed = mirror(bot, clock)
        try:
            for _ in range(45):
                await full_round(bot, clock)
        finally:
            bot.feed = None
    # 45 minutes: the first round lists it (requests from before the bot came), then one reconcile
    # every 1800 s ± 20 % (24 to 36 rounds apart): 2 listings, not 45.
    assert listings(seeded_sim, group_id) == 2
    assert listings(seeded_sim, blind.id) == 45  # no group-audit-view: every round, as before


async def test_a_new_request_reaches_its_card_through_the_mirror(
    make_bot: BotFactory, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    state, group_id = seeded_sim.sim.state, seeded_sim.group.id
    async with make_bot() as bot:
        rounds = card_rounds(bot)
        clock = VirtualClock(start=10_000.0)
        bot.feed = mirror(bot, clock)
        try:
            await full_round(bot, clock)  # the first: Carol's card, a request from before the bot came
            assert len(card_messages(gateway_standin)) == 1
            listed = listings(seeded_sim, group_id)
            await full_round(bot, clock)
            assert listings(seeded_sim, group_id) == listed  # no periodic listing: the mirror is live
            state.request_to_join(group_id, state.add_user("Erin", bio="Hello").id)
            clock.now += ROUND
            await bot.feed.run_once()  # the mirror stores the request's entry
            assert listings(seeded_sim, group_id) == listed
            assert await rounds.check_feed_events()  # the entry: a round for the group at once
            assert listings(seeded_sim, group_id) == listed + 1
            # An entry the full round's own look at the store finds gets its round there too.
            state.request_to_join(group_id, state.add_user("Frank", bio="Hi").id)
            await full_round(bot, clock)
        finally:
            bot.feed = None
    titles = [m.embeds[0]["title"] for m in card_messages(gateway_standin)]
    assert len(titles) == 3 and "Erin" in titles[1] and "Frank" in titles[2]
    assert listings(seeded_sim, group_id) == listed + 2
