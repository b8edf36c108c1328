"""The desk's components the generic matrix cannot drive by itself, × every kind of person: History on
a join-request card, the pager of a history reply, the select under a feed message and the Ban,
Kick and Unban on its panel. A refusal is private and changes nothing in VRChat or the database, as
in the matrix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.feed.actions import FEED_ACTIONS_ID
from bot.feed.outbox import OutboxWorker
from bot.feed.sender import DiscordFeedSender
from bot.sandbox.discord import StandInMessage
from bot.store import AuditEntryIn, Store
from tests.discord.conftest import post_cards
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, REQUESTS_CHANNEL_ID
from tests.security.conftest import ROLES, Role, World, run_command
from tests.security.matrix_cases import EXPECTED_ITEMS
from tests.security.test_authorization_matrix import (
    Cell,
    cancel_if_open,
    click_as,
    click_item,
    judge,
    labelled,
    prompt_of,
)

pytestmark = pytest.mark.slow  # every kind of person through the real bot


def allowed(key: str, role: Role) -> bool:
    return role in EXPECTED_ITEMS[key].allowed


async def _about_the_requester(world: World, store: Store, count: int) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    carol = world.seeded.requester.id
    entries = [
        AuditEntryIn(
            f"gaud_desk-{n:03d}", start + timedelta(minutes=n), "group.user.unban", "usr_m", "M", carol, "x"
        )
        for n in range(count)
    ]
    await store.ingest(world.group_id, entries, enqueue=False)


@pytest.mark.parametrize("role", ROLES)
async def test_history_on_a_card_and_the_history_pager(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    await _about_the_requester(world, security_store, 12)
    problems: list[str] = []
    async with make_security_bot() as client:
        await post_cards(client)
        carol = world.seeded.requester
        (card,) = [
            m for m in world.standin.messages(REQUESTS_CHANNEL_ID) if carol.display_name in str(m.embeds)
        ]
        async with Cell(world, security_store, role, "History button") as cell:
            exchange = await click_item(cell, card, labelled(card, "History"))
            await judge(cell, exchange, allowed("HistoryButton", role), "History in Test Group")
        problems += cell.problems
        opened = prompt_of(
            await run_command(
                world.standin, "admin", "vrc history", {"user": carol.id, "group": world.group_id}
            )
        )
        async with Cell(world, security_store, role, "History Next ▸") as cell:
            exchange = await click_item(cell, opened, labelled(opened, "Next ▸"))
            await judge(cell, exchange, allowed("HistoryPageButton", role), "page 2")
        problems += cell.problems
        opened = prompt_of(
            await run_command(
                world.standin, "admin", "vrc history", {"user": carol.id, "group": world.group_id}
            )
        )
        await click_as(world, "admin", opened, labelled(opened, "Next ▸"))  # so Prev is enabled
        async with Cell(world, security_store, role, "History ◂ Prev") as cell:
            exchange = await click_item(cell, opened, labelled(opened, "◂ Prev"))
            await judge(cell, exchange, allowed("HistoryPageButton", role), "page 1")
        problems += cell.problems
    assert not problems, "\n".join(problems)


async def _feed_message(world: World, store: Store, client: object, heidi: str) -> StandInMessage:
    """One packed feed message with an entry that offers each of Ban, Kick and Unban: Bob joined (Kick),
    Dave left (Ban), Heidi was banned (Unban)."""
    bob, dave = world.seeded.member.id, world.seeded.outsider.id
    now = datetime.now(UTC)
    entries = [
        AuditEntryIn("gaud_desk-joined", now, "group.member.join", bob, "Bob", bob, "Bob joined."),
        AuditEntryIn(
            "gaud_desk-left", now + timedelta(seconds=1), "group.member.leave", dave, "Dave", dave, "Left."
        ),
        AuditEntryIn(
            "gaud_desk-banned", now + timedelta(seconds=2), "group.user.ban", "usr_m", "M", heidi, "Ban."
        ),
    ]
    await store.ingest(world.group_id, entries)
    await OutboxWorker(store, DiscordFeedSender(client)).drain_once()  # type: ignore[arg-type]
    (message,) = [m for m in world.standin.messages(FEED_CHANNEL_ID) if m.embeds]
    return message


async def _act_from_the_panel(
    world: World, store: Store, role: Role, message: StandInMessage, value: str, verb: str, marker: str
) -> list[str]:
    """The admin opens the panel for `value`; `role` clicks `verb` on it and, if allowed, confirms."""
    panel = prompt_of(await click_as(world, "admin", message, FEED_ACTIONS_ID, values=[value]))
    async with Cell(world, store, role, f"UserActionButton {verb}") as cell:
        exchange = await click_item(cell, panel, labelled(panel, verb))
        if exchange is not None and allowed("UserActionButton", role):
            prompt = exchange.callback.message if exchange.callback else None
            assert prompt is not None
            exchange = await click_item(cell, prompt, labelled(prompt, verb))
        await judge(cell, exchange, allowed("UserActionButton", role), marker)
    await cancel_if_open(world, panel)
    return cell.problems


@pytest.mark.parametrize("role", ROLES)
async def test_the_feed_select_and_its_ban_kick_and_unban(
    role: Role, world: World, make_security_bot, security_store: Store
) -> None:
    state, group = world.seeded.sim.state, world.group_id
    bob, dave = world.seeded.member.id, world.seeded.outsider.id
    heidi = state.add_user("Heidi").id
    state.ban(group, heidi, world.seeded.moderator.id)
    problems: list[str] = []
    async with make_security_bot() as client:
        message = await _feed_message(world, security_store, client, heidi)
        async with Cell(world, security_store, role, "FeedActionSelect") as cell:
            exchange = await click_item(cell, message, FEED_ACTIONS_ID, values=[f"leave:{group}:{dave}"])
            await judge(cell, exchange, allowed("FeedActionSelect", role), "what would you like to do")
        problems += cell.problems
        for value, verb, marker in (
            (f"leave:{group}:{dave}", "Ban", "Banned Dave"),
            (f"join:{group}:{bob}", "Kick", "Removed Bob"),
            (f"ban:{group}:{heidi}", "Unban", "Unbanned Heidi"),
        ):
            problems += await _act_from_the_panel(world, security_store, role, message, value, verb, marker)
    assert not problems, "\n".join(problems)
    acted = allowed("UserActionButton", role)
    dave_now, bob_now = state.membership(group, dave), state.membership(group, bob)
    assert (dave_now is not None and dave_now.status == "banned") == acted
    assert (bob_now is None) == acted
    assert (state.membership(group, heidi) is None) == acted
