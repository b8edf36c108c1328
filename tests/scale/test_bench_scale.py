"""The 1-vs-3-processes benchmark still measures something true: a tiny burst, checked for
correctness only (figures are for `make bench` to print, never to assert)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import bench_scale

# Two worker processes on PostgreSQL.
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("bot-process")]


async def test_a_small_burst_through_two_workers_arrives_whole(postgres_db_url: str, tmp_path: Path) -> None:
    run = await bench_scale.run_burst(
        tmp_path, postgres_db_url, label="smoke", workers=2, rate=10.0, groups=6, per_group=5
    )
    assert run.entries == 30 and run.workers == 2
    assert (run.lost, run.duplicated, run.out_of_order) == (0, 0, 0)
    assert 0 < run.stored_s <= run.delivered_s
