"""The Close button under an age-gate report, × every kind of person: the binding's moderators (and
Manage Server) get the confirmation and close the instance; everyone else is refused privately and
nothing changes in VRChat."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config_text
from bot.store import Store
from bot.vrchat import VRChatClient
from tests.fixtures.bridge import running_bridge
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, GUILD_ID, REQUESTS_CHANNEL_ID
from tests.security.conftest import ROLES, Role, World, config_text
from tests.security.matrix_cases import EXPECTED_ITEMS
from tests.security.test_authorization_matrix import Cell, click_item, judge, labelled

pytestmark = pytest.mark.slow  # every kind of person, through the real bot


@pytest.mark.parametrize("role", ROLES)
async def test_the_close_button_serves_the_bindings_moderators(
    role: Role, world: World, security_store: Store, bot_vrchat: VRChatClient, tmp_path: Path
) -> None:
    binding = {
        "group_id": world.group_id,
        "guild_id": GUILD_ID,
        "feed_channel_id": FEED_CHANNEL_ID,
        "requests_channel_id": REQUESTS_CHANNEL_ID,
        "instance_age_gate": "report",
    }
    config = load_config_text(config_text(world, tmp_path, bindings=[binding]))
    allowed = role in EXPECTED_ITEMS["CloseButton"].allowed
    async with running_bridge(world.standin, config, bot_vrchat, security_store) as bot:
        assert await bot.get_cog("GroupInstances").check_once() == 1  # type: ignore[union-attr]
        (report,) = [m for m in world.standin.messages(REQUESTS_CHANNEL_ID) if m.embeds]
        async with Cell(world, security_store, role, "Close button") as cell:
            exchange = await click_item(cell, report, labelled(report, "Close"))
            if exchange is not None and allowed:
                prompt = exchange.callback.message if exchange.callback else None
                assert prompt is not None
                exchange = await click_item(cell, prompt, labelled(prompt, "Close"))
            await judge(cell, exchange, allowed, "Closed the group instance")
    assert not cell.problems, "\n".join(cell.problems)
    closes = world.seeded.sim.requests_to("DELETE", r"^/instances/")
    assert len(closes) == (1 if allowed else 0)
