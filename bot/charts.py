"""Charts as PNG bytes, drawn with matplotlib's object API on the Agg canvas.

Never pyplot: its global figure registry would leak figures and is not meant for a server. Pure
functions, no Discord and no store; they take tens of milliseconds, so callers on the event loop run
them in a thread (asyncio.to_thread).

matplotlib (with numpy and Pillow) is imported at the first chart, not with the bot: it is about
40 MiB of a process's memory, and most bots never draw a chart.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TITLE_MAX = 90
# Colour-blind-safe (Okabe–Ito), one per series in order; more series reuse them.
COLOURS = ("#009E73", "#E69F00", "#0072B2", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
# Up to this many days each day gets a group of bars; beyond it bars get too thin to read: lines.
MAX_BAR_DAYS = 45
MAX_TICKS = 12  # day labels on the x axis
SIZE_INCHES = (11.0, 5.0)
DPI = 100

# matplotlib promises no thread safety and its font and text-layout caches are process-wide; one
# chart at a time costs nothing at this rate and rules out a race between two concurrent commands.
_DRAWING = threading.Lock()


def bounded_title(title: str) -> str:
    text = " ".join(title.split())
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1].rstrip() + "…"


def daily_chart(days: Sequence[date], series: Mapping[str, Sequence[int]], title: str) -> bytes:
    """A PNG of per-day counts: one coloured series per label, a legend with each series' total.

    `days` are consecutive calendar days, oldest first; every series has one count per day.
    """
    if not days:
        raise ValueError("a chart needs at least one day")
    for label, values in series.items():
        if len(values) != len(days):
            raise ValueError(f"series {label!r} has {len(values)} values for {len(days)} days")
    with _DRAWING:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # here, not at the top: see the docstring
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)  # attaches itself to the figure; savefig then needs no backend choice
        axes = figure.add_subplot()
        # Days as positions 0..n-1 with our own labels: date locators switch to hours for a short
        # range, and a bar chart wants whole-day slots anyway.
        if len(days) <= MAX_BAR_DAYS:
            _bars(axes, series)
        else:
            _lines(axes, series)
        step = -(-len(days) // MAX_TICKS)
        ticks = list(range(len(days) - 1, -1, -step))[::-1]  # always label the newest day
        axes.set_xticks(ticks, [days[i].strftime("%d %b") for i in ticks])
        axes.set_xlim(-0.6, len(days) - 0.4)
        peak = max((max(values, default=0) for values in series.values()), default=0)
        axes.set_ylim(0, max(1, peak) * 1.08)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel("per day (UTC)")
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
        # parse_math=False: a "$" in a group name must not turn the title into TeX.
        axes.set_title(bounded_title(title), loc="left", parse_math=False, fontsize=13)
        if series:
            figure.legend(loc="outside lower center", ncols=min(len(series), 5), frameon=False)
        out = io.BytesIO()
        # No Software/date metadata: the same numbers always give the same bytes.
        figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _legend_label(label: str, values: Sequence[int]) -> str:
    return f"{label} ({sum(values)})"


def _bars(axes: Axes, series: Mapping[str, Sequence[int]]) -> None:
    group = 0.8  # of a day's slot; the rest is the gap between days
    width = group / max(1, len(series))
    for n, (label, values) in enumerate(series.items()):
        offset = -group / 2 + width * (n + 0.5)
        axes.bar(
            [i + offset for i in range(len(values))],
            values,
            width=width,
            color=COLOURS[n % len(COLOURS)],
            label=_legend_label(label, values),
        )


def _lines(axes: Axes, series: Mapping[str, Sequence[int]]) -> None:
    for n, (label, values) in enumerate(series.items()):
        axes.plot(
            range(len(values)),
            values,
            color=COLOURS[n % len(COLOURS)],
            linewidth=1.6,
            marker="o",
            markersize=3,
            label=_legend_label(label, values),
        )
