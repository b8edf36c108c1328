"""Backfill ingest rate into SQLite: one `Store.ingest` of many entries, as a first poll with
backfill "all" does it, with and without queueing them for a feed channel.

Each run uses a fresh database file so neither sees the other's rows or indexes; the migration
and the entry construction are outside the timing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bot.store import BindingIn, CursorUpdate
from tests.bench.support import GROUP_ID, Report, make_entries, sqlite_store

TARGET_PER_S = 20_000
FEED_CHANNEL = 900_000_000_000_000_001
GUILD = 800_000_000_000_000_001


@dataclass(frozen=True)
class IngestRun:
    entries: int
    stored: int
    queued: int
    elapsed: float

    @property
    def per_second(self) -> float:
        return self.entries / self.elapsed if self.elapsed else 0.0


async def run_ingest(tmp: Path, count: int, *, enqueue: bool) -> IngestRun:
    entries = make_entries(count)
    async with sqlite_store(tmp / f"ingest-{'outbox' if enqueue else 'plain'}-{count}.db") as store:
        if enqueue:  # outbox rows are written per binding that wants the entry: one channel here
            await store.add_binding(
                BindingIn(group_id=GROUP_ID, guild_id=GUILD, feed_channel_id=FEED_CHANNEL)
            )
        newest = entries[-1]
        started = time.perf_counter()
        result = await store.ingest(
            GROUP_ID,
            entries,
            enqueue=enqueue,
            cursor_update=CursorUpdate(newest.id, newest.created_at, backfill_done=True),
        )
        elapsed = time.perf_counter() - started
        return IngestRun(entries=count, stored=len(result.new_ids), queued=result.queued, elapsed=elapsed)


async def run(report: Report, tmp: Path, *, count: int) -> list[IngestRun]:
    report.note(
        f"Ingest: one Store.ingest call of {count:,} entries into a fresh SQLite file (WAL as the store "
        "configures it), with the cursor update, in one transaction; 'with outbox rows' adds one "
        "bound feed channel so every entry is also queued."
    )
    runs = []
    for enqueue in (False, True):
        run_ = await run_ingest(tmp, count, enqueue=enqueue)
        label = "with outbox rows" if enqueue else "without outbox rows"
        key = "ingest.outbox" if enqueue else "ingest.plain"
        report.add("ingest", f"{count:,} entries {label}: wall time", run_.elapsed, "s", key=f"{key}.wall_s")
        verdict = "met" if run_.per_second >= TARGET_PER_S else "not met"
        beside = f"target ≥ {TARGET_PER_S:,} entries/s ({verdict})"
        report.add(
            "ingest",
            f"{count:,} entries {label}: rate",
            run_.per_second,
            "entries/s",
            beside,
            key=f"{key}.entries_per_s",
        )
        if run_.stored != count or run_.queued != (count if enqueue else 0):
            report.problem(f"ingest {label}: stored {run_.stored}, queued {run_.queued} of {count}")
        runs.append(run_)
    return runs
