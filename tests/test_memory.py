"""bot.memory: the malloc arena cap `groupbridge run` sets before it starts anything.

The effect is read from glibc itself: malloc_info() lists one <heap> per arena, and a thread that
allocates while the cap allows gets an arena of its own. In a fresh interpreter, so that the test
process's own arenas do not count.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.memory import ARENA_LIMIT, is_glibc, limit_malloc_arenas

ARENAS_AFTER_THREADS = """
import ctypes, os, re, sys, tempfile, threading
from bot.memory import limit_malloc_arenas
if sys.argv[1] == "capped":
    assert limit_malloc_arenas()
def work():
    kept = [bytearray(100_000) for _ in range(20)]  # malloc below the mmap threshold
    done.wait()
done = threading.Event()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
libc.fclose.argtypes = (ctypes.c_void_p,)
path = os.path.join(tempfile.mkdtemp(), "info.xml")
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
done.set()
for t in threads:
    t.join()
print(len(re.findall(r"<heap nr=", open(path).read())))
"""


def arenas(mode: str) -> int:
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", ARENAS_AFTER_THREADS, mode],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},  # no MALLOC_ARENA_MAX from the caller's environment
    )
    return int(done.stdout)


@pytest.mark.slow  # two fresh interpreters
@pytest.mark.skipif(not is_glibc(), reason="the arena cap is glibc's")
def test_threads_share_the_capped_arenas() -> None:
    assert arenas("free") > ARENA_LIMIT  # each allocating thread got its own
    assert arenas("capped") == ARENA_LIMIT


def test_the_operators_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
