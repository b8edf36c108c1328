"""SQLite admits one `groupbridge run` process per database file; the OS lock dies with its holder."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.world import BotProcess, SandboxWorld
from bot.store import migrate
from bot.store.process_lock import ProcessLockError, acquire_process_lock, lock_path

# `groupbridge run` as real processes competing for one SQLite file.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]


def test_one_lock_per_database_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    first = acquire_process_lock(url)
    assert first is not None and first.path == tmp_path / "bot.db"  # the database file itself
    with pytest.raises(ProcessLockError) as refused:
        acquire_process_lock(url)  # a second open file description conflicts, even in one process
    message = str(refused.value)
    assert str(tmp_path / "bot.db") in message and "one process" in message and "PostgreSQL" in message
    first.release()
    again = acquire_process_lock(url)
    assert again is not None
    again.release()
    assert lock_path("postgresql+asyncpg://u@localhost/db") is None
    assert lock_path("sqlite+aiosqlite:///:memory:") is None


def test_the_lock_belongs_to_the_file_not_to_its_name(tmp_path: Path) -> None:
    """A hard link is the same database under another name: two bots on it would each keep their
    own WAL file over one database."""
    database, alias = tmp_path / "bot.db", tmp_path / "other" / "alias.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{database}")
    alias.parent.mkdir()
    os.link(database, alias)
    first = acquire_process_lock(f"sqlite+aiosqlite:///{database}")
    assert first is not None
    try:
        with pytest.raises(ProcessLockError) as refused:
            acquire_process_lock(f"sqlite+aiosqlite:///{alias}")
        assert f"SQLite database {alias} (or another name of the same file)" in str(refused.value)
        other = tmp_path / "separate.db"  # another file in the same folder is another database
        separate = acquire_process_lock(f"sqlite+aiosqlite:///{other}")
        assert separate is not None
        separate.release()
    finally:
        first.release()
    assert database.exists() and alias.exists()  # a database with a schema is never removed


def test_a_new_database_is_created_private_and_removed_if_nothing_was_written(tmp_path: Path) -> None:
    database = tmp_path / "new.db"
    previous = os.umask(0o022)
    try:
        lock = acquire_process_lock(f"sqlite+aiosqlite:///{database}")
    finally:
        os.umask(previous)
    assert lock is not None
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    lock.release()  # the start failed before the schema was made: no empty file stays behind
    assert not database.exists()


async def second_run(config: Path, log: Path) -> int:
    """`groupbridge run` once more, on the same config (and so the same SQLite file)."""
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "-c", str(config), stdout=stderr, stderr=stderr
        )
        return await asyncio.wait_for(proc.wait(), timeout=60)


async def test_a_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    async with SandboxWorld(tmp_path / "world") as world:
        first = world.bot_process("first")
        await first.start()
        try:
            await world.wait_for(
                lambda: "Audit-log mirror running" in first.log(), "the first bot", 60, process=first
            )
            discord_before = len(world.discord.requests_to("GET", "/users/@me"))
            vrchat_before = len(world.sim.requests_to("GET", "^/auth"))  # any start begins there

            refused_log = tmp_path / "second.log"
            assert await second_run(world.config_path, refused_log) == 1
            refused = refused_log.read_text()
            assert f"SQLite database {world.database_path}" in refused
            assert "supports only one process" in refused and "use PostgreSQL" in refused
            assert f"pid {first.pid}" in refused
            # Refused before connecting to anything.
            assert len(world.discord.requests_to("GET", "/users/@me")) == discord_before
            assert len(world.sim.requests_to("GET", "^/auth")) == vrchat_before
            assert first.running

            await first.kill()  # SIGKILL: the kernel drops the lock with the process
            second = BotProcess(world.config_path, tmp_path / "third.log")
            await second.start()
            await world.wait_for(
                lambda: "Audit-log mirror running for 1 group" in second.log(),
                "the next bot",
                60,
                process=second,
            )
            assert await second.stop() == 0
        finally:
            await first.kill()


async def test_roles_need_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with SandboxWorld(tmp_path / "world") as world:
        config = str(world.config_path)
        # Through the command line, as an operator types it (its own event loop, hence a thread).
        assert await asyncio.to_thread(main, ["run", "--role", "worker", "-c", config]) == 2
        assert "--role worker needs PostgreSQL" in capsys.readouterr().err
        assert await asyncio.to_thread(main, ["run", "--dry-run", "--role", "gateway", "-c", config]) == 2
        assert "--role does not go with --dry-run" in capsys.readouterr().err
        assert world.discord.requests_to("GET", "/users/@me") == []
        assert world.sim.requests == []
