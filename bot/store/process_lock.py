"""One process per SQLite database file, enforced by the operating system.

SQLite keeps the file itself consistent with several writers, but two bots on one file would both
poll every group and both deliver every channel: GroupBridge coordinates processes through leases
that only PostgreSQL serves safely across hosts, so on SQLite the rule is one process. The lock is
an flock(2) on `<database>.lock`, held for the life of the process. The kernel drops it when the
process ends, however it ends (SIGKILL, OOM killer, power cut), so unlike a PID file it never goes
stale. Like SQLite itself, it is not reliable on network file systems.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import URL

from bot.store.engine import is_memory_sqlite, normalise_url


class ProcessLockError(Exception):
    """Another process uses the database (the message says which file and what to do)."""


class ProcessLock:
    """Held until release() or the end of the process."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        # The file stays: deleting it would let a third process lock a new file while a second
        # still waits on the old one.
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def lock_path(url: str | URL) -> Path | None:
    """`<database file>.lock` for a SQLite file URL; None for PostgreSQL and in-memory SQLite."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite" or is_memory_sqlite(parsed):
        return None
    database = Path(parsed.database or "").expanduser().resolve()
    return database.with_name(database.name + ".lock")


def acquire_process_lock(url: str | URL) -> ProcessLock | None:
    """Lock the SQLite database at `url` for this process, or raise ProcessLockError.

    Returns None when there is nothing to lock (PostgreSQL, in-memory SQLite) or the database's
    folder does not exist (opening the store reports that, with a better message).
    """
    path = lock_path(url)
    if path is None:
        return None
    database = path.with_name(path.name.removesuffix(".lock"))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProcessLockError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise ProcessLockError(
            f"another groupbridge process{holder} is already using the SQLite database {database} "
            f"(lock file {path}). SQLite supports only one process per database; to run several "
            'processes, use PostgreSQL (database.url = "postgresql+asyncpg://…").'
        ) from None
    # Only for the message above, so an operator can find the other process.
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return ProcessLock(path, fd)


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        if text.isdigit():
            return f" (pid {int(text)})"
    return ""
