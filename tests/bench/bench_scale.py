"""Throughput of one `groupbridge run --role worker` process against three, on the same burst.

Each run starts a fresh PostgreSQL database, the VRChat simulator and the Discord stand-in with
`groups` bound groups (a feed channel each), starts the workers, waits until they share the leases
evenly and every group had its first poll, then adds `per_group` entries to every group at once and
measures until each channel shows all of them: first when every entry is stored (the polls), then
when every entry is in Discord (delivery). The stand-in keeps Discord's 5-per-5-s channel bucket;
with at most 50 entries per group a channel needs at most 5 messages, so the bucket never makes a
channel wait and what is measured is the processes.

The account's rate (vrchat.requests_per_second, 10/s here, the most the config allows) is its
holder's: one process at a time calls VRChat with the account and makes the others' calls for them
(bot.accounts), so three workers on one account poll no faster than one. What three buy is delivery
spread over three processes and surviving the loss of one; more polling needs more accounts
([[accounts]]).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.sandbox.world import WorldSettings
from bot.store import Store
from tests.bench.support import Report
from tests.fixtures.postgres import _Cluster, _find_bin_dir
from tests.scale.fleet import Fleet, build_world, shares, wait_until

POLL_INTERVAL = 1.0
LEASE = 5.0
RATE = 10.0  # vrchat.requests_per_second's ceiling
MAX_PER_GROUP = 50  # five messages of ten embeds: what a channel's bucket lets through at once


@dataclass(frozen=True)
class BurstRun:
    label: str
    workers: int
    rate: float  # the VRChat account's requests/s, shared by the processes
    entries: int
    stored_s: float  # burst added -> every entry in the database
    delivered_s: float  # burst added -> every entry in its channel
    lost: int
    duplicated: int
    out_of_order: int  # channels whose entries are complete but not in VRChat's order
    apart: int  # channels delivered by another process than the one polling their group

    @property
    def entries_per_s(self) -> float:
        return self.entries / self.delivered_s if self.delivered_s else 0.0


async def run_burst(
    tmp: Path, database_url: str, *, label: str, workers: int, rate: float, groups: int, per_group: int
) -> BurstRun:
    settings = WorldSettings(
        database_url=database_url,
        poll_interval=POLL_INTERVAL,
        validate=False,  # the spec check would cost the simulator more CPU than the bot under test
        env={
            "GROUPBRIDGE_FEED__LEASE_SECONDS": str(LEASE),
            "GROUPBRIDGE_VRCHAT__REQUESTS_PER_SECOND": str(rate),
        },
    )
    fleet = await build_world(tmp / label, settings, groups)
    store: Store | None = None  # opened once the first worker has created the schema
    try:
        first = await fleet.start("w1", "worker")
        await fleet.world.wait_for(lambda: "Leases acquired" in first.log(), "w1 to start", 90, process=first)
        for k in range(2, workers + 1):
            await fleet.start(f"w{k}", "worker")
        store = opened = await Store.open(database_url)
        processes = list(fleet.processes.values())
        await wait_until(
            lambda: _settled(opened, fleet, groups), "even shares and first polls", 180, processes
        )
        return await _burst(fleet, opened, label=label, workers=workers, rate=rate, per_group=per_group)
    finally:
        await fleet.stop_all()
        if store is not None:
            await store.close()
        await fleet.world.close()


async def _settled(store: Store, fleet: Fleet, groups: int) -> bool:
    share = -(-groups // len(fleet.processes))
    for kind in ("group:", "channel:"):
        counts = await shares(store, fleet, kind)
        if sum(counts.values()) != groups or max(counts.values()) > share or None in counts:
            return False
    return sum(c.backfill_done for c in await store.list_cursors()) == groups


async def _burst(
    fleet: Fleet, store: Store, *, label: str, workers: int, rate: float, per_group: int
) -> BurstRun:
    state, bot_id = fleet.world.sim.state, fleet.world.community.bot.id
    before = await _stored(store)
    leases = {x.name: x.owner for x in await store.list_leases() if x.live}
    apart = sum(
        1 for g, c in fleet.channels.items() if leases.get(f"group:{g}") != leases.get(f"channel:{c}")
    )
    expected: dict[str, list[str]] = {}
    started = time.perf_counter()
    for group in fleet.groups:
        expected[group] = [
            state.add_audit_entry(group, "group.update", bot_id, group, f"burst {i}").id
            for i in range(per_group)
        ]
    total = per_group * len(fleet.groups)
    stored_s = 0.0

    async def done() -> bool:
        nonlocal stored_s
        if not stored_s and await _stored(store) >= before + total:
            stored_s = time.perf_counter() - started
        return all(len(fleet.delivered(fleet.channels[g])) >= per_group for g in fleet.groups)

    await wait_until(done, f"the burst delivered ({label})", 300, fleet.processes.values())
    delivered_s = time.perf_counter() - started
    await asyncio.sleep(1.0)  # anything sent twice would show up now
    seen = {g: fleet.delivered(fleet.channels[g]) for g in fleet.groups}
    flat = [entry for ids in seen.values() for entry in ids]
    return BurstRun(
        label=label,
        workers=workers,
        rate=rate,
        entries=total,
        stored_s=stored_s or delivered_s,
        delivered_s=delivered_s,
        lost=sum(len(set(ids) - set(seen[g])) for g, ids in expected.items()),
        duplicated=len(flat) - len(set(flat)),
        apart=apart,
        out_of_order=sum(
            1 for g, ids in expected.items() if seen[g] != ids and sorted(seen[g]) == sorted(ids)
        ),
    )


async def _stored(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one())


async def run(report: Report, tmp: Path, *, groups: int = 60, per_group: int = 40) -> list[BurstRun]:
    section = "scale"
    if per_group > MAX_PER_GROUP:
        raise ValueError(
            f"at most {MAX_PER_GROUP} entries per group, or Discord's channel bucket sets the pace"
        )
    bin_dir = _find_bin_dir()
    if bin_dir is None:
        report.note("Throughput of 1 vs 3 processes: skipped, no PostgreSQL server binaries installed.")
        return []
    report.note(
        f"Processes: {groups} groups, {per_group} new entries each at once ({groups * per_group} in all), "
        f"workers on one PostgreSQL database, a poll every {POLL_INTERVAL:g} s; seconds from the burst "
        "to every entry stored, and to every entry in its channel. The three workers share one account's "
        "10 requests/s (its holder makes every call with it)."
    )
    cluster = _Cluster(bin_dir)
    runs: list[BurstRun] = []
    try:
        try:
            await asyncio.to_thread(cluster.start)
        except pytest.fail.Exception as exc:  # the fixture's way to report a failed start
            raise RuntimeError(f"PostgreSQL did not start: {exc}") from None
        plans = [("1 worker", 1, RATE), ("3 workers", 3, RATE)]
        with report.steps("worker fleets", len(plans)) as step:
            for n, (label, workers, rate) in enumerate(plans):
                database = f"bench_scale_{n}"
                await asyncio.to_thread(cluster.psql, f"CREATE DATABASE {database}")
                run_ = await run_burst(
                    tmp,
                    cluster.url(database),
                    label=label,
                    workers=workers,
                    rate=rate,
                    groups=groups,
                    per_group=per_group,
                )
                runs.append(run_)
                _add(report, section, run_)
                step(n + 1)
    finally:
        await asyncio.to_thread(cluster.stop)
    if len(runs) == len(plans):
        one = runs[0].entries_per_s
        for run_ in runs[1:]:
            key = run_.label.replace(" ", "_").replace(",", "")
            report.add(
                section,
                f"speed-up, {run_.label} vs 1",
                run_.entries_per_s / one if one else 0,
                "×",
                key=f"scale.speedup.{key}",
            )
    return runs


def _add(report: Report, section: str, run_: BurstRun) -> None:
    key = run_.label.replace(" ", "_").replace(",", "")
    beside = (
        f"{run_.workers} worker(s) sharing {run_.rate:.3g} VRChat requests/s; "
        f"{run_.apart} channel(s) apart from their group"
    )
    report.add(
        section, f"{run_.label}: burst stored", run_.stored_s, "s", beside, key=f"scale.{key}.stored_s"
    )
    report.add(
        section,
        f"{run_.label}: burst delivered",
        run_.delivered_s,
        "s",
        beside,
        key=f"scale.{key}.delivered_s",
    )
    report.add(
        section,
        f"{run_.label}: end to end",
        run_.entries_per_s,
        "entries/s",
        key=f"scale.{key}.entries_per_s",
    )
    for what, count in (
        ("lost", run_.lost),
        ("duplicated", run_.duplicated),
        ("out of order", run_.out_of_order),
    ):
        if count:
            report.problem(
                f"{run_.label}: {count} {'channel(s)' if what == 'out of order' else 'entries'} {what}"
            )


if __name__ == "__main__":  # this section alone: python -m tests.bench.bench_scale
    alone = Report(out=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="groupbridge-bench-scale-") as directory:
        asyncio.run(run(alone, Path(directory)))
    sys.exit(1 if alone.problems else 0)
