"""bot.charts: real PNGs from real matplotlib (Agg), decoded again to check what was drawn."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pytest
from matplotlib import _pylab_helpers
from matplotlib.image import imread

from bot.charts import DPI, MAX_BAR_DAYS, SIZE_INCHES, TITLE_MAX, bounded_title, daily_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABELS = ("Joins", "Leaves", "Requests accepted", "Requests rejected", "Bans")


def days(n: int) -> list[date]:
    return [date(2026, 3, 1) + timedelta(days=i) for i in range(n)]


def series(n: int, seed: int = 0) -> dict[str, list[int]]:
    return {label: [(i * (k + 1) + seed) % 5 for i in range(n)] for k, label in enumerate(LABELS)}


def pixels(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png), format="png")


def test_a_png_of_the_configured_size() -> None:
    png = daily_chart(days(30), series(30), "Test Group — the last 30 days")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    height, width, _ = pixels(png).shape
    assert (width, height) == (round(SIZE_INCHES[0] * DPI), round(SIZE_INCHES[1] * DPI))


def test_same_numbers_same_bytes_different_numbers_different_picture() -> None:
    first = daily_chart(days(30), series(30), "Test Group")
    assert daily_chart(days(30), series(30), "Test Group") == first
    other = daily_chart(days(30), series(30, seed=2), "Test Group")
    assert not np.array_equal(pixels(first), pixels(other))
    one_ban_more = series(30)
    one_ban_more["Bans"][-1] += 1
    assert not np.array_equal(pixels(first), pixels(daily_chart(days(30), one_ban_more, "Test Group")))
    assert not np.array_equal(pixels(first), pixels(daily_chart(days(30), series(30), "Other Group")))


def test_all_zero_counts_still_draw() -> None:
    flat = daily_chart(days(30), {label: [0] * 30 for label in LABELS}, "Quiet Group")
    some = daily_chart(days(30), series(30), "Quiet Group")
    assert flat.startswith(PNG_SIGNATURE) and not np.array_equal(pixels(flat), pixels(some))


@pytest.mark.parametrize("length", [1, 7, MAX_BAR_DAYS, MAX_BAR_DAYS + 1, 90])
def test_any_length_from_one_day_to_ninety(length: int) -> None:
    png = daily_chart(days(length), series(length), f"{length} days")
    assert png.startswith(PNG_SIGNATURE)


def test_dollar_signs_in_a_title_stay_text() -> None:
    # As mathtext, \nosuchmacro is an error at draw time; as plain text it is just characters.
    png = daily_chart(days(3), series(3), r"Cash $\nosuchmacro$ Club")
    assert png.startswith(PNG_SIGNATURE)


def test_long_titles_are_bounded() -> None:
    long = "A" * 500
    assert len(bounded_title(long)) == TITLE_MAX and bounded_title(long).endswith("…")
    assert bounded_title("  two\nlines  ") == "two lines"
    assert daily_chart(days(3), series(3), long).startswith(PNG_SIGNATURE)


def test_mismatched_or_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        daily_chart([], {}, "x")
    with pytest.raises(ValueError, match="'Bans' has 2 values for 3 days"):
        daily_chart(days(3), {"Joins": [1, 2, 3], "Bans": [1, 2]}, "x")


def test_no_pyplot_figures_are_left_behind() -> None:
    before = _pylab_helpers.Gcf.get_num_fig_managers()
    for _ in range(3):
        daily_chart(days(30), series(30), "Test Group")
    assert _pylab_helpers.Gcf.get_num_fig_managers() == before == 0


@pytest.mark.slow  # many charts drawn at once in threads
async def test_charts_drawn_in_threads_at_once_match_one_at_a_time() -> None:
    inputs = [(days(30), series(30, seed), f"Group {seed}") for seed in range(4)]
    one_by_one = [daily_chart(*args) for args in inputs]
    together = await asyncio.gather(*(asyncio.to_thread(daily_chart, *args) for args in inputs))
    assert list(together) == one_by_one


@pytest.mark.slow  # a fresh interpreter: this one may have drawn a chart already
def test_the_bot_does_not_load_the_chart_library_until_a_chart_is_drawn() -> None:
    """matplotlib, numpy and Pillow are about 40 MiB of the process: loaded only by /vrc stats."""
    script = (
        "import importlib, pkgutil, sys\n"
        "import bot.app, bot.bot, bot.cogs, bot.links.cog\n"
        "for m in pkgutil.iter_modules(bot.cogs.__path__, 'bot.cogs.'): importlib.import_module(m.name)\n"
        "print(sorted({'matplotlib', 'numpy', 'PIL'} & {n.split('.')[0] for n in sys.modules}))\n"
        "from datetime import date\n"
        "from bot.charts import daily_chart\n"
        "daily_chart([date(2026, 1, 1)], {'joins': [1]}, 'x')\n"
        "print('matplotlib' in sys.modules)\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    out = done.stdout
    assert out.split() == ["[]", "True"]
