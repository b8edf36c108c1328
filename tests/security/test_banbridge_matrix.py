"""The Confirm / Dismiss buttons of a Discord-ban card × every kind of person: the moderators of the
card's group (and Manage Server) decide; anyone else, a moderator of another group or a click from a
DM is refused privately, with nothing changed in VRChat or the database, as in the matrix."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.discord import StandInMessage
from bot.store import Store
from tests.fixtures.discord_gateway import GUILD_ID, REQUESTS_CHANNEL_ID
from tests.security.conftest import ROLES, Role, World
from tests.security.matrix_cases import EXPECTED_ITEMS
from tests.security.test_authorization_matrix import Cell, click_item, judge, labelled

pytestmark = pytest.mark.slow  # the real bot, once per kind of person

BANNED_ID = 1_500_000_000_000_000_112  # a linked member of the server, banned in Discord
DONE = {"confirm": "Banned usr_", "dismiss": "Dismissed"}
LABELS = {"confirm": "Confirm: ban in VRChat", "dismiss": "Dismiss"}


async def ban_card(world: World, store: Store) -> StandInMessage:
    now = datetime.now(UTC)
    code = await store.issue_link_code(
        BANNED_ID,
        world.seeded.member.id,
        "0" * 64,
        now=now,
        expires_at=now + timedelta(minutes=10),
        purge_before=now,
    )
    await store.complete_link(code.id, BANNED_ID, world.seeded.member.id, now=now)
    await world.standin.ban(GUILD_ID, BANNED_ID)
    for _ in range(200):
        cards = [m for m in world.standin.messages(REQUESTS_CHANNEL_ID) if "Ban prompt" in str(m.embeds)]
        # Both groups of the server get a card (the other one in its feed channel): all posted first.
        if cards and not await store.unposted_ban_prompts():
            return cards[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no ban card was posted")


@pytest.mark.parametrize("action", ["confirm", "dismiss"])
@pytest.mark.parametrize("role", ROLES)
async def test_ban_card_buttons_serve_the_groups_moderators(
    role: Role, action: str, world: World, make_security_bot, security_store: Store
) -> None:
    world.standin.add_member(GUILD_ID, BANNED_ID, "banned-person")
    case = EXPECTED_ITEMS["BanPromptButton"]
    allowed = role in case.allowed
    async with make_security_bot():
        card = await ban_card(world, security_store)
        async with Cell(world, security_store, role, f"ban card {action}") as cell:
            exchange = await click_item(cell, card, labelled(card, LABELS[action]))
            await judge(cell, exchange, allowed, DONE[action])
    assert not cell.problems, "\n".join(cell.problems)
    membership = world.seeded.sim.state.membership(world.group_id, world.seeded.member.id)
    banned = membership is not None and membership.status == "banned"
    assert banned == (allowed and action == "confirm")
