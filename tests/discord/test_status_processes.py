"""/bridge status with several bot processes: every process's row in the process table shows (role,
accounts with their budget use, this server's groups only, session and pipeline), this process's
own from the moment of asking, and a process that fell silent is marked so. With one process the
status is as before, and a crashed predecessor's row on SQLite is gone at start."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.bot import GroupBridgeBot
from bot.cogs.bridge import status_embed
from bot.sandbox.discord import DiscordStandIn
from bot.services.processes import AccountLine, ProcessLine
from bot.services.registry import StatusReport
from bot.store import ProcessAccount, Store
from bot.text import FIELD_VALUE_LIMIT, text_units
from tests.discord.conftest import command, first_reply
from tests.discord.test_accounts_status import config_for, polled, wait_until
from tests.fixtures.bridge import BotFactory
from tests.fixtures.discord_gateway import ADMIN_ID, GUILD_ID, connected_bot
from tests.fixtures.vrchat_accounts import ALPHA, BRAVO, TwoAccounts
from tests.fixtures.vrchat_sim import SeededSim

OTHER_GROUP = "grp_99999999-9999-9999-9999-999999999999"  # another community's group
WORKER, SILENT = "host-b:202:bbbbbb", "host-c:303:cccccc"
PROCESSES = "Bot processes (2 running, 1 silent)"


def fields(message: dict[str, Any]) -> dict[str, str]:
    (embed,) = message["embeds"]
    return {f["name"]: f["value"] for f in embed["fields"]}


def unescaped(text: str) -> str:
    return text.replace("\\", "")


async def write_as_another_process(
    store: Store, owner: str, role: str, *, minutes_ago: float, **row: Any
) -> None:
    """A row as another process writes it: through its own connection, on its own clock."""
    url = store.engine.url.render_as_string(hide_password=False)
    other = await Store.open(url, clock=lambda: datetime.now(UTC) - timedelta(minutes=minutes_ago))
    try:
        await other.report_process(owner, role, datetime.now(UTC) - timedelta(hours=1), **row)
    finally:
        await other.close()


async def test_status_shows_each_process_and_marks_the_silent_one(
    make_bot: BotFactory, gateway_standin: DiscordStandIn, seeded_sim: SeededSim, bot_store: Store
) -> None:
    mine = seeded_sim.group.id
    # A crashed predecessor's row: on SQLite no other process can be running, so it goes at start,
    # and this process writes none (nobody else could read it; the status shows its snapshot).
    await write_as_another_process(
        bot_store, "host-a:101:aaaaaa", "all", minutes_ago=5, groups=[], accounts=[]
    )
    async with make_bot() as bot:
        alone = first_reply(await command(gateway_standin, "bridge", "status", {}, who=ADMIN_ID))
        assert await bot_store.list_process_states() == []

        serving = ProcessAccount(ALPHA, "usr_alpha", 42, 300, (mine, OTHER_GROUP), False, pipeline=True)
        # Why it blocked names the other community's group: not for this server's eyes.
        blocked = ProcessAccount(
            BRAVO, None, 3, 300, (OTHER_GROUP,), True, f"VRChat said 401 in {OTHER_GROUP}"
        )
        await write_as_another_process(
            bot_store,
            WORKER,
            "worker",
            minutes_ago=0,
            groups=[mine, OTHER_GROUP],
            accounts=[serving, blocked],
        )
        await write_as_another_process(
            bot_store, SILENT, "worker", minutes_ago=10, groups=[mine], accounts=[serving]
        )
        status = first_reply(await command(gateway_standin, "bridge", "status", {}, who=ADMIN_ID))
        owner = bot.processes.owner  # type: ignore[union-attr]
    gone = [s.owner for s in await bot_store.list_process_states()]

    assert "Bot processes" not in json.dumps(alone) and "VRChat session" in fields(alone)
    shown = fields(status)
    assert "VRChat accounts" not in shown  # this process's accounts are among the processes now
    assert alone["embeds"][0]["color"] == discord.Colour.green().value
    assert status["embeds"][0]["color"] == discord.Colour.orange().value  # a process went silent
    this, own_account, worker_head, alpha, bravo, silent = unescaped(shown[PROCESSES]).splitlines()
    assert this == f"**all** {owner} (this process): the Discord gateway, polls 0 of this server's groups"
    user_id = bot.vrchat.user_id
    assert own_account == f"• {user_id}: requests not counted, 0 of this server's groups; session OK"
    assert worker_head == f"**worker** {WORKER}: polls 1 of this server's groups"
    assert alpha == (
        f"• {ALPHA}: 42/300 requests in the last minute, 1 of this server's groups; session OK; "
        "pipeline connected"
    )
    assert bravo == (
        f"• {BRAVO}: 3/300 requests in the last minute, 0 of this server's groups; session expired: "
        "run `groupbridge login --account` with this name"
    )
    assert silent == f"⚠ **worker** {SILENT}: silent, last heard 10 min ago (stopped or stalled)"
    assert OTHER_GROUP not in json.dumps(status)
    assert owner not in gone  # a clean stop takes its row away


@pytest.mark.slow  # the real bot on two accounts, waiting for each group's first poll
async def test_a_single_process_reports_its_accounts_groups_and_budget(
    two: TwoAccounts, gateway_standin: DiscordStandIn, tmp_path: Path
) -> None:
    config = config_for(two, tmp_path, second_account=True)
    served = (two.only_a.id, two.only_b.id, two.both.id)
    async with connected_bot(gateway_standin, GroupBridgeBot(config)) as bot:
        await wait_until(polled(bot, *served), "every servable group polled")
        assert bot.processes is not None
        await bot.processes.report()  # the heartbeat, now rather than in 15 s
        (row,) = await bot.store.list_process_states()

    assert row.owner == bot.processes.owner and row.role == "all"
    assert set(served) <= set(row.groups)
    alpha, bravo = row.accounts
    assert (alpha.name, alpha.budget, set(alpha.groups)) == (ALPHA, 600, {two.only_a.id, two.both.id})
    assert (bravo.name, bravo.budget, bravo.groups) == (BRAVO, 300, (two.only_b.id,))
    assert alpha.used is not None and alpha.used > 0 and not alpha.session_blocked


def process(owner: str, accounts: int) -> ProcessLine:
    account = AccountLine("account-" + "x" * 50, None, 1, 60, 2, False, None, True)
    return ProcessLine(owner, "worker", False, timedelta(seconds=5), 3, (account,) * accounts)


def test_many_processes_are_clipped_to_whole_ones_with_a_count() -> None:
    report = StatusReport(GUILD_ID, datetime.now(UTC), "usr_a", False, (), (), ())
    processes = [process(f"host-{i}:{i}:abcdef", accounts=2) for i in range(30)]
    embed = status_embed(report, (), processes)
    (value,) = [f.value or "" for f in embed.fields if (f.name or "").startswith("Bot processes")]
    assert text_units(value) <= FIELD_VALUE_LIMIT
    last = value.splitlines()[-1]
    shown = sum(1 for line in value.splitlines() if line.startswith("**worker**"))
    assert last == f"… {30 - shown} more processes not shown" and 1 < shown < 30
