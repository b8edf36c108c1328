"""Every command that asks for a confirmation (bot.views.confirm.confirm_then) checks the moderator again
as they are at the click: one whose moderator role is taken away while the prompt waits is refused,
privately, and nothing changes in VRChat or the database."""

from __future__ import annotations

import pytest

from bot.store import Store
from tests.fixtures.discord_gateway import GUILD_ID
from tests.security.conftest import GROUP_MOD_ID, World, run_command
from tests.security.matrix_cases import EXPECTED_COMMANDS
from tests.security.test_authorization_matrix import (
    Cell,
    click_item,
    judge,
    labelled,
    leaf_commands,
    options_for,
    prompt_of,
)

pytestmark = pytest.mark.slow  # the real bot, once per confirmed command

CONFIRMED = [name for name, case in EXPECTED_COMMANDS.items() if case.confirm]


def test_the_confirmed_commands_are_the_ones_that_change_vrchat_at_once() -> None:
    assert set(CONFIRMED) == {"vrc kick", "vrc ban", "vrc unban", "vrc instance open", "vrc instance close"}


@pytest.mark.parametrize("name", CONFIRMED)
async def test_a_confirmation_refuses_a_moderator_demoted_while_it_waited(
    name: str, world: World, make_security_bot, security_store: Store
) -> None:
    case = EXPECTED_COMMANDS[name]
    assert case.confirm is not None
    if case.prepare is not None:
        await case.prepare(world, security_store)
    async with make_security_bot() as client:
        options = options_for(case, leaf_commands(client)[name], world)
        prompt = prompt_of(await run_command(world.standin, "moderator", name, options))
        assert case.marker is not None and case.marker in (prompt.content or ""), prompt.content
        world.standin.member(GUILD_ID, GROUP_MOD_ID).role_ids = ()
        world.standin.state.guilds[GUILD_ID].refresh_permissions()
        async with Cell(world, security_store, "moderator", f"/{name} confirmed after demotion") as cell:
            exchange = await click_item(cell, prompt, labelled(prompt, case.confirm))
            await judge(cell, exchange, False, "")
    assert not cell.problems, "\n".join(cell.problems)
