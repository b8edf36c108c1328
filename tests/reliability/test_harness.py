"""The suite's own parts, each on its own: crash points, the cut-off VRChat body, the Discord storms,
the channel checks, and the two status additions (recent problems, the database probe)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

import bot
from bot.cogs.bridge import RecentProblems
from bot.crashpoints import ENV_VAR, POINTS, parse
from bot.logs import clear_secrets, register_secret
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat import Fault, VRChatSimulator
from bot.store import Store
from tests.reliability.discord_faults import DiscordFaults, Storm
from tests.reliability.results import prefix_problem, tally

TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.sandbox.harness-test-token"
CHANNEL = 1_300_000_000_000_000_009
COUNTING = """
from bot import crashpoints
for i in range(5):
    crashpoints.reached("outbox.after_send")
    print(i, flush=True)
"""


def run_counting(env_value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if env_value is not None:
        env[ENV_VAR] = env_value
    return subprocess.run(  # noqa: S603 - our own interpreter and snippet
        [sys.executable, "-c", COUNTING], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_a_crash_point_kills_its_process_at_the_nth_visit_and_only_then() -> None:
    armed = run_counting("outbox.after_send:3")
    assert armed.returncode == -9  # SIGKILL: nothing ran after it
    assert armed.stdout.split() == ["0", "1"]
    assert "crash point outbox.after_send reached (3x)" in armed.stderr
    unarmed = run_counting(None)
    assert unarmed.returncode == 0 and unarmed.stdout.split() == ["0", "1", "2", "3", "4"]
    elsewhere = run_counting("poller.after_fetch")
    assert elsewhere.returncode == 0 and len(elsewhere.stdout.split()) == 5
    typo = run_counting("outbox.after_sent:1")
    assert typo.returncode == 1 and "unknown crash point 'outbox.after_sent'" in typo.stderr


def test_the_crash_point_variable_is_read_strictly() -> None:
    assert parse(None) is None and parse("  ") is None
    assert parse("store.after_ingest") == ("store.after_ingest", 1)
    assert parse("cards.after_post:12") == ("cards.after_post", 12)
    with pytest.raises(ValueError, match="at least 1"):
        parse("cards.after_post:0")
    with pytest.raises(ValueError, match="unknown crash point"):
        parse("nowhere:1")


def test_every_crash_point_is_placed_once_in_the_bot() -> None:
    """A point dropped from the code would make its lives end by the timer instead: weaker, silently."""
    source = "\n".join(path.read_text() for path in Path(bot.__file__).parent.rglob("*.py"))
    placed = re.findall(r'crashpoints\.reached\("([a-z_.]+)"\)', source)
    assert sorted(placed) == sorted(POINTS)


async def test_a_truncated_body_is_cut_short_and_the_next_request_is_fine() -> None:
    body = '{"ok": true, "padding": "' + "x" * 100 + '"}'
    async with VRChatSimulator(validate=False) as sim, aiohttp.ClientSession() as http:
        sim.faults.add(Fault(path="^/auth$", body=body, truncate=20, times=1))
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.get(f"{sim.base_url}/auth") as response:
                assert response.headers["Content-Length"] == str(len(body))  # promised all of it
                await response.read()
        async with http.get(f"{sim.base_url}/auth") as response:
            assert response.status == 401  # the fault is spent; the simulator answers as itself


async def post(http: aiohttp.ClientSession, standin: DiscordStandIn, nonce: str) -> aiohttp.ClientResponse:
    return await http.post(
        f"{standin.base_url}/channels/{CHANNEL}/messages",
        json={"content": "hello", "nonce": nonce, "enforce_nonce": True, "allowed_mentions": {"parse": []}},
        headers={"Authorization": f"Bot {TOKEN}"},
    )


async def test_discord_storms_answer_like_discord_and_end() -> None:
    async with DiscordStandIn(TOKEN) as standin, aiohttp.ClientSession() as http:
        standin.add_guild(1_200_000_000_000_000_009, owner_id=1_500_000_000_000_000_009)
        standin.add_channel(CHANNEL, guild_id=1_200_000_000_000_000_009)
        faults = DiscordFaults(standin)
        faults.add(Storm(CHANNEL, 429, retry_after=0.25, times=2))
        for _ in range(2):
            limited = await post(http, standin, "n1")
            body = await limited.json()
            # What discord.py reads to wait instead of raising: the body's retry_after and a Via header.
            assert limited.status == 429 and body["retry_after"] == 0.25 and "Via" in limited.headers
        assert (await post(http, standin, "n1")).status == 200

        faults.add(Storm(CHANNEL, 500, after_store=True, times=1))
        assert (await post(http, standin, "n2")).status == 500
        again = await post(http, standin, "n2")  # the retry of a message Discord kept after all
        assert again.status == 200 and faults.answered == 3
        assert [m.content for m in standin.messages(CHANNEL)] == ["hello", "hello"]  # not three


def test_the_channel_checks_find_holes_repeats_and_swaps() -> None:
    expected = ["a", "b", "c", "d"]
    assert prefix_problem(expected, ["a", "b"]) is None
    assert prefix_problem(expected, ["a", "c"]) == "position 1: c instead of b"
    assert prefix_problem(expected, ["a", "a"]) == "position 1: a repeated"
    assert prefix_problem(expected, ["b", "a"]) == "position 0: b instead of a"
    found = tally(expected, ["a", "c", "b", "c", "x"])
    assert (found.lost, found.duplicated, found.out_of_order, found.unknown) == (1, 1, True, 1)
    assert tally(expected, expected) == tally(["z"], ["z"])


def test_recent_problems_keep_warnings_newest_first_without_secrets() -> None:
    recorder = RecentProblems()
    logger = logging.getLogger("bot.reliability.test")
    logger.addHandler(recorder)
    register_secret("hunter2-very-secret")
    try:
        logger.info("all is well")
        logger.warning("first trouble")
        try:
            raise OSError("disk on fire")
        except OSError:
            logger.exception("second trouble, password hunter2-very-secret")
    finally:
        logger.removeHandler(recorder)
        clear_secrets()
    lines = [text for _ago, text in recorder.recent()]
    assert lines == ["second trouble, password ***: OSError: disk on fire", "first trouble"]
    assert recorder.recent(window=-1) == []


@pytest.mark.slow  # another process holds the lock
async def test_the_database_probe_names_a_lock_held_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "probe.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    await store.upgrade()
    try:
        assert await store.write_problem() is None
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(holder.execute, "BEGIN EXCLUSIVE")
        try:
            problem = await store.write_problem()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert problem is not None and problem.startswith("locked for more than 2 seconds")
        assert await store.write_problem() is None
    finally:
        await store.close()
    memory = await Store.open("sqlite+aiosqlite:///:memory:")
    try:
        assert await memory.write_problem() is None  # nothing another process could lock
    finally:
        await memory.close()
