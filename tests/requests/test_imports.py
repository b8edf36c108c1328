"""Every module of bot/requests/ imports on its own, first, in a fresh interpreter.

bot.services builds the join-request service and bot/requests/ uses bot.services' modules: imported in
the wrong order, Python would meet one of them half-initialised (the dry run imports bot.requests.cards
before anything else). tests/test_import_graph.py does not see this: it leaves out the parent packages
Python runs on the way to a module.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import bot.requests

MODULES = sorted(m.name for m in pkgutil.iter_modules(bot.requests.__path__, "bot.requests."))

pytestmark = pytest.mark.slow  # a Python process per module


@pytest.mark.parametrize("module", [*MODULES, "bot.dryrun.run"])
def test_the_module_imports_first(module: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter, module names from bot/requests/
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_every_module_is_tried() -> None:
    assert {"bot.requests.cards", "bot.requests.service", "bot.requests.model"} <= set(MODULES)
