"""Issue #7, faults: for each VRChat, Discord and database fault the bot keeps running,
`/bridge status` names the problem while it lasts, and once it is over every entry VRChat has is in
the feed channel, once and in order.

The three families run side by side (about a minute in all), once per module; each family's test
then reads its own result.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rich.console import Console

from tests.reliability.fault_cases import FAMILIES
from tests.reliability.faults import run_faults
from tests.reliability.results import ScenarioResult, table, write_json

# The real bot as a child process through every VRChat, Discord and database fault.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]


@pytest.fixture(scope="module")
def fault_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioResult]:
    directory = tmp_path_factory.mktemp("faults")
    results = asyncio.run(run_faults(directory, FAMILIES, say=lambda line: None))
    return {r.scenario.removeprefix("faults: "): r for r in results}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_bot_survives_names_and_recovers_from_each_fault(
    fault_results: dict[str, ScenarioResult], family: str
) -> None:
    result = fault_results[family]

    assert result.ok, "\n".join(result.problems)
    assert (result.lost, result.duplicated, result.crashed) == (0, 0, 0)
    ran = [case["case"] for case in result.details["cases"]]
    assert ran == [case.name for case in FAMILIES[family]]  # every fault was injected and cleared
    assert result.entries > 10 * len(ran)  # entries before, during and after each fault
    assert not result.details["vrchat_violations"] and not result.details["discord_violations"]


def test_the_report_table_and_json_carry_every_scenario(
    fault_results: dict[str, ScenarioResult], tmp_path: Path
) -> None:
    results = list(fault_results.values())
    path = tmp_path / "reliability-results.json"
    write_json(path, results, {"cores": 2})
    saved = json.loads(path.read_text())
    assert [s["scenario"] for s in saved["scenarios"]] == [r.scenario for r in results]
    assert all(
        set(s) >= {"runs", "entries", "lost", "duplicated", "crashed", "ok"} for s in saved["scenarios"]
    )
    console = Console(record=True, width=200)
    console.print(table(results))
    shown = console.export_text()
    for heading in ("scenario", "runs", "entries", "lost", "duplicated", "crashed", *fault_results):
        assert heading in shown
