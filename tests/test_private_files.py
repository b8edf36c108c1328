"""The files the bot creates are private to its user (0600) whatever the umask: outside systemd (whose
unit sets UMask=0077) a usual umask of 022 would make them readable by every local user."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import reset_logging, setup_logging
from bot.store import Store
from bot.vrchat.session_file import SavedSession, save_session


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow  # migrates a new SQLite file in a child process (bot.store.migrate)
@pytest.mark.usefixtures("permissive_umask")
async def test_the_sqlite_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    database = tmp_path / "groupbridge.db"
    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    try:
        await store.upgrade()
        # While the store is open the WAL and shared-memory files exist beside the database.
        files = [database, tmp_path / "groupbridge.db-wal", tmp_path / "groupbridge.db-shm"]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await store.close()


@pytest.mark.usefixtures("permissive_umask")
def test_the_log_file_is_0600(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "groupbridge.log"
    try:
        setup_logging("INFO", log_file)
    finally:
        reset_logging()
    assert mode(log_file) == 0o600


@pytest.mark.usefixtures("permissive_umask")
def test_the_session_file_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "groupbridge-session.json"
    save_session(path, SavedSession(username="bot", cookies={"auth": "authcookie_0123456789"}))
    assert mode(path) == 0o600
