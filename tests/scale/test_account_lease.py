"""One account, one egress: a gateway and two workers on PostgreSQL, two VRChat accounts.

Each process has an address of its own, as on hosts of their own. Each account is held by one worker
at a time (its `account:` lease) and every request made with it comes from that worker: the
simulator records each request's account, address and time in flight, and no two callers of one
account are ever in flight together; each process's requests for an account fall in its own tenures
of the account's lease. The gateway holds no account and sends nothing: a slash command it takes for
a group is sent by the worker holding the group's account. A SIGKILL of one account's holder: the
other worker takes the account over within the lease time (logging in again there, as the saved
session belongs to the dead worker's address), polls its groups again, and every audit entry reaches
its channel exactly once, in order.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pyotp
import pytest

import bot.sandbox.vrchat.callers as callers
from bot.sandbox.world import BotProcess, WorldSettings
from bot.store import Store
from tests.scale.fleet import (
    FEED_BASE,
    Fleet,
    bind_to_new_channel,
    build_world,
    collapse,
    is_subsequence,
    owners,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

GROUPS_PER_ACCOUNT = 3
LEASE = 3.0
SECOND = "second-bot"  # the second account's username, and its lease's name
STREAM = 90  # audit entries over all groups
# Each process on a host of its own, as VRChat sees it: a session works only from the address that
# logged in, so an account taken over is logged in again there (its password is configured).
ADDRESSES = {"w1": "127.0.0.2", "w2": "127.0.0.3", "gw": "127.0.0.4"}
STREAM_SECONDS = 6.0


def add_second_account(fleet: Fleet, directory: Path) -> tuple[dict[str, str], str]:
    """A second bot account owning GROUPS_PER_ACCOUNT groups of its own, each bound to a channel;
    the config gains its [[accounts]] table. Returns (group id -> account name, its user ID)."""
    world, state = fleet.world, fleet.world.sim.state
    secret = pyotp.random_base32()
    second = state.add_user("Second Bot", username=SECOND, password="second password", totp_secret=secret)
    extra = [
        f'\n[[accounts]]\nusername = "{SECOND}"\npassword = "second password"\n'
        f'totp_secret = "{secret}"\nsession_file = "{directory / "second-session.json"}"\n'
    ]
    served = dict.fromkeys(fleet.groups, world.community.bot.username or "")
    for i in range(GROUPS_PER_ACCOUNT):
        group = state.add_group(f"Second {i}", short_code=f"SEC{i:02d}", owner_id=second.id)
        served[group.id] = SECOND
        extra.append(bind_to_new_channel(world, fleet.channels, group.id, FEED_BASE + 100 + i, f"second-{i}"))
    world.settings.extra_config += "".join(extra)
    world.config_path.write_text(world.config_text(), encoding="utf-8")
    return served, second.id


def senders_by_account(fleet: Fleet, since: float = 0.0) -> dict[str, list[tuple[float, str | None]]]:
    """(time, sender label) of every request, by the account (user ID) it was made with."""
    out: dict[str, list[tuple[float, str | None]]] = {}
    for request in fleet.world.sim.requests:
        user = request.account
        if user is not None and request.at >= since:
            out.setdefault(user, []).append((request.at, fleet.sender(request.headers.get("User-Agent", ""))))
    return out


def runs(senders: list[tuple[float, str | None]]) -> list[str | None]:
    """The senders in time order, each stretch of one sender collapsed to one item."""
    return collapse(label for _, label in sorted(senders))


async def account_holders(store: Store, fleet: Fleet) -> dict[str, str | None]:
    return {
        n.removeprefix("account:"): fleet.label_of_owner(o)
        for n, o in owners(await store.list_leases(), "account:").items()
    }


async def test_each_account_is_used_by_one_process_and_taken_over_after_a_sigkill(
    postgres_db_url: str, tmp_path: Path
) -> None:
    settings = WorldSettings(
        database_url=postgres_db_url,
        poll_interval=1.0,
        validate=False,
        env={"GROUPBRIDGE_FEED__LEASE_SECONDS": str(LEASE)},
    )
    fleet = await build_world(tmp_path, settings, GROUPS_PER_ACCOUNT)
    served, second_id = add_second_account(fleet, tmp_path)
    primary = fleet.world.community.bot.username or ""
    store: Store | None = None
    try:
        store = await Store.open(postgres_db_url)
        first = await fleet.start("w1", "worker", source_address=ADDRESSES["w1"])
        await fleet.world.wait_for(lambda: "Leases acquired" in first.log(), "w1 to start", 60, process=first)
        await fleet.start("w2", "worker", source_address=ADDRESSES["w2"])
        workers = [fleet.processes["w1"], fleet.processes["w2"]]

        async def one_account_each() -> bool:
            holders = await account_holders(store, fleet)
            return set(holders) == {primary, SECOND} and set(holders.values()) == {"w1", "w2"}

        async def first_polls_done() -> bool:
            return sum(c.backfill_done for c in await store.list_cursors()) == len(fleet.groups)

        await wait_until(one_account_each, "one account for each worker", 60, workers)
        await wait_until(first_polls_done, "every group's first poll", 60, workers)
        gateway = await fleet.start("gw", "gateway", source_address=ADDRESSES["gw"])
        standin = fleet.world.discord.gateway
        await fleet.world.wait_for(lambda: standin.identify_count >= 1, "the gateway", 60, process=gateway)

        # A command the gateway takes, for a group whose account a worker holds: sent by that worker.
        holders = await account_holders(store, fleet)
        community = fleet.world.community.group.id
        before = {g: {e.id for e in fleet.world.sim.state.audit(g)} for g in fleet.groups}
        carol = fleet.world.sim.state.add_user("Carol Requester")
        fleet.world.sim.state.request_to_join(community, carol.id)
        asked_at = time.monotonic()
        exchange = await fleet.world.command("vrc", "requests", {"group": community})
        await exchange.wait_for(
            lambda x: any("Carol Requester" in str(e.data) for e in x.events if e.ok), 30, "the requests"
        )
        listed = [
            r
            for r in fleet.world.sim.requests_to("GET", rf"^/groups/{community}/requests$")
            if r.at >= asked_at
        ]
        assert listed
        assert {fleet.sender(r.headers.get("User-Agent", "")) for r in listed} == {holders[primary]}

        # Entries flow while the primary account's holder is killed.
        state, rng = fleet.world.sim.state, random.Random(17)
        victim_label = holders[primary]
        assert victim_label is not None
        survivor_label = "w2" if victim_label == "w1" else "w1"
        killed_at = 0.0
        for n in range(STREAM):
            group = rng.choice(fleet.groups)
            state.add_audit_entry(group, "group.update", carol.id, group, f"stream {n}")
            if n == STREAM // 3:
                await fleet.processes[victim_label].kill()
                killed_at = time.monotonic()  # the simulator records request times on this clock
            await asyncio.sleep(STREAM_SECONDS / STREAM)
        survivors: list[BotProcess] = [fleet.processes[survivor_label], gateway]

        async def taken_over() -> bool:
            return (await account_holders(store, fleet)).get(primary) == survivor_label

        await wait_until(taken_over, "the primary account taken over", 4 * LEASE, survivors)
        primary_groups = [g for g, name in served.items() if name == primary]

        async def polled_again() -> bool:
            return all(
                any(label == survivor_label for _, label in fleet.polls(g, killed_at)) for g in primary_groups
            )

        await wait_until(polled_again, "the primary's groups polled again", 6 * LEASE, survivors)

        # Everything after the first polls (Carol's request and the stream), oldest first.
        expected = {
            g: [
                e.id
                for e in sorted(state.audit(g)[::-1], key=lambda e: e.created_at)
                if e.id not in before[g]
            ]
            for g in fleet.groups
        }

        async def all_delivered() -> bool:
            return all(len(fleet.delivered(fleet.channels[g])) >= len(ids) for g, ids in expected.items())

        await wait_until(all_delivered, "every entry in its channel", 90, survivors)
        for group, ids in expected.items():
            assert fleet.delivered(fleet.channels[group]) == ids, group  # once each, in order

        # Never two callers of one account in flight at once, by address or by process.
        assert fleet.world.sim.account_overlaps() == []
        assert fleet.world.sim.account_overlaps(callers.by_user_agent) == []
        assert ADDRESSES["gw"] not in {r.remote for r in fleet.world.sim.requests}
        # One sender per account at a time: the stretches of each sender follow the account's lease
        # tenures (a process sends with it only in a tenure of its own), none held by two processes.
        by_account = senders_by_account(fleet)
        names = {fleet.world.community.bot.id: primary, second_id: SECOND}
        assert set(by_account) == set(names)
        acquired = sorted(fleet.acquisitions().items())
        assert {key: who for key, who in acquired if len(who) > 1} == {}
        for user, senders in by_account.items():
            stretches = runs(senders)
            tenures = collapse(who[0] for (name, _), who in acquired if name == f"account:{names[user]}")
            assert None not in stretches and "gw" not in stretches, (user, stretches)
            assert is_subsequence(stretches, tenures), (user, stretches, tenures)
        assert runs(by_account[fleet.world.community.bot.id])[-1] == survivor_label

        for process in survivors:
            assert await process.stop() == 0
    finally:
        await fleet.stop_all()
        if store is not None:
            await store.close()
        await fleet.world.close()
