"""Migrations in a child process (bot.store.migrate_process): its steps are logged by the bot, its
failures reach the bot as one clear error without the database password, and a failed first
migration leaves no database file behind."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.store import migrate
from bot.store.migrate_process import MigrationFailed, migrate_in_child

pytestmark = pytest.mark.slow  # each case starts an interpreter


def test_a_child_migrates_a_new_file_and_its_steps_are_logged_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_url(f"sqlite+aiosqlite:///{tmp_path / 'gb.sqlite3'}")
    with caplog.at_level(logging.INFO, logger="bot.store.migrate_process"):
        asyncio.run(migrate_in_child(url))
    assert migrate.current(url) == migrate.head_revision()
    assert any("Running upgrade" in r.getMessage() for r in caplog.records)


async def test_an_unknown_revision_is_named_and_the_new_file_is_removed(tmp_path: Path) -> None:
    database = tmp_path / "gb.sqlite3"
    with pytest.raises(MigrationFailed, match="no-such-revision"):
        await migrate_in_child(make_url(f"sqlite+aiosqlite:///{database}"), "no-such-revision")
    assert not database.exists()


async def test_the_password_reaches_the_child_but_not_the_error() -> None:
    # Port 1 on loopback refuses at once: the child fails connecting, after it had the URL.
    url = make_url("postgresql+asyncpg://groupbridge:pa55-w0rd-secret@127.0.0.1:1/groupbridge")
    with pytest.raises(MigrationFailed) as failure:
        await migrate_in_child(url)
    assert "pa55-w0rd-secret" not in str(failure.value)
    assert "failed" in str(failure.value)
