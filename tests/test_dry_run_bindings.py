"""The dry run's bindings: the database's when it exists (read, never created, migrated or left with
files beside it), the config's otherwise; and it says which."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from bot.config import Config, load_config
from bot.dryrun import dry_run
from bot.store import BindingIn, Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.test_dry_run import FEED, GUILD, REQUESTS, write_config

LINKED_FEED = 900_000_000_000_000_077


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    yield
    logs.reset_logging()
    logs.clear_secrets()


def load(path: Path, *, database: str | None = None) -> Config:
    if database is not None:
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r'(?m)^url = ".*"$', f'url = "{database}"', text), encoding="utf-8")
    return load_config(path, required=("vrchat.username",))


def linked_group(seeded: SeededSim) -> str:
    """A second group the bot account owns, allow-listed in [[groups]] only: linked by a command."""
    state = seeded.sim.state
    return state.add_group("Linked Group", short_code="LINKD", owner_id=seeded.bot.id).id


async def fill(url: str, seeded: SeededSim, linked: str) -> None:
    """What a bot that ran leaves: the schema, the config's binding (paused), a /bridge link."""
    store = await Store.open(url)
    try:
        await store.upgrade()
        await store.apply_config_bindings([BindingIn(seeded.group.id, GUILD, FEED, REQUESTS)])
        await store.pause_binding(channel_id=FEED, reason="the bot may not post in channel (Missing Access)")
        await store.add_binding(BindingIn(linked, GUILD, LINKED_FEED), source="command")
    finally:
        await store.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow  # migrates a new SQLite file in a child process (bot.store.migrate)
async def test_bindings_come_from_the_database_which_is_only_read(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    linked = linked_group(seeded_sim)
    database = tmp_path / "bot.db"
    await fill(f"sqlite+aiosqlite:///{database}", seeded_sim, linked)
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id, linked]))
    before, files = digest(database), names(tmp_path)

    assert await dry_run(config) == 0

    out = capsys.readouterr().out
    assert "2 groups (2 bound)" in out and "the database is only read" in out
    assert f"Bindings: from the database at {database} (read-only)." in out
    mine = out[out.index("Linked Group") :]
    assert f"feed channel {LINKED_FEED} (all events); no requests channel · made with /bridge link" in mine
    configured = out[out.index("Test Group") : out.index("Linked Group")]
    assert "· from [[bindings]] in the config\n" in configured
    assert "paused: the bot may not post in channel (Missing Access)" in configured
    # Neither changed nor accompanied: no -wal or -shm left beside it, no migration, no write.
    assert digest(database) == before
    assert names(tmp_path) == sorted([*files, "session.json"])


@pytest.mark.slow  # migrates a new SQLite file in a child process (bot.store.migrate)
async def test_a_running_bots_database_is_read_through_its_write_ahead_log(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    linked = linked_group(seeded_sim)
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    store = await Store.open(url)  # the running bot: its latest writes may be in bot.db-wal only
    try:
        await store.upgrade()
        await store.add_binding(BindingIn(linked, GUILD, LINKED_FEED), source="command")
        assert (tmp_path / "bot.db-wal").exists()
        config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id, linked]))

        assert await dry_run(config) == 0

        out = capsys.readouterr().out
        # The link it made a moment ago, and the config's binding that its next start adds.
        assert f"feed channel {LINKED_FEED} (all events); no requests channel · made with /bridge link" in out
        assert "· from [[bindings]] in the config; the next start adds it" in out
        assert ", and 1 from config.toml that the next start adds to it." in out
        assert [b.group_id for b in await store.list_bindings()] == [linked]  # nothing written
    finally:
        await store.close()


async def test_without_a_database_the_config_is_shown_and_no_file_is_made(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]))

    assert await dry_run(config) == 0

    out = capsys.readouterr().out
    assert f"Bindings: from config.toml (there is no database at {tmp_path / 'bot.db'} yet)." in out
    assert "no database is used" in out
    assert not (tmp_path / "bot.db").exists()


async def test_a_database_without_schema_is_left_alone(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bot.db").write_bytes(b"")  # e.g. touched by hand
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]))

    assert await dry_run(config) == 0

    out = capsys.readouterr().out
    assert "it has no schema yet (the first `groupbridge run` or `groupbridge db upgrade` creates it)" in out
    assert f"feed channel {FEED} (members, requests)" in out  # the config's binding instead
    assert (tmp_path / "bot.db").read_bytes() == b""


async def test_an_unreachable_postgresql_falls_back_to_the_config(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "pg-secret-0123"
    url = f"postgresql+asyncpg://bridge:{password}@127.0.0.1:9/bridge"  # the discard port: refused
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id]), database=url)

    assert await dry_run(config) == 0

    out = capsys.readouterr().out
    assert (
        "Bindings: from config.toml (could not read the database at postgresql+asyncpg://bridge:***@" in out
    )
    assert password not in out


@pytest.mark.postgres
async def test_bindings_come_from_postgresql_in_a_read_only_session(
    seeded_sim: SeededSim, tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_db_url: str
) -> None:
    linked = linked_group(seeded_sim)
    await fill(postgres_db_url, seeded_sim, linked)
    config = load(write_config(tmp_path, seeded_sim, [seeded_sim.group.id, linked]), database=postgres_db_url)

    assert await dry_run(config) == 0

    out = capsys.readouterr().out
    assert f"Bindings: from the database at {config.database.masked_url} (read-only)." in out
    assert f"feed channel {LINKED_FEED} (all events); no requests channel · made with /bridge link" in out
