"""`make demo` in CI: the demo entry point as a process, on a shorter burst, must show nothing lost,
duplicated or reordered across its SIGKILL, and both fakes must have seen only valid traffic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_demo_loses_and_duplicates_nothing_across_a_kill(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    command = [sys.executable, "-m", "bot.demo", "--burst", "60", "--kill-after", "20"]
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [*command, "--json", str(summary_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    summary = json.loads(summary_path.read_text())
    assert summary["lost"] == 0 and summary["duplicates"] == 0 and summary["out_of_order"] is False
    # 5 older entries, 3 requests, accept + block + post, a late request, 2 joins, a leave, the burst
    assert summary["audit_entries"] == 5 + 3 + 3 + 4 + 60
    assert summary["stored"] == summary["posted"] == summary["audit_entries"]
    assert summary["approved"] == ["Gwen"] and summary["blocked"] == ["Hiro"]
    assert sorted(summary["still_pending"]) == ["Ines", "Jun"]
    assert summary["restarts"] == 1 and summary["bot_exit_status"] == 0
    assert summary["vrchat_violations"] == 0 and summary["discord_violations"] == 0
    # What the operator reads: the channels and the summary are printed.
    for heading in ("#join-requests", "#audit-feed", "Summary", "exactly once"):
        assert heading in done.stdout
