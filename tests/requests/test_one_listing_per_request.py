"""A new join request told twice — by VRChat's pipeline (the simulator's, over its websocket) and by
its mirrored `group.request.create` entry — is listed once, whichever comes first
(bot.requests.announced). The mirror runs on a virtual clock moved by the test; the card loop's
live round is run as its task runs it, once the notice has reached the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.requests.announced import UntoldRequests
from bot.requests.loop import CardRounds
from bot.sandbox.discord import DiscordStandIn
from bot.services.pipeline_events import PipelineEvents
from bot.store import Store
from bot.vrchat import VRChatClient
from bot.vrchat.pipeline import Backoff
from tests.discord.conftest import card_messages
from tests.fixtures.bridge import BotFactory
from tests.fixtures.clocks import VirtualClock
from tests.fixtures.vrchat_sim import SeededSim
from tests.requests.test_cards_from_mirror import ROUND, card_rounds, full_round, listings, mirror

FAST = {"backoff": Backoff(base=0.1, cap=0.2, max_per_window=1000), "idle_check": 0.05}


async def live_round(rounds: CardRounds) -> None:
    """What the live-rounds task does with the groups the pipeline asked about since it last looked."""
    groups, rounds._asked = rounds._asked, set()
    await rounds.sync_cards(groups)


async def until(condition: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the pipeline's own task delivers it
            await asyncio.sleep(0.01)
    assert condition(), what


async def test_a_request_told_by_the_pipeline_and_the_mirror_is_listed_once(
    make_bot: BotFactory,
    bot_vrchat: VRChatClient,
    bot_store: Store,
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
) -> None:
    sim, group_id = seeded_sim.sim, seeded_sim.group.id
    state = sim.state
    async with make_bot() as bot:
        rounds = card_rounds(bot)
        clock = VirtualClock(start=10_000.0)
        bot.feed = mirror(bot, clock)
        told: list[str | None] = []
        events = PipelineEvents(bot_vrchat, bot_store, sim.pipeline_url, pipeline_options=FAST)
        events.subscribe(rounds.refresh_now)  # as the card loop subscribes where the pipeline runs
        events.subscribe(lambda _group_id, requester: told.append(requester))
        await events.start()
        bot.pipeline = events
        try:
            await full_round(bot, clock)  # Carol's card (from before the bot came); the mirror is live
            await until(lambda: events.listening_for(group_id), "the pipeline")
            listed = listings(seeded_sim, group_id)

            # The notice first: its round lists the request and posts Erin's card; the mirrored
            # entry that follows finds the card up and runs no round.
            state.request_to_join(group_id, state.add_user("Erin", bio="Hello").id)
            await until(lambda: len(told) == 1, "Erin's notice")
            await live_round(rounds)
            assert listings(seeded_sim, group_id) == listed + 1
            clock.now += ROUND
            await bot.feed.run_once()  # stores Erin's group.request.create
            assert not await rounds.check_feed_events()
            assert listings(seeded_sim, group_id) == listed + 1

            # The entry first (the notice is late): the entry's round lists it and posts Frank's
            # card; his notice, when it comes, runs no round.
            sim.pipeline.go_silent()
            frank = state.add_user("Frank", bio="Hi")
            state.request_to_join(group_id, frank.id)
            clock.now += ROUND
            await bot.feed.run_once()
            assert await rounds.check_feed_events()
            assert listings(seeded_sim, group_id) == listed + 2
            sim.pipeline.restore()

            # Gina's notice comes before Frank's late one: it is her request's, not his, and is
            # listed at once (matched by requester, not by a count per group).
            state.request_to_join(group_id, state.add_user("Gina", bio="Hey").id)
            await until(lambda: len(told) == 2, "Gina's notice")
            await live_round(rounds)
            assert listings(seeded_sim, group_id) == listed + 3
            sim.pipeline.notify_join_request(group_id, frank.id)
            await until(lambda: len(told) == 3, "Frank's late notice")
            await live_round(rounds)
            assert listings(seeded_sim, group_id) == listed + 3
        finally:
            await events.stop()
            bot.pipeline = None
            bot.feed = None
    titles = [m.embeds[0]["title"] for m in card_messages(gateway_standin)]
    assert len(titles) == 4, titles
    assert all(name in title for name, title in zip(("Carol", "Erin", "Frank", "Gina"), titles, strict=True))
    assert None not in told  # each notice named its requester


def test_a_notice_matches_only_the_request_of_its_group_and_requester() -> None:
    untold = UntoldRequests()
    untold.listed("grp_a", "usr_frank")
    assert not untold.told("grp_a", "usr_gina")  # another requester's notice is its own
    assert not untold.told("grp_b", "usr_frank")  # so is another group's
    assert not untold.told("grp_a", None)  # a notice that names nobody gets its round
    assert untold.told("grp_a", "usr_frank")
    assert not untold.told("grp_a", "usr_frank")  # matched once: a second notice is a new request's


def test_a_listed_request_whose_notice_never_came_is_forgotten() -> None:
    untold = UntoldRequests(keep=2)
    untold.listed("grp_a", "usr_frank")
    untold.resolved("grp_a", "usr_frank")  # accepted, say: his next request is a new one
    assert not untold.told("grp_a", "usr_frank")
    for user in ("usr_1", "usr_2", "usr_3"):
        untold.listed("grp_a", user)
    assert not untold.told("grp_a", "usr_1")  # the oldest, past `keep`
    assert untold.told("grp_a", "usr_2") and untold.told("grp_a", "usr_3")
