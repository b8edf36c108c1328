"""The dry run with several VRChat accounts reads each group through the account that would serve it,
as `groupbridge run` does, and says which one that is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from bot.config import load_config_text
from bot.dryrun import dry_run
from tests.fixtures.configs import sqlite_url, toml
from tests.fixtures.vrchat_accounts import BRAVO, TwoAccounts, account_of, alpha_vrchat, bravo_account


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    yield
    logs.reset_logging()
    logs.clear_secrets()


async def test_a_group_only_the_second_account_is_in_is_read_through_it(
    two: TwoAccounts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bravo = bravo_account(two, tmp_path / "bravo.json", requests_per_second=10, burst=20)
    text = toml(
        vrchat=alpha_vrchat(two, tmp_path / "alpha.json", requests_per_second=10, burst=20),
        discord={},
        database={"url": sqlite_url(tmp_path)},
        groups=[{"id": two.only_a.id}, {"id": two.only_b.id}],
        accounts=[bravo],
    )
    status = await dry_run(load_config_text(text, env={}, required=()))
    out = capsys.readouterr().out

    assert status == 0, out
    assert "Alpha Bot" in out and "Bravo Bot" in out  # both accounts logged in
    assert f"bot account {BRAVO}: member" in out  # the group's own account, named
    assert out.count("Carol") >= 2  # the request in each group, Bravo's group's too
    reads = [
        r
        for r in two.sim.requests
        if r.path.startswith(f"/groups/{two.only_b.id}/") and r.path.endswith(("/auditLogs", "/requests"))
    ]
    assert reads and {account_of(two.sim, r) for r in reads} == {two.bravo.id}
