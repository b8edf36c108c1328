"""The ◂ Prev / Next ▸ of a `/vrc history` reply through the real bot on the Discord stand-in: they
page on after a restart (a fresh bot on the same database), serve only the moderator who opened the
reply while they still moderate, and say so in one line when the pager was forgotten."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.desk.service import NOT_OPENER, PAGER_GONE
from bot.sandbox.discord import DiscordStandIn, ExchangeEvent, StandInMessage
from bot.store import Store
from bot.store.history_pagers import PAGER_KEPT, HistoryPager
from bot.store.models import HistoryPagerRow
from tests.discord.conftest import click, command, component_id, components, is_ephemeral
from tests.discord.test_desk import field_lines, mirror_history
from tests.fixtures.discord_gateway import GUILD_ID, MOD_ID, MOD_ROLE_ID
from tests.fixtures.vrchat_sim import SeededSim

pytestmark = pytest.mark.usefixtures("every_message_ephemeral_without_mentions")

OTHER_MOD_ID = 1_300_000_000_000_000_077


async def _open(standin: DiscordStandIn, user: str) -> StandInMessage:
    shown = await command(standin, "vrc", "history", {"user": user})
    assert shown.callback is not None and shown.callback.message is not None
    return shown.callback.message


async def _press(standin: DiscordStandIn, message: object, label: str, who: int = MOD_ID) -> ExchangeEvent:
    return await (await click(standin, component_id(message, label), message, who=who)).wait(10)


def _pager_id(message: object) -> int:
    found = re.fullmatch(r"gb:hp:([0-9]+):[0-9]+", component_id(message, "Next ▸"))
    assert found, components(message)
    return int(found[1])


async def _pager(store: Store, message: object) -> HistoryPager | None:
    return await store.history_pager(_pager_id(message), now=datetime.now(UTC))


def _title(event: ExchangeEvent) -> str:
    return str(event.data["embeds"][0]["title"])


async def test_the_pager_pages_on_and_back_after_a_restart(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    async with make_bot() as bot:
        newest_first = await mirror_history(bot.store, seeded_sim.group.id, carol, 25)
        first = await _open(gateway_standin, carol)
        second = await _press(gateway_standin, first, "Next ▸")
        assert "page 2" in _title(second) and field_lines(second.data) == newest_first[10:20]
    async with make_bot() as restarted:  # a new process: no view of the first one is left
        third = await _press(gateway_standin, second.message, "Next ▸")
        assert third.type == 7 and "page 3" in _title(third)
        assert field_lines(third.data) == newest_first[20:]
        prev_button, next_button = components(third.message)
        assert next_button.get("disabled") is True and not prev_button.get("disabled")
        back = await _press(gateway_standin, third.message, "◂ Prev")
        assert "page 2" in _title(back) and field_lines(back.data) == newest_first[10:20]
        start = await _press(gateway_standin, back.message, "◂ Prev")
        assert "page 1" in _title(start) and field_lines(start.data) == newest_first[:10]
        assert components(start.message)[0].get("disabled") is True
        # The very first reply's Next still works too, and the pager learnt each page once.
        again = await _press(gateway_standin, first, "Next ▸")
        assert field_lines(again.data) == newest_first[10:20]
        pager = await _pager(restarted.store, first)
        assert pager is not None and len(pager.cursors) == 3 and pager.cursors[0] is None


async def test_another_moderator_and_a_demoted_opener_are_refused_and_nothing_changes(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    gateway_standin.add_member(GUILD_ID, OTHER_MOD_ID, "other moderator", (MOD_ROLE_ID,))
    async with make_bot() as bot:
        await mirror_history(bot.store, seeded_sim.group.id, carol, 15)
        first = await _open(gateway_standin, carol)
        before = await _pager(bot.store, first)
        refused = await _press(gateway_standin, first, "Next ▸", who=OTHER_MOD_ID)
        assert refused.data["content"] == NOT_OPENER and is_ephemeral(refused.data)
        assert "embeds" not in refused.data
        opener = gateway_standin.member(GUILD_ID, MOD_ID)
        opener.role_ids = ()
        gateway_standin.state.guilds[GUILD_ID].refresh_permissions()
        demoted = await _press(gateway_standin, first, "Next ▸")
        assert "moderator roles" in demoted.data["content"] and "embeds" not in demoted.data
        assert await _pager(bot.store, first) == before  # not even used_at moved


async def test_a_forgotten_pager_says_so_and_changes_nothing(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    async with make_bot() as bot:
        await mirror_history(bot.store, seeded_sim.group.id, carol, 15)
        first = await _open(gateway_standin, carol)
        forgotten = _pager_id(first)
        # A week later someone opens a history: the unused pager goes on the way.
        later = await bot.store.open_history_pager(
            guild_id=GUILD_ID,
            group_id=seeded_sim.group.id,
            user_id=carol,
            opener_discord_id=MOD_ID,
            cursors=[None],
            now=datetime.now(UTC) + PAGER_KEPT * 2,
        )
        assert await bot.store.history_pager(forgotten, now=datetime.now(UTC)) is None
        answer = await _press(gateway_standin, first, "Next ▸")
        assert answer.data["content"] == PAGER_GONE and is_ephemeral(answer.data)
        assert await bot.store.history_pager(later.id, now=later.used_at) == later


async def _pagers(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(HistoryPagerRow)) or 0)


async def test_a_history_of_one_page_keeps_no_pager(
    make_bot, gateway_standin: DiscordStandIn, seeded_sim: SeededSim
) -> None:
    carol = seeded_sim.requester.id
    async with make_bot() as bot:
        await mirror_history(bot.store, seeded_sim.group.id, carol, 3)
        first = await _open(gateway_standin, carol)
        assert [c.get("disabled") for c in components(first)] == [True, True]
        assert await _pagers(bot.store) == 0
        await mirror_history(bot.store, seeded_sim.group.id, carol, 12)
        await _open(gateway_standin, carol)
        assert await _pagers(bot.store) == 1
