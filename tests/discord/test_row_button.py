"""The restart-safe buttons that carry one row id (bot.views.base.RowButton): each keeps its own
custom_id, rebuilds itself from it after a restart, and takes no id but its own prefix and digits."""

from __future__ import annotations

import re

import discord
import pytest

from bot.instances.views import CloseButton
from bot.links.views import VerifyButton
from bot.views.base import RowButton
from bot.watchdog.views import KILL_LABEL, DismissButton, KillSwitchButton

BUTTONS: list[tuple[type[RowButton], str, str, discord.ButtonStyle]] = [
    (KillSwitchButton, "gb:alert:kill:", KILL_LABEL, discord.ButtonStyle.danger),
    (DismissButton, "gb:alert:dismiss:", "Dismiss", discord.ButtonStyle.secondary),
    (CloseButton, "gb:inst:close:", "Close", discord.ButtonStyle.danger),
    (VerifyButton, "gb:link:verify:", "Verify", discord.ButtonStyle.success),
]


@pytest.mark.parametrize(("cls", "prefix", "label", "style"), BUTTONS, ids=[b[0].__name__ for b in BUTTONS])
async def test_a_row_button_rebuilds_itself_from_its_custom_id(
    cls: type[RowButton], prefix: str, label: str, style: discord.ButtonStyle
) -> None:
    button = cls(123456789012345678)
    assert button.custom_id == f"{prefix}123456789012345678"
    assert (button.item.label, button.item.style) == (label, style)

    match = re.fullmatch(cls.TEMPLATE, button.custom_id)
    assert match is not None
    rebuilt = await cls.from_custom_id(None, button.item, match)  # type: ignore[arg-type]  # it reads only the match
    assert type(rebuilt) is cls
    assert rebuilt.row_id == 123456789012345678


@pytest.mark.parametrize("cls", [b[0] for b in BUTTONS], ids=[b[0].__name__ for b in BUTTONS])
def test_a_row_button_takes_only_its_own_prefix_and_at_most_18_digits(cls: type[RowButton]) -> None:
    others = [prefix for other, prefix, _, _ in BUTTONS if other is not cls]
    assert re.fullmatch(cls.TEMPLATE, f"{cls.prefix}{'9' * 18}")
    assert not re.fullmatch(cls.TEMPLATE, f"{cls.prefix}{'9' * 19}")  # past SQLite's 64-bit integer
    assert not re.fullmatch(cls.TEMPLATE, f"{cls.prefix}12x")
    assert not any(re.fullmatch(cls.TEMPLATE, f"{prefix}1") for prefix in others)
