"""Poison data in join requests, users and posts never costs the other cards, through the real bot on
the VRChat simulator and the Discord stand-in, on SQLite and PostgreSQL (issue #12).

The simulator serves arbitrary JSON values (hypothesis) in any field of a join request, of the
requester's profile and of a group post (`unchecked_json`, not validated against the spec): every
requester with a usable user id still gets exactly one card, within Discord's rules, and `/vrc posts`
still answers.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from bot.bot import GroupBridgeBot
from bot.config import Config, load_config_text
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat.render import DROP
from bot.sandbox.vrchat.render import member as member_json
from bot.sandbox.vrchat.render import post as post_json
from bot.store import BindingIn, Store
from bot.vrchat import VRChatClient
from bot.vrchat.ids import is_user_id
from bot.vrchat.models import GroupPost, parse_items
from bot.vrchat.text_safety import make_safe
from tests.discord.conftest import command
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, GUILD_ID, MOD_ROLE_ID, connected_bot
from tests.fixtures.vrchat_sim import SeededSim
from tests.hostile.strategies import SHARED_FIXTURES, examples, hostile_text

GROUPS = 30  # a group (and requests channel) per example; the config must allow them all
CHANNELS = itertools.count(1_300_000_000_000_100_000)


def config_for(seeded: SeededSim, tmp_path: Path, group_ids: list[str]) -> Config:
    groups = [{"id": g, "name": f"Group {n}"} for n, g in enumerate(group_ids)]
    return load_config_text(config_toml(seeded, tmp_path, database="unused.db", groups=groups))


class CardWorld:
    """The real bot, connected, with a pool of groups the config allows; each example takes one."""

    def __init__(self, seeded: SeededSim, standin: DiscordStandIn, store: Store, bot: GroupBridgeBot) -> None:
        self.seeded, self.standin, self.store, self.bot = seeded, standin, store, bot
        self._groups: Iterator[str] = iter([])

    async def fresh_group(self) -> tuple[str, int]:
        """A bound group of its own with an empty requests channel (groups are reused, emptied, once
        the pool is used up: shrinking a failure runs many more examples)."""
        group_id = next(self._groups)
        for old in await self.store.list_bindings(group_id=group_id):
            await self.store.remove_binding(old.id)
        group = self.seeded.sim.state.group(group_id)
        assert group is not None
        for user_id in [u for u in group.memberships if u != group.owner_id]:
            del group.memberships[user_id]
        group.posts.clear()
        channel = next(CHANNELS)
        self.standin.add_channel(channel, guild_id=GUILD_ID, name=f"requests-{channel}")
        await self.store.add_binding(
            BindingIn(
                group_id=group_id,
                guild_id=GUILD_ID,
                feed_channel_id=FEED_CHANNEL_ID,
                requests_channel_id=channel,
                moderator_role_ids=(MOD_ROLE_ID,),
            )
        )
        return group_id, channel

    def cards(self, channel: int) -> list[str]:
        """The requester id of each card in the channel (its footer is "grp_… · usr_…")."""
        return [m.embeds[0]["footer"]["text"].split(" · ")[-1] for m in self.standin.messages(channel)]


@asynccontextmanager
async def card_world(
    seeded: SeededSim, standin: DiscordStandIn, store: Store, vrchat: VRChatClient, tmp_path: Path
) -> AsyncIterator[CardWorld]:
    state = seeded.sim.state
    group_ids = [
        state.add_group(f"Pool {n}", short_code=f"POOL{n}", discriminator="0001", owner_id=seeded.bot.id).id
        for n in range(GROUPS)
    ]
    bot = GroupBridgeBot(config_for(seeded, tmp_path, group_ids), vrchat, store, run_feed=False)
    async with connected_bot(standin, bot) as connected:
        world = CardWorld(seeded, standin, store, connected)
        world._groups = itertools.cycle(group_ids)
        yield world


@pytest.fixture
async def world(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    store: Store,
    bot_vrchat: VRChatClient,
    tmp_path: Path,
) -> AsyncIterator[CardWorld]:
    async with card_world(seeded_sim, gateway_standin, store, bot_vrchat, tmp_path) as made:
        yield made


async def sync(world: CardWorld, group_id: str) -> int:
    return await world.bot.get_cog("JoinRequests").sync_cards([group_id])  # type: ignore[union-attr]


async def test_a_lone_surrogate_in_a_requesters_name_costs_no_card(world: CardWorld) -> None:
    """Issue #12: the card round failed whole (UnicodeEncodeError storing the card), so nobody's
    request showed up."""
    state = world.seeded.sim.state
    group_id, channel = await world.fresh_group()
    odd = state.add_user("bad \ud800 name", bio="\x00")
    plain = state.add_user("Plain")
    state.add_join_request(group_id, odd.id)
    state.add_join_request(group_id, plain.id)
    assert await sync(world, group_id) == 2
    assert sorted(world.cards(channel)) == sorted([odd.id, plain.id])
    titles = [m.embeds[0]["title"] for m in world.standin.messages(channel)]
    assert any("bad \ufffd name" in t for t in titles), titles
    assert await sync(world, group_id) == 0  # the next round posts nothing twice


# --- the property --------------------------------------------------------------------------------

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), any_text, hostile_text(3000)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=12,
)
MEMBER_FIELDS = (
    "userId",
    "user",
    "createdAt",
    "joinedAt",
    "membershipStatus",
    "roleIds",
    "managerNotes",
    "id",
    "groupId",
    "visibility",
)
USER_FIELDS = (
    "id",
    "displayName",
    "bio",
    "bioLinks",
    "tags",
    "ageVerificationStatus",
    "ageVerified",
    "date_joined",
    "pronouns",
    "status",
    "statusDescription",
    "currentAvatarThumbnailImageUrl",
    "profilePicOverride",
    "userIcon",
)
POST_FIELDS = ("id", "title", "text", "visibility", "roleId", "createdAt", "authorId", "imageUrl", "groupId")


def overrides(fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Nothing odd, some fields replaced (or dropped), or the whole object replaced."""
    replaced = st.dictionaries(st.sampled_from(fields), st.one_of(json_values, st.just(DROP)), max_size=4)
    return st.one_of(st.none(), replaced, replaced, json_values.filter(lambda v: v is not None))


requesters = st.lists(
    st.tuples(hostile_text(200, min_size=1), overrides(MEMBER_FIELDS), overrides(USER_FIELDS)),
    min_size=1,
    max_size=4,
)
posts = st.lists(st.tuples(hostile_text(300, min_size=1), overrides(POST_FIELDS)), max_size=3)


def served(rendered: Any) -> Any:
    """What the client reads of a rendered object: through the wire's JSON and the client's cleaning."""
    return make_safe(json.loads(json.dumps(rendered)))


@examples(40, suppress_health_check=SHARED_FIXTURES)
@given(requests=requesters, group_posts=posts)
async def test_odd_requests_users_and_posts_never_cost_the_others(
    world: CardWorld, requests: list[tuple[str, Any, Any]], group_posts: list[tuple[str, Any]]
) -> None:
    state = world.seeded.sim.state
    group_id, channel = await world.fresh_group()
    expected: set[str] = set()
    for name, member_override, user_override in requests:
        user = state.add_user(name)
        user.unchecked_json = user_override
        record = state.add_join_request(group_id, user.id)
        record.unchecked_json = member_override
        wire = served(member_json(record, state))
        user_id = wire.get("userId") if isinstance(wire, dict) else None
        if isinstance(user_id, str) and is_user_id(user_id):
            expected.add(user_id)
    readable_posts = 0
    for title, post_override in group_posts:
        post = state.add_post(group_id, world.seeded.bot.id, title, title[::-1])
        post.unchecked_json = post_override
        readable_posts += len(parse_items(GroupPost, [served(post_json(post))]))

    await sync(world, group_id)
    await sync(world, group_id)  # a second round posts nothing twice
    cards = world.cards(channel)
    assert sorted(cards) == sorted(expected), (cards, expected)
    event(f"cards for {len(expected)} of {len(requests)} requests")

    assert len(await world.bot.services.posts.recent(group_id)) == min(readable_posts, 10)
    listing = await command(world.standin, "vrc", "posts", {"group": group_id})
    assert listing.callback is not None
