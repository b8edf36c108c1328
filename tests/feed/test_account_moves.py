"""A group moves to a better-suited VRChat account while the bot runs: its polls go out on the new
account, the feed loses and repeats nothing, the move is told once in the group's channel, and a
group never flaps between accounts. The real simulator (which tells which account called), a real
SQLite store and the Discord stand-in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import logs
from bot.config import load_config_text
from bot.dryrun import dry_run
from bot.feed.account_moves import TITLE
from bot.feed.outbox import OutboxWorker
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.sandbox.discord import DiscordStandIn
from bot.services.registry import Services
from bot.store import BindingIn, Store
from bot.vrchat.pool import AccountPool, Move
from bot.vrchat.router import GroupRouter
from tests.feed.test_outbox import GAUD
from tests.fixtures.configs import sqlite_url, toml
from tests.fixtures.discord_standin import FEED_CHANNEL_ID, GUILD_ID, logged_in_client, strict_standin
from tests.fixtures.vrchat_accounts import (
    ALPHA,
    BRAVO,
    PASSWORDS,
    TwoAccounts,
    alpha_vrchat,
    bravo_account,
    by_account,
    expire_sessions_of,
    make_account,
    open_pool,
)
from tests.services.conftest import make_config

RECHECK = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Bridge:
    two: TwoAccounts
    pool: AccountPool
    feed: FeedService
    store: Store
    standin: DiscordStandIn
    clock: Clock

    @property
    def group(self) -> str:
        return self.two.both.id

    def serving(self) -> str | None:
        account = self.pool.serving(self.group)
        return account.name if account else None

    def entry(self, text: str) -> str:
        state = self.two.sim.state
        return state.add_audit_entry(self.group, "group.update", self.two.stranger.id, self.group, text).id

    def delivered(self) -> list[str]:
        """The entry ids in the feed channel's embeds, oldest first (notices left out)."""
        ids = []
        for message in self.standin.messages(FEED_CHANNEL_ID):
            for embed in message.embeds:
                if embed.get("title") != TITLE:
                    match = GAUD.search(embed["footer"]["text"])
                    assert match, embed
                    ids.append(match.group(0).replace("\\", ""))
        return ids

    def notices(self) -> list[str]:
        return [
            str(e.get("description"))
            for m in self.standin.messages(FEED_CHANNEL_ID)
            for e in m.embeds
            if e.get("title") == TITLE
        ]

    def audit_polls_since(self, mark: int) -> dict[str | None, int]:
        """How many audit-log polls of the group each account sent since `mark` requests."""
        later = self.two.sim.requests[mark:]
        counts: dict[str | None, int] = {}
        for user_id, requests in by_account(self.two.sim, rf"^/groups/{self.group}/auditLogs$").items():
            counts[user_id] = sum(1 for r in requests if r in later)
        return {k: v for k, v in counts.items() if v}

    def take_audit_view(self, user_id: str) -> None:
        """In VRChat, the account keeps its place in the group but its role loses the audit log."""
        self.restrict(user_id, ["group-invites-manage"])

    def restrict(self, user_id: str, permissions: list[str]) -> None:
        """The account's role in the group now carries only these permissions."""
        state = self.two.sim.state
        role = state.add_role(self.group, f"Only {' '.join(permissions)}", permissions=permissions)
        state.add_member(self.group, user_id, [role.id])

    def give_moderator(self, user_id: str) -> None:
        state = self.two.sim.state
        state.add_member(self.group, user_id, [state.add_role(self.group, "Bots again", moderator=True).id])


@asynccontextmanager
async def _bridge(two: TwoAccounts, store: Store, pool: AccountPool, clock: Clock) -> AsyncIterator[Bridge]:
    await store.add_binding(
        BindingIn(group_id=two.both.id, guild_id=GUILD_ID, feed_channel_id=FEED_CHANNEL_ID)
    )
    try:
        async with strict_standin() as standin, logged_in_client(standin) as client:
            await pool.assign([two.both.id])
            feed = FeedService(GroupRouter(pool), store, OutboxWorker(store, DiscordFeedSender(client)))
            bridge = Bridge(two, pool, feed, store, standin, clock)
            await feed.run_once()  # the anchor: what is in the log now is history
            yield bridge
    finally:
        await pool.close()


@pytest.fixture
async def bridge(two: TwoAccounts, sqlite_store: Store, tmp_path: Path) -> AsyncIterator[Bridge]:
    """`both` (Alpha and Bravo moderators there) bound to the feed channel, served by Alpha."""
    clock = Clock()
    pool = await open_pool(two, tmp_path, clock=clock, recheck_after=RECHECK)
    async with _bridge(two, sqlite_store, pool, clock) as made:
        yield made


async def test_a_group_whose_account_lost_the_audit_log_moves_at_the_recheck(
    bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    two = bridge.two
    assert bridge.serving() == ALPHA
    before = [bridge.entry("before")]
    await bridge.feed.run_once()
    bridge.take_audit_view(two.alpha.id)
    during = [bridge.entry("during 1"), bridge.entry("during 2")]

    bridge.clock.now += RECHECK
    assert bridge.feed.moves is not None
    with caplog.at_level(logging.INFO, logger="bot.vrchat.pool"):
        moves = await bridge.feed.moves.recheck(bridge.feed.pollers)
    assert moves == [Move(bridge.group, ALPHA, BRAVO, old_blocked=False)]
    assert bridge.serving() == BRAVO
    (line,) = [r.getMessage() for r in caplog.records if "moves from" in r.getMessage()]
    assert bridge.group in line and ALPHA in line and BRAVO in line
    assert not any(secret in caplog.text for secret in PASSWORDS.values())
    (notice,) = bridge.notices()
    assert f"**{BRAVO}** instead of **{ALPHA}**" in notice

    mark = len(two.sim.requests)
    after = [bridge.entry("after")]
    for _ in range(3):
        await bridge.feed.run_once()
    assert bridge.audit_polls_since(mark) == {two.bravo.id: 3}
    assert bridge.delivered() == before + during + after  # nothing lost, nothing twice
    assert len(bridge.notices()) == 1


async def test_a_refused_poll_moves_the_group_at_once(bridge: Bridge) -> None:
    two = bridge.two
    bridge.take_audit_view(two.alpha.id)
    entries = [bridge.entry("while refused")]
    mark = len(two.sim.requests)

    cycle = await bridge.feed.run_once()  # Alpha's poll is refused: the group moves before it ends
    assert cycle.polls[bridge.group] is None and bridge.serving() == BRAVO
    assert len(bridge.notices()) == 1
    await bridge.feed.run_once()
    assert bridge.audit_polls_since(mark) == {two.alpha.id: 1, two.bravo.id: 1}
    assert bridge.delivered() == entries
    cursor = next(c for c in await bridge.store.list_cursors() if c.group_id == bridge.group)
    assert cursor.last_error is None  # the good poll after the move cleared the refusal


async def test_a_group_nobody_serves_better_stays_and_is_looked_at_once_per_period(bridge: Bridge) -> None:
    two = bridge.two
    bridge.take_audit_view(two.alpha.id)
    bridge.take_audit_view(two.bravo.id)
    looks = len(two.sim.requests_to("GET", rf"^/groups/{bridge.group}$"))
    for _ in range(4):
        await bridge.feed.run_once()
    assert bridge.serving() == ALPHA and bridge.notices() == []
    # One look (one question per account) for the first refusal; the others wait for the next period.
    assert len(two.sim.requests_to("GET", rf"^/groups/{bridge.group}$")) == looks + 2


@pytest.fixture
async def session_bridge(two: TwoAccounts, sqlite_store: Store, tmp_path: Path) -> AsyncIterator[Bridge]:
    """`bridge`, both accounts on saved sessions and unable to log in again by themselves."""
    clock = Clock()
    await (await open_pool(two, tmp_path)).close()  # a login with TOTP saves each session
    accounts = [
        make_account(two, tmp_path, name, primary=name == ALPHA, totp=False) for name in (ALPHA, BRAVO)
    ]
    pool = await open_pool(two, tmp_path, *accounts, clock=clock, recheck_after=RECHECK)
    async with _bridge(two, sqlite_store, pool, clock) as made:
        yield made


async def test_a_group_whose_account_is_blocked_moves_to_the_other(session_bridge: Bridge) -> None:
    bridge, two = session_bridge, session_bridge.two
    expire_sessions_of(two.sim, two.alpha)
    entries = [bridge.entry("while Alpha is out")]

    await bridge.feed.run_once()
    assert bridge.pool.account(ALPHA).client.session_blocked
    assert bridge.serving() == BRAVO
    (notice,) = bridge.notices()
    assert f"session of **{ALPHA}** is blocked" in notice
    mark = len(two.sim.requests)
    await bridge.feed.run_once()
    assert bridge.audit_polls_since(mark) == {two.bravo.id: 1}
    assert bridge.delivered() == entries


async def test_the_running_feed_looks_again_by_itself(
    two: TwoAccounts, sqlite_store: Store, tmp_path: Path
) -> None:
    pool = await open_pool(two, tmp_path, recheck_after=0.2)  # seconds, on the real clock
    async with _bridge(two, sqlite_store, pool, Clock()) as bridge:
        # Alpha still reads the log, so no poll is refused: only the periodic look can tell.
        bridge.restrict(two.alpha.id, ["group-audit-view"])
        moved = asyncio.Event()
        pool.on_move(lambda _move: moved.set())
        await bridge.feed.start()
        try:
            await asyncio.wait_for(moved.wait(), timeout=20)
        finally:
            await bridge.feed.stop()  # lets the round that moved it post its notice
        assert bridge.serving() == BRAVO and len(bridge.notices()) == 1


async def test_equal_accounts_never_take_a_group_from_each_other(bridge: Bridge) -> None:
    two, moves = bridge.two, bridge.feed.moves
    assert moves is not None
    for _ in range(3):  # both fit: no move, however often it is looked at
        bridge.clock.now += RECHECK
        assert await moves.recheck([bridge.group]) == []
    assert bridge.serving() == ALPHA

    bridge.take_audit_view(two.alpha.id)
    bridge.clock.now += RECHECK
    assert len(await moves.recheck([bridge.group])) == 1 and bridge.serving() == BRAVO
    bridge.give_moderator(two.alpha.id)  # Alpha is fine again: merely as good, so Bravo keeps it
    for _ in range(3):
        bridge.clock.now += RECHECK
        assert await moves.recheck([bridge.group]) == []
    assert bridge.serving() == BRAVO

    # Within one period a group moves once at most, even when the new account fails at once.
    bridge.take_audit_view(two.alpha.id)
    bridge.clock.now += RECHECK
    assert len(await moves.recheck([bridge.group])) == 0  # Bravo is fine: it stays
    bridge.give_moderator(two.alpha.id)
    bridge.take_audit_view(two.bravo.id)
    bridge.clock.now += RECHECK
    assert len(await moves.recheck([bridge.group])) == 1 and bridge.serving() == ALPHA
    bridge.take_audit_view(two.alpha.id)
    bridge.give_moderator(two.bravo.id)
    await bridge.feed.run_once()  # refused on Alpha in the period it moved: no second move
    assert await moves.recheck([bridge.group]) == [] and bridge.serving() == ALPHA
    bridge.clock.now += RECHECK
    assert len(await moves.recheck([bridge.group])) == 1 and bridge.serving() == BRAVO
    assert len(bridge.notices()) == 3


async def test_a_recheck_asks_each_account_about_each_group_once(bridge: Bridge) -> None:
    moves = bridge.feed.moves
    assert moves is not None
    before = len(bridge.two.sim.requests)
    bridge.clock.now += RECHECK
    await moves.recheck([bridge.group, bridge.two.neither.id])  # not served: left to its next call
    asked = bridge.two.sim.requests[before:]
    assert sorted(r.path for r in asked) == [f"/groups/{bridge.group}"] * 2


async def test_status_names_the_account_the_group_moved_to(bridge: Bridge) -> None:
    services = Services(GroupRouter(bridge.pool), bridge.store, make_config(bridge.group))
    (before,) = (await services.bindings.status(GUILD_ID)).groups
    bridge.take_audit_view(bridge.two.alpha.id)
    await bridge.feed.run_once()
    (after,) = (await services.bindings.status(GUILD_ID)).groups
    assert (before.served_by, after.served_by) == (ALPHA, BRAVO)
    assert {u.name: u.groups for u in (await services.bindings.status(GUILD_ID)).accounts} == {
        ALPHA: 0,
        BRAVO: 1,
    }


async def test_the_dry_run_names_the_account_that_can_serve_the_group_now(
    two: TwoAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role = two.sim.state.add_role(two.both.id, "Invites only", permissions=["group-invites-manage"])
    two.sim.state.add_member(two.both.id, two.alpha.id, [role.id])  # Alpha, the primary, lost the log
    fast = {"requests_per_second": 10, "burst": 20}
    text = toml(
        vrchat=alpha_vrchat(two, tmp_path / "alpha.json", **fast),
        discord={},
        database={"url": sqlite_url(tmp_path)},
        groups=[{"id": two.both.id}],
        accounts=[bravo_account(two, tmp_path / "bravo.json", **fast)],
    )
    try:
        status = await dry_run(load_config_text(text, env={}, required=()))
    finally:
        logs.reset_logging()
        logs.clear_secrets()
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"bot account {BRAVO}: member" in out and f"bot account {ALPHA}" not in out
