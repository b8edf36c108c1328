"""Issue #7, crash safety: the real bot SIGKILLed at every phase while entries and join requests
stream in; after every kill the channel is a prefix of VRChat's log, at the end all of it, once,
and every request has exactly one card in the right state.

`make test` runs the short plan (7 kills, 200 entries, about 45 s); RELIABILITY_FULL=1 runs the full
one (20 kills through 2,000 entries, several minutes), as `make reliability` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.crash import TIMED, CrashOptions, run_crash_scenario

# SIGKILLs the real bot process again and again through a stream of entries.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

FULL = os.environ.get("RELIABILITY_FULL") == "1"


async def test_sigkill_at_every_phase_loses_duplicates_and_reorders_nothing(tmp_path: Path) -> None:
    options = CrashOptions() if FULL else CrashOptions.short()
    result = await run_crash_scenario(tmp_path, options, say=lambda line: None)

    assert result.ok, "\n".join(result.problems)
    assert (result.lost, result.duplicated, result.crashed) == (0, 0, 0)
    assert result.entries >= options.entries  # the stream, plus the join requests' own entries
    lives = result.details["lives"]
    assert len(lives) == options.kills and result.runs == options.kills + 1
    # The kills landed where they were meant to: every armed life died at its own crash point, so
    # fetching, storing, packing, sending, marking and the card post were each cut short.
    armed = [life for life in lives if life["kind"] != TIMED]
    assert [life["outcome"] for life in armed] == ["point"] * len(armed), lives
    assert {life["outcome"] for life in lives if life["kind"] == TIMED} == {"timer"}
    phases = {"poller.after_fetch", "store.after_ingest", "outbox.after_send"}
    assert phases | {"cards.after_post", "cards.after_claim"} <= {life["kind"] for life in armed}
    assert result.details["same_millisecond_batches"] > 0
    assert result.details["requests"] >= options.requests
    assert not result.details["vrchat_violations"] and not result.details["discord_violations"]
