"""A damaged SQLite database stops `groupbridge run` and `groupbridge db upgrade` before anything is
sent to VRChat or Discord, with one message and an exit status the shipped systemd unit does not
restart on (every restart would otherwise be a VRChat login)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from bot.app import EXIT_DATABASE_DAMAGED
from bot.sandbox.world import SandboxWorld
from bot.store import migrate

# `groupbridge run` and `db upgrade` as real processes on damaged files.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]

REPO = Path(__file__).resolve().parents[1]
PAGE = 4096  # SQLite's default page size, as the bot's databases use


def damage(database: Path, page: int) -> None:
    """Overwrite one page of a real database with junk, as a failing disk or a bad copy would."""
    with database.open("r+b") as handle:
        handle.seek((page - 1) * PAGE)
        handle.write(b"\xde\xad\xbe\xef" * (PAGE // 4))


async def groupbridge(*args: str, log: Path) -> int:
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
        return await asyncio.wait_for(proc.wait(), timeout=60)


@pytest.mark.parametrize(
    ("page", "error"),
    [
        (4, "database disk image is malformed"),  # a table's page: only a full read finds it
        (1, "file is not a database"),  # the header
    ],
)
async def test_a_damaged_database_stops_the_bot_before_any_call(
    tmp_path: Path, page: int, error: str
) -> None:
    async with SandboxWorld(tmp_path / "world") as world:
        await asyncio.to_thread(migrate.upgrade, f"sqlite+aiosqlite:///{world.database_path}")
        damage(world.database_path, page)

        for command in (
            ["run", "-c", str(world.config_path)],
            ["db", "upgrade", "-c", str(world.config_path)],
        ):
            log = tmp_path / f"{command[0]}.log"
            assert await groupbridge(*command, log=log) == EXIT_DATABASE_DAMAGED, log.read_text()
            output = log.read_text()
            # One message (besides `run`'s INFO notes about the config), no traceback.
            (message,) = [line for line in output.splitlines() if " INFO " not in line]
            assert message.startswith(f"Cannot start: the SQLite database {world.database_path} is damaged ")
            assert error in message and "restore the database from your backup" in message
            assert '"The database is damaged"' in message  # the README section that says more

        assert world.sim.requests == []  # no VRChat login on every retry
        assert world.discord.requests_to("GET", "/users/@me") == []


def test_the_systemd_unit_does_not_restart_a_damaged_database() -> None:
    unit = (REPO / "deploy" / "groupbridge.service").read_text(encoding="utf-8")
    prevented = re.findall(r"^RestartPreventExitStatus=(.+)$", unit, re.MULTILINE)
    assert prevented and str(EXIT_DATABASE_DAMAGED) in " ".join(prevented).split()
    assert re.search(r"^Restart=on-failure$", unit, re.MULTILINE)  # and other failures still are
