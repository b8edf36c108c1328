"""Questions to the person at the terminal, asked from inside the event loop.

`groupbridge login` asks for the password and 2FA codes in the middle of an async login. Read in a
worker thread (`asyncio.to_thread(input)`), Ctrl-C waited for Enter: asyncio.run cancels the task at
once but then waits for the thread, which sits in input(). Here a terminal is read with the event
loop's own reader, so Ctrl-C (which cancels the task) ends the wait at once, and a hidden answer
turns echo back on in a `finally`, whatever ends the wait.

When standard input is not a terminal (a pipe, a file, a test's captured input) there is nobody to
press Ctrl-C at a prompt, and the answer is read as input() and getpass() always did.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys
import termios
from collections.abc import Iterator
from typing import TextIO


class NoAnswer(Exception):
    """Standard input ended (Ctrl-D) before a line was typed."""


class Terminal:
    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._pending = b""  # typed ahead of the question that reads it

    def _tty(self) -> int | None:
        try:
            fd = self._stdin.fileno()
        except (AttributeError, OSError, ValueError):  # replaced or closed stdin (pytest captures it)
            return None
        return fd if os.isatty(fd) else None

    @property
    def interactive(self) -> bool:
        """Whether standard input is a terminal, so someone there can answer."""
        return self._tty() is not None

    def say(self, text: str) -> None:
        print(text, file=self._stdout, flush=True)

    async def ask(self, question: str, *, hidden: bool = False) -> str:
        """The line the person types (without its newline); `hidden` does not echo it."""
        fd = self._tty()
        if fd is None:
            reader = getpass.getpass if hidden else input
            try:
                return await asyncio.to_thread(reader, question)
            except EOFError:
                raise NoAnswer from None
        self._stdout.write(question)
        self._stdout.flush()
        with _echo_off(fd) if hidden else contextlib.nullcontext():
            try:
                line = await self._read_line(fd)
            finally:
                if hidden:  # the Enter (or Ctrl-C) was not echoed either
                    self._stdout.write("\n")
                    self._stdout.flush()
        return line

    async def _read_line(self, fd: int) -> str:
        loop = asyncio.get_running_loop()
        while b"\n" not in self._pending:
            readable = loop.create_future()
            loop.add_reader(fd, _wake, readable)
            try:
                await readable
            finally:
                loop.remove_reader(fd)
            # A terminal in canonical mode is readable once a whole line (or Ctrl-D) is there.
            chunk = os.read(fd, 4096)
            if not chunk:
                raise NoAnswer
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")


def _wake(readable: asyncio.Future[None]) -> None:
    if not readable.done():
        readable.set_result(None)


@contextlib.contextmanager
def _echo_off(fd: int) -> Iterator[None]:
    before = termios.tcgetattr(fd)
    quiet = list(before)
    quiet[3] &= ~termios.ECHO  # lflag; ICANON and ISIG stay, so lines and Ctrl-C work as usual
    termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, before)
