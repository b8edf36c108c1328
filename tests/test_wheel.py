"""GroupBridge as people install it: `pip install .` (not editable) into a fresh virtualenv, used from
another directory. Builds the wheel from a copy of the source tree, installs it with the pinned
dependencies, and runs `groupbridge db upgrade`, `check-config` and a short `run` against the sandbox,
then the demo with and without its extra. Slow (a virtualenv and an install, about a minute)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.sandbox.world import SandboxWorld

REPO = Path(__file__).resolve().parents[1]
# What a checkout has that a build must not see: virtualenvs, caches, earlier builds.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "*.db"
)

# A virtualenv, an install and the bot run from it: a minute of processes.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bot-process")]


def sh(*command: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command outside the test's environment: no GROUPBRIDGE_* settings, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUPBRIDGE_") and k != "PYTHONPATH"}
    return subprocess.run(  # noqa: S603 - our own interpreters and fixed arguments
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
    ok(
        sh(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            tmp_path / "dist",
            ".",
            cwd=source,
        )
    )
    (wheel,) = (tmp_path / "dist").glob("groupbridge-*.whl")
    return wheel


def check_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{info}/METADATA").decode()
    migrations = {n for n in names if n.startswith("bot/store/migrations/")}
    revisions = sorted(p.name for p in (REPO / "migrations" / "versions").glob("*.py"))
    assert {"bot/store/migrations/env.py", "bot/store/migrations/script.py.mako"} <= migrations
    assert sorted(n.rsplit("/", 1)[1] for n in migrations if "/versions/" in n) == revisions
    assert "bot/py.typed" in names and f"{info}/licenses/LICENSE" in names
    assert "bot/sandbox/vrchat/spec/openapi.yaml" in names
    assert "Requires-Python: >=3.11" in metadata and "License-Expression: MIT" in metadata
    assert "Provides-Extra: demo" in metadata


async def test_the_wheel_installs_and_runs_from_anywhere(tmp_path: Path) -> None:
    wheel = await asyncio.to_thread(build_wheel, tmp_path)
    check_contents(wheel)
    print(f"wheel: {wheel.name}, {wheel.stat().st_size / 1024:.0f} KiB")

    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    python, groupbridge = venv / "bin" / "python", venv / "bin" / "groupbridge"
    constraints = REPO / "constraints.txt"
    ok(await asyncio.to_thread(sh, sys.executable, "-m", "venv", venv, cwd=elsewhere))
    ok(
        await asyncio.to_thread(
            sh, python, "-m", "pip", "install", "--quiet", "-c", constraints, wheel, cwd=elsewhere
        )
    )
    located = ok(await asyncio.to_thread(sh, python, "-c", "import bot; print(bot.__file__)", cwd=elsewhere))
    assert Path(located.strip()).is_relative_to(venv)  # the installed copy, not this checkout

    async with SandboxWorld(tmp_path / "world") as world:
        config = str(world.config_path)
        upgraded = ok(await asyncio.to_thread(sh, groupbridge, "db", "upgrade", "-c", config, cwd=elsewhere))
        assert upgraded == "Database is at the newest schema.\n"
        with contextlib.closing(sqlite3.connect(world.database_path)) as db:
            assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        checked = ok(await asyncio.to_thread(sh, groupbridge, "check-config", config, cwd=elsewhere))
        assert checked.startswith(f"OK: {config} is valid (1 group, 1 binding)")

        state, group = world.sim.state, world.community.group
        state.request_to_join(group.id, state.add_user("Zoe", bio="Hello!").id)
        log = tmp_path / "run.log"
        with log.open("wb") as out:
            bot = await asyncio.create_subprocess_exec(
                groupbridge,
                "run",
                "-c",
                config,
                cwd=elsewhere,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        try:
            await world.wait_for(lambda: len(world.cards()) == 1 or bot.returncode is not None, "a card", 60)
            assert bot.returncode is None, log.read_text()
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 30) == 0, log.read_text()
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        assert "Audit-log mirror running for 1 group" in log.read_text()

    # The demo needs the fakes' spec checks: without its extra, one sentence says what to install.
    refused = await asyncio.to_thread(sh, python, "-m", "bot.demo", "--help", cwd=elsewhere)
    assert refused.returncode == 1 and "pip install 'groupbridge[demo]'" in refused.stderr
    assert "Traceback" not in refused.stderr
    ok(
        await asyncio.to_thread(
            sh, python, "-m", "pip", "install", "--quiet", "-c", constraints, f"{wheel}[demo]", cwd=elsewhere
        )
    )
    demo = await asyncio.to_thread(
        sh,
        python,
        "-m",
        "bot.demo",
        "--burst",
        "10",
        "--kill-after",
        "3",
        "--json",
        "demo.json",
        cwd=elsewhere,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert '"ok": true' in (elsewhere / "demo.json").read_text()
