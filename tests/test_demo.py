"""`make demo` in CI: the demo entry point as a process, on a shorter burst, must show nothing lost,
duplicated or reordered across its SIGKILL, and both fakes must have seen only valid traffic. It runs
on a pseudo-terminal, as in a person's terminal, where the waits show a live status line."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from rich.console import Console

from bot.demo.status import status_line

# The whole demo: the bot as a child process, killed and restarted.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

CONTROL_SEQUENCE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def run_on_a_terminal(command: list[str], timeout: float) -> tuple[int, str]:
    """Run `command` with its output on a pseudo-terminal (100 columns); the exit status and what the
    terminal received, control sequences removed."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**os.environ, "COLUMNS": "100", "LINES": "40"}  # the test run may have set its own
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        command, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, close_fds=True, env=env
    )
    os.close(terminal)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not chunk:
                break
            received += chunk
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(controller)
    return status, CONTROL_SEQUENCE.sub("", received.decode("utf-8", errors="replace"))


def test_the_demo_loses_and_duplicates_nothing_across_a_kill(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    command = [sys.executable, "-m", "bot.demo", "--burst", "60", "--kill-after", "20"]
    status, shown = run_on_a_terminal([*command, "--json", str(summary_path)], timeout=240)
    assert status == 0, shown[-8000:]
    summary = json.loads(summary_path.read_text())
    assert summary["lost"] == 0 and summary["duplicates"] == 0 and summary["out_of_order"] is False
    # 5 older entries, 3 requests, accept + block + post, the role given in the game, the VRChat ban a
    # Discord ban brought, 4 kicks by the runaway moderator, the kill switch's role removal, the
    # troll's join and the Ban from the feed, a late request, 2 joins, a leave, the burst
    assert summary["audit_entries"] == 5 + 3 + 3 + 1 + 1 + 4 + 1 + 2 + 4 + 60
    assert summary["stored"] == summary["posted"] == summary["audit_entries"]
    assert summary["approved"] == ["Gwen"] and summary["blocked"] == ["Hiro"]
    assert sorted(summary["still_pending"]) == ["Ines", "Jun"]
    assert summary["restarts"] == 1 and summary["bot_exit_status"] == 0
    # A player linked, was banned in Discord, and a moderator's Confirm banned them in VRChat too.
    assert summary["linked"] and summary["discord_ban_prompted"] and summary["discord_ban_reached_vrchat"]
    # Role sync (#14): the link gave the membership role, and a VRChat role given in the game reached
    # the player's Discord account (both read from the stand-in's guild).
    assert summary["membership_role"] and summary["vrchat_role_reached_discord"]
    # The desk (#15): the alert on the moderator who kicked four members, whose kill switch left them
    # no group role in VRChat; the banned player's history, newest first, from the database; and a
    # Ban taken from a feed entry, which VRChat's group shows.
    assert summary["runaway_alert"] and summary["kill_switch_removed_roles"]
    assert summary["history"] == ["Note", "User banned", "Role assigned"]
    assert summary["banned_from_feed"]
    assert summary["vrchat_violations"] == 0 and summary["discord_violations"] == 0
    # What the operator reads: the channels and the summary are printed.
    for heading in ("#join-requests", "#audit-feed", "Summary", "exactly once"):
        assert heading in shown
    one_line = " ".join(shown.split())  # rich wraps at 100 columns
    for scene in (
        "holds the Discord role Group member",
        "their Discord account holds Verified too",
        "Possible runaway moderator: Aiko",
        "Aiko now holds 0 group roles",
        "newest first: Note; User banned; Role assigned",
        "clicks Ban and confirms: Banned Milo",
    ):
        assert scene in one_line, scene
    # The long waits were not silent: a live line said what the demo waited for, and how far it got.
    assert "Waiting for the bot to log in and post a card per join request" in shown
    assert "Waiting for the restarted bot to post every audit entry in #audit-feed" in shown
    assert re.search(r"\d+/20 posted", shown)


def test_the_status_line_shows_on_a_terminal_only() -> None:
    for is_terminal in (True, False):
        out = io.StringIO()
        console = Console(file=out, force_terminal=is_terminal, width=100)
        with status_line(console)("the [b]feed[/b]", lambda: "3/10 posted"):
            time.sleep(0.3)  # the line refreshes ten times a second
        if is_terminal:
            assert "Waiting for the [b]feed[/b]" in out.getvalue()  # markup in the subject is shown as is
            assert "3/10 posted" in out.getvalue()
        else:
            assert out.getvalue() == ""  # a pipe or a log file gets nothing extra
