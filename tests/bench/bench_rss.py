"""Peak RSS of the bot with many bound groups, measured in a child process of its own.

The bench process has run every other section by now (its own peak says little about the bot), so
the bot runs in `tests.bench.rss_child` and reports its own ru_maxrss. The simulator and the
Discord stand-in stay here, in the parent, so the child holds only what a deployment holds: the bot,
discord.py, the store, the mirror. Each group has its history stored on the first poll (backfill
"all"), a pending join request (so a card is posted for it), and a burst of new entries once every
group has been polled once; the child is stopped once every group has been polled `cycles` more
times and every burst has reached its feed channel. The same run with one group shows what the
groups themselves cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat import VRChatSimulator
from tests.bench.bench_feed import GAUD
from tests.bench.support import Report
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_gateway import MOD_ROLE_ID, populate_guild
from tests.fixtures.discord_standin import GUILD_ID, running_standin
from tests.fixtures.vrchat_sim import SeededSim, seed_basic

REPO = Path(__file__).resolve().parents[2]
FEED_BASE = 1_310_000_000_000_000_000  # channel ids: feed of group i is FEED_BASE + i
REQUESTS_BASE = 1_320_000_000_000_000_000
BURST = 5  # new entries per group after the first poll: one packed message per feed channel
STARTUP_TIMEOUT = 90.0


@dataclass
class RssRun:
    groups: int
    peak_kib: int
    ru_maxrss_kib: int  # inflated by the bench process's RSS at fork: see rss_child
    at_start_kib: int
    after_imports_kib: int
    ready_kib: int
    polls: int  # audit-log requests the child made
    cards: int  # join-request cards it posted
    lost: int
    duplicated: int
    elapsed: float


def config_text(seeded: SeededSim, tmp: Path, group_ids: list[str], interval: float) -> str:
    bindings = [
        {
            "group_id": gid,
            "guild_id": GUILD_ID,
            "feed_channel_id": FEED_BASE + i,
            "requests_channel_id": REQUESTS_BASE + i,
            "moderator_role_ids": [MOD_ROLE_ID],
        }
        for i, gid in enumerate(group_ids)
    ]
    return config_toml(
        seeded,
        tmp,
        vrchat={"session_file": tmp / f"rss-{len(group_ids)}-session.json"},
        database=f"rss-{len(group_ids)}.db",
        feed={"poll_interval_seconds": interval, "backfill": "all"},
        groups=[{"id": gid, "name": f"Bench group {i}"} for i, gid in enumerate(group_ids)],
        bindings=bindings,
    )


def seed_groups(seeded: SeededSim, count: int, history: int) -> list[str]:
    """`count` groups owned by the bot (the seeded one first), each with history and a join request."""
    state = seeded.sim.state
    ids = [seeded.group.id]
    for i in range(1, count):
        ids.append(state.add_group(f"Bench Group {i}", short_code=f"BG{i:03d}", owner_id=seeded.bot.id).id)
    past = datetime.now(UTC) - timedelta(hours=history + 1)
    for n, gid in enumerate(ids):
        for h in range(history):
            state.add_audit_entry(
                gid, "group.update", seeded.bot.id, gid, f"history {h}", created_at=past + timedelta(hours=h)
            )
        if n:  # the seeded group already has Carol's request
            state.add_join_request(gid, state.add_user(f"Requester {n}").id)
    return ids


def delivered(standin: DiscordStandIn, channel_id: int) -> list[str]:
    ids = []
    for message in standin.messages(channel_id):
        for embed in message.embeds:
            match = GAUD.search(embed.get("footer", {}).get("text", ""))
            if match:
                ids.append(match.group(0).replace("\\", ""))
    return ids


class Child:
    """The bot process and its line protocol."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def receive(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109 - a deadline per line
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            if not line:
                raise RuntimeError(f"the bot process ended (exit {await self.process.wait()})")
            if line.startswith(b"{"):
                return json.loads(line)


async def run_rss(
    tmp: Path,
    *,
    groups: int,
    history: int,
    cycles: int,
    interval: float,
    on_progress: Callable[[int], None] | None = None,
) -> RssRun:
    started = time.perf_counter()
    sim = VRChatSimulator(validate=False)  # validation would slow the parent, which serves the child
    await sim.start(host="127.0.0.1", port=0)
    try:
        seeded = seed_basic(sim)
        group_ids = seed_groups(seeded, groups, history)
        async with running_standin() as standin:  # Discord's real buckets
            populate_guild(standin)
            for i in range(groups):
                standin.add_channel(FEED_BASE + i, guild_id=GUILD_ID, name=f"feed-{i}")
                standin.add_channel(REQUESTS_BASE + i, guild_id=GUILD_ID, name=f"requests-{i}")
            stderr_path = tmp / f"rss-{groups}.stderr"
            with stderr_path.open("wb") as stderr:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.bench.rss_child",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=stderr,
                    cwd=REPO,
                    env={
                        **os.environ,
                        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                    },
                )
            child = Child(process)
            try:
                spec = {
                    "config": config_text(seeded, tmp, group_ids, interval),
                    "discord_base": standin.base_url,
                    "gateway": standin.gateway_url,
                }
                await child.send(json.dumps(spec))
                ready = await child.receive(STARTUP_TIMEOUT)
                if ready.get("event") != "ready":
                    raise RuntimeError(f"the bot process did not start: {ready}")

                def polls_of(gid: str, since: float = 0.0) -> int:
                    return sum(
                        1 for r in sim.requests_to("GET", f"/groups/{gid}/auditLogs$") if r.at >= since
                    )

                # Two polls per group: the second one's request proves the first (the backfill, which
                # stores without posting) has committed, so the burst below is posted, not backfilled.
                deadline = time.monotonic() + STARTUP_TIMEOUT
                # The simulator's request log has no event to wait on: look every 50 ms.
                while any(polls_of(g) < 2 for g in group_ids) and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                burst_at = time.monotonic()
                burst: dict[int, list[str]] = {}
                for i, gid in enumerate(group_ids):
                    burst[FEED_BASE + i] = [
                        sim.state.add_audit_entry(
                            gid, "group.member.join", seeded.bot.id, gid, f"burst {k}"
                        ).id
                        for k in range(BURST)
                    ]
                deadline = time.monotonic() + cycles * interval * 1.25 + 60
                while time.monotonic() < deadline:
                    done = min(polls_of(g, burst_at) for g in group_ids)
                    if on_progress is not None:
                        on_progress(min(done, cycles))
                    arrived = all(set(ids) <= set(delivered(standin, ch)) for ch, ids in burst.items())
                    cards = sum(1 for i in range(groups) if standin.messages(REQUESTS_BASE + i))
                    if done >= cycles and arrived and cards == groups:
                        break
                    await asyncio.sleep(0.1)
                await child.send("stop")
                result = await child.receive(60)
                await process.wait()
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                tail = stderr_path.read_text(errors="replace")[-2000:]
                if tail:
                    print(f"bot process stderr (last 2,000 characters):\n{tail}", file=sys.stderr)
                raise
            lost = duplicated = 0
            for channel, ids in burst.items():
                got = delivered(standin, channel)
                lost += len(set(ids) - set(got))
                duplicated += sum(got.count(i) - 1 for i in set(ids) if got.count(i) > 1)
            return RssRun(
                groups=groups,
                peak_kib=int(result["peak_kib"]),
                ru_maxrss_kib=int(result["ru_maxrss_kib"]),
                at_start_kib=int(result["at_start_kib"]),
                after_imports_kib=int(result["after_imports_kib"]),
                ready_kib=int(ready.get("rss_kib", 0)),
                polls=sum(polls_of(g) for g in group_ids),
                cards=sum(1 for i in range(groups) for m in standin.messages(REQUESTS_BASE + i) if m.embeds),
                lost=lost,
                duplicated=duplicated,
                elapsed=time.perf_counter() - started,
            )
    finally:
        await sim.close()


def mib(kib: int) -> float:
    return kib / 1024


async def run(
    report: Report, tmp: Path, *, groups: int, history: int, cycles: int, interval: float
) -> list[RssRun]:
    report.note(
        f"Peak RSS: GroupBridgeBot as `groupbridge run` starts it (store from the config, mirror and "
        f"cards on) in a child process, which reports its VmHWM (/proc/self/status; ru_maxrss of a "
        f"child inherits the forking bench's RSS on Linux, so it is only shown beside); simulator and "
        f"stand-in in the parent. {history} history entries and a join request per group, backfill "
        f"'all', a poll every {interval:g} s; stopped after {cycles} polls of every group following "
        f"a {BURST}-entry burst per group, once every burst was posted. A 1-group run alongside."
    )
    sizes = [1, groups] if groups > 1 else [groups]
    # Side by side: each child's VmHWM is its own, and nothing here is timed.
    with report.steps(
        f"bot processes ({' and '.join(map(str, sizes))} groups): polls after the burst", cycles
    ) as step:
        done = [0] * len(sizes)

        def track(index: int) -> Callable[[int], None]:
            def update(polls: int) -> None:
                done[index] = polls
                step(min(done))

            return update

        # A TaskGroup, so that one failing run cancels the other (which then kills its child).
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(
                    run_rss(
                        tmp,
                        groups=size,
                        history=history,
                        cycles=cycles,
                        interval=interval,
                        on_progress=track(n),
                    )
                )
                for n, size in enumerate(sizes)
            ]
        runs = [task.result() for task in tasks]
    big = runs[-1]
    for r in runs:
        name = f"{r.groups} bound group{'s' * (r.groups > 1)}"
        key = "rss.groups" if r is big else "rss.one_group"
        report.add(
            "rss",
            f"peak RSS, {name}",
            mib(r.peak_kib),
            "MiB",
            ("goal ≤ 100 MiB, was 155 (#17); " if r is big else "")
            + f"VmHWM; interpreter {mib(r.at_start_kib):.1f}, after imports {mib(r.after_imports_kib):.1f}, "
            f"ready {mib(r.ready_kib):.1f} MiB; ru_maxrss {mib(r.ru_maxrss_kib):.1f} MiB",
            key=f"{key}.peak_mib",
        )
    report.add(
        "rss",
        "bot process after imports, before starting",
        mib(big.after_imports_kib),
        "MiB",
        "discord.py, SQLAlchemy, aiohttp, pydantic and the bot's modules",
        key="rss.after_imports_mib",
    )
    if len(runs) == 2:
        extra = (runs[1].peak_kib - runs[0].peak_kib) / (groups - 1)
        report.add(
            "rss", "peak RSS per extra group", extra, "KiB", f"({groups} − 1 groups)", key="rss.per_group_kib"
        )
    report.add("rss", f"{big.groups} groups: polls made", big.polls, "requests", key="rss.polls")
    report.add(
        "rss",
        f"{big.groups} groups: cards posted",
        big.cards,
        "cards",
        f"expected {big.groups}",
        key="rss.cards",
    )
    report.add(
        "rss", f"{big.groups} groups: lost", sum(r.lost for r in runs), "events", "expected 0", key="rss.lost"
    )
    report.add(
        "rss",
        f"{big.groups} groups: duplicated",
        sum(r.duplicated for r in runs),
        "events",
        "expected 0",
        key="rss.duplicated",
    )
    for r in runs:
        if r.lost or r.duplicated or r.cards != r.groups:
            report.problem(
                f"rss run with {r.groups} groups: {r.lost} lost, {r.duplicated} duplicated, {r.cards} cards"
            )
    return runs
