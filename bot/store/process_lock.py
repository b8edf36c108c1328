"""One process per SQLite database file, enforced by the operating system.

SQLite keeps the file itself consistent with several writers, but two bots on one file would both
poll every group and both deliver every channel: GroupBridge coordinates processes through leases
that only PostgreSQL serves safely across hosts, so on SQLite the rule is one process.

The lock is an flock(2) on the database file itself, held for the life of the process. It belongs to
the file (its inode), not to a name: a hard link, a symlink or a second path through a bind mount
all reach the same lock, where a `<path>.lock` beside each name would let two bots share one
database with two WAL files. The kernel drops it when the process ends, however it ends (SIGKILL,
OOM killer, power cut), so unlike a PID file it never goes stale. It does not get in SQLite's way:
SQLite uses POSIX record locks, which on Linux are independent of flock locks. The one rule is
that this descriptor is closed only after the process's SQLite connections to the file are closed
(closing any descriptor of a file drops the process's POSIX locks on it), which is why it is held
until the very end. Like SQLite itself, it is not reliable on network file systems.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import URL

from bot.store.engine import is_memory_sqlite, normalise_url, sqlite_sidecars


class ProcessLockError(Exception):
    """Another process uses the database (the message says which file and what to do)."""


class ProcessLock:
    """Held until release() or the end of the process."""

    def __init__(self, path: Path, fd: int, *, created: bool) -> None:
        self.path = path
        self._fd: int | None = fd
        self._created = created

    def release(self) -> None:
        if self._fd is None:
            return
        # A database this lock created and nothing ever wrote to (the start failed before the
        # schema was made) is removed, so a failed first start leaves no empty file behind.
        if self._created and _never_written(self.path):
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)  # closing the descriptor drops the flock
        self._fd = None


def lock_path(url: str | URL) -> Path | None:
    """The file the lock is taken on, the SQLite database itself; None for PostgreSQL and in-memory
    SQLite."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite" or is_memory_sqlite(parsed):
        return None
    return Path(parsed.database or "").expanduser().resolve()


def acquire_process_lock(url: str | URL) -> ProcessLock | None:
    """Lock the SQLite database at `url` for this process, or raise ProcessLockError.

    The database file is created (empty, mode 0600) when it does not exist yet: a lock needs a file.
    Returns None when there is nothing to lock (PostgreSQL, in-memory SQLite) or the database's
    folder does not exist (opening the store reports that, with a better message).
    """
    path = lock_path(url)
    if path is None:
        return None
    created = False
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            created = True
    except FileNotFoundError:
        return None
    except FileExistsError:  # another process created it just now: lock that one
        return acquire_process_lock(url)
    except OSError as exc:
        raise ProcessLockError(f"cannot open the SQLite database {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(os.fstat(fd))
        os.close(fd)
        raise ProcessLockError(
            f"another groupbridge process{holder} is already using the SQLite database {path} "
            "(or another name of the same file). SQLite supports only one process per database; to "
            'run several processes, use PostgreSQL (database.url = "postgresql+asyncpg://…").'
        ) from None
    return ProcessLock(path, fd, created=created)


def _never_written(path: Path) -> bool:
    files = [path, *sqlite_sidecars(path)]
    with contextlib.suppress(OSError):
        return all(not f.exists() or f.stat().st_size == 0 for f in files)
    return False


def _holder(st: os.stat_result) -> str:
    """' (pid N)' of the process holding the flock on this file, from /proc/locks (Linux), or ''."""
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with contextlib.suppress(OSError, ValueError), open("/proc/locks", encoding="ascii") as locks:
        for line in locks:
            fields = line.split()
            # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:2146810 0 EOF"
            if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key and fields[4].isdigit():
                return f" (pid {int(fields[4])})"
    return ""
