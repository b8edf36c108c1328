"""The linking parts the generic matrix cannot drive by itself, × every kind of person: the Verify button
(only whom the code was issued to) and `/unlink member:` for someone else (the server's moderators).
A refusal is private and changes nothing in VRChat or the database, as in the matrix."""

from __future__ import annotations

import re

import pytest

from bot.store import Store
from tests.fixtures.discord_gateway import GUILD_ID
from tests.fixtures.vrchat_profiles import edit_profile
from tests.security.conftest import ROLES, Role, World, first_answer, reply_text, run_command
from tests.security.matrix_cases import EXPECTED_COMMANDS, EXPECTED_ITEMS
from tests.security.test_authorization_matrix import Cell, click_item, judge, labelled, prompt_of
from tests.store.helpers import link_directly

LINKED_ID = 1_500_000_000_000_000_111  # a member of the server whose account is linked


@pytest.mark.parametrize("role", ROLES)
async def test_verify_serves_only_whom_the_code_was_issued_to(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    outsider = world.seeded.outsider.id
    async with make_security_bot():
        opened = prompt_of(await run_command(world.standin, "admin", "link start", {"user": outsider}))
        code = re.search(r"`(GB-[^`]+)`", opened.content or "")
        assert code is not None
        edit_profile(world.seeded.sim, outsider, bio=code[1])
        async with Cell(world, security_store, role, "Verify button") as cell:
            exchange = await click_item(cell, opened, labelled(opened, "Verify"))
            await judge(cell, exchange, role in EXPECTED_ITEMS["VerifyButton"].allowed, "Linked")
    assert not cell.problems, "\n".join(cell.problems)
    linked = await security_store.link_of_vrchat(outsider)
    assert (linked is not None) == (role in EXPECTED_ITEMS["VerifyButton"].allowed)


@pytest.mark.parametrize("role", ROLES)
async def test_unlinking_someone_else_is_for_the_servers_moderators(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    world.standin.add_member(GUILD_ID, LINKED_ID, "linked-person")
    await link_directly(security_store, LINKED_ID, world.seeded.outsider.id)
    allowed = EXPECTED_COMMANDS["whois member"].allowed  # the same people who may look members up
    async with make_security_bot(), Cell(world, security_store, role, "/unlink member:") as cell:
        options = {"member": world.standin.member(GUILD_ID, LINKED_ID)}
        exchange = await run_command(world.standin, role, "unlink", options)
        if role in allowed:
            cell.allowed(reply_text(first_answer(exchange)), f"Unlinked <@{LINKED_ID}>")
        else:
            await cell.refused(exchange)
    assert not cell.problems, "\n".join(cell.problems)
    assert (await security_store.link_of_discord(LINKED_ID) is None) == (role in allowed)
