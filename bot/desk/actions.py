"""Acting on the users in a feed message (filled in below)."""

from __future__ import annotations

from typing import Any

ACTION_ITEMS: tuple[Any, ...] = ()
