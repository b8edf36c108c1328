"""A runaway-moderator alert's buttons × every kind of person: the kill switch (confirmed) and Dismiss
are for Manage Server in the alert's server; a refusal is private and changes nothing in VRChat or
the database, as in the matrix."""

from __future__ import annotations

import pytest

from bot.store import Store
from tests.discord.test_watchdog import KILL, alerts_in, member_roles
from tests.security.conftest import ROLES, Role, World
from tests.security.matrix_cases import EXPECTED_ITEMS
from tests.security.test_authorization_matrix import Cell, click_item, judge, labelled, prompt_of
from tests.watchdog.helpers import ban_spree, mirror, turn_on, watchdog

pytestmark = pytest.mark.slow  # the real bot, once per kind of person and button


async def posted_alert(world: World, client: object) -> object:
    seeded = world.seeded
    await mirror(client, seeded.group.id)  # type: ignore[arg-type]
    ban_spree(seeded, seeded.moderator.id, 5)
    await mirror(client, seeded.group.id)  # type: ignore[arg-type]
    await watchdog(client).loop.run_once()  # type: ignore[arg-type]
    (alert,) = alerts_in(world.standin)
    return alert


@pytest.mark.parametrize("role", ROLES)
async def test_the_kill_switch_serves_only_manage_server(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    await turn_on(security_store, world.group_id, max_bans=3)
    allowed = role in EXPECTED_ITEMS["KillSwitchButton"].allowed
    async with make_security_bot() as client:
        alert = await posted_alert(world, client)
        async with Cell(world, security_store, role, "kill switch") as cell:
            exchange = await click_item(cell, alert, labelled(alert, KILL))  # type: ignore[arg-type]
            if exchange is not None and allowed:
                exchange = await click_item(
                    cell, prompt_of(exchange), labelled(prompt_of(exchange), "Remove roles")
                )
            await judge(cell, exchange, allowed, "Removed 1 group role(s)")
    assert not cell.problems, "\n".join(cell.problems)
    assert (member_roles(world.seeded, world.seeded.moderator.id) == []) == allowed


@pytest.mark.parametrize("role", ROLES)
async def test_dismiss_serves_only_manage_server(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    await turn_on(security_store, world.group_id, max_bans=3)
    allowed = role in EXPECTED_ITEMS["DismissButton"].allowed
    async with make_security_bot() as client:
        alert = await posted_alert(world, client)
        async with Cell(world, security_store, role, "Dismiss") as cell:
            exchange = await click_item(cell, alert, labelled(alert, "Dismiss"))  # type: ignore[arg-type]
            await judge(cell, exchange, allowed, "Alert dismissed.")
    assert not cell.problems, "\n".join(cell.problems)
    stored = await security_store.get_alert(1)
    assert stored is not None and (stored.resolution == "dismissed") == allowed
