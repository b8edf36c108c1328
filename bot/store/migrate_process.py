"""Migrate a database from a child process, so that the bot never carries Alembic.

Alembic with Mako and Pygments is about 12 MiB of a process's memory that Python does not hand back
once a first start has migrated; a bot that runs for months should not keep it for a job done in its
first second. The child is `python -m bot.store.migrate`; the URL goes to it through the environment,
never on its command line, where every local user could read a password in `ps`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

URL_VARIABLE = "GROUPBRIDGE_MIGRATE_URL"
#: How many of the child's last lines a failure quotes.
FAILURE_LINES = 5
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the `bot` package


class MigrationFailed(RuntimeError):
    """The child process could not migrate; the message is its own account of why."""


def _child_environment(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    env[URL_VARIABLE] = url.render_as_string(hide_password=False)
    # The child must import this very `bot`, also when the bot was started from a checkout by path.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


async def migrate_in_child(url: URL, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` in a child process; raise MigrationFailed if it
    fails. Its lines ("Running upgrade 0012 -> 0013, ...") are logged here, as they were before."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.store.migrate",
        revision,
        env=_child_environment(url),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stderr is not None  # PIPE above
    lines: list[str] = []
    try:
        async for raw in child.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                lines.append(line)
                log.info("%s", line)
        status = await child.wait()
    except BaseException:
        # A stop during the start: the child's one transaction rolls back with it.
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if status != 0:
        account = " / ".join(lines[-FAILURE_LINES:]) or f"exit status {status}"
        raise MigrationFailed(f"the database migration failed: {account}")
