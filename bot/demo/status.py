"""The live status line of the demo: what it waits for, for how long, and how far it has got.

Some waits take 10-25 s (the bot starting and logging in, a burst draining at Discord's pace); a
line that ticks shows the demo is alive. Only on a terminal: a pipe or a log file gets no spinner
and no control characters, just the lines the demo prints anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

# waiting(what, detail) -> a context for the time of the wait; detail() says how far it got ("42/300").
Waiting = Callable[[str, Callable[[], str] | None], AbstractContextManager[object]]


def no_status(what: str, detail: Callable[[], str] | None = None) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


class _Detail(ProgressColumn):
    """Asks `detail` afresh at every refresh (ten times a second): the world changes by itself."""

    def __init__(self, detail: Callable[[], str] | None) -> None:
        super().__init__()
        self._detail = detail

    def render(self, task: Task) -> Text:
        return Text(self._detail() if self._detail else "", style="dim")


def status_line(console: Console) -> Waiting:
    """A Waiting that shows a live line on `console` while it lasts, if `console` is a terminal."""
    if not console.is_terminal:
        return no_status

    @contextlib.contextmanager
    def waiting(what: str, detail: Callable[[], str] | None = None) -> Iterator[None]:
        columns = (
            SpinnerColumn(),
            TextColumn("Waiting for {task.description}"),
            _Detail(detail),
            TimeElapsedColumn(),
        )
        # transient: the line goes when the wait is over; what happened is then printed as usual.
        with Progress(*columns, console=console, transient=True) as progress:
            progress.add_task(escape(what), total=None)
            yield

    return waiting
