"""The real bot with two VRChat accounts, built from its config, on the simulator and the Discord
stand-in: each bound group is polled by the account that can serve it, and /bridge status says which
and what each account's request budget looks like. The single-account config works as before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.bot import GroupBridgeBot
from bot.cogs.bridge import status_embed
from bot.config import Config, load_config_text
from bot.sandbox.discord import DiscordStandIn
from bot.services.registry import StatusReport
from bot.vrchat.pool import AccountUsage
from tests.discord.conftest import command, first_reply, is_ephemeral
from tests.fixtures.configs import sqlite_url, toml
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ID,
    MOD_ROLE_ID,
    REQUESTS_CHANNEL_ID,
    TOKEN,
    connected_bot,
)
from tests.fixtures.vrchat_accounts import (
    ALPHA,
    BRAVO,
    PASSWORDS,
    TwoAccounts,
    alpha_vrchat,
    by_account,
)


def config_for(two: TwoAccounts, tmp_path: Path, *, second_account: bool) -> Config:
    bound = [two.only_a, two.only_b, two.both, two.neither] if second_account else [two.only_a]
    bindings = [
        {
            "group_id": g.id,
            "guild_id": GUILD_ID,
            "feed_channel_id": FEED_CHANNEL_ID,
            "requests_channel_id": REQUESTS_CHANNEL_ID,
            "moderator_role_ids": [MOD_ROLE_ID],
        }
        for g in bound
    ]
    bravo = {
        "username": BRAVO,
        "password": PASSWORDS[BRAVO],
        "totp_secret": two.totp[BRAVO],
        "session_file": tmp_path / "bravo-session.json",
        "requests_per_second": 5,
    }
    text = toml(
        vrchat=alpha_vrchat(two, tmp_path / "alpha-session.json", requests_per_second=10),
        discord={"token": TOKEN, "guild_ids": [GUILD_ID]},
        database={"url": sqlite_url(tmp_path)},
        feed={"poll_interval_seconds": 0.5},
        groups=[{"id": g.id, "name": g.name} for g in two.groups],
        bindings=bindings,
        accounts=[bravo] if second_account else [],
    )
    return load_config_text(text, env={})


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)


def polled(bot: GroupBridgeBot, *group_ids: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        cursors = [await bot.store.get_cursor(g) for g in group_ids]
        return all(c is not None and c.last_poll_at is not None for c in cursors)

    return check


def fields(message: dict[str, Any]) -> dict[str, str]:
    (embed,) = message["embeds"]
    return {f["name"]: f["value"] for f in embed["fields"]}


@pytest.mark.slow  # the whole bot (its own store and migrations) waiting for real polls
async def test_groups_are_polled_by_their_account_and_status_shows_it(
    two: TwoAccounts, gateway_standin: DiscordStandIn, tmp_path: Path
) -> None:
    config = config_for(two, tmp_path, second_account=True)
    served = (two.only_a.id, two.only_b.id, two.both.id)
    async with connected_bot(gateway_standin, GroupBridgeBot(config)) as bot:
        await wait_until(polled(bot, *served, two.neither.id), "every bound group polled")
        await command(gateway_standin, "vrc", "requests", {"group": two.only_b.id}, who=MOD_ID)
        status = first_reply(await command(gateway_standin, "bridge", "status", {}, who=ADMIN_ID))
        unserved_error = (await bot.store.get_cursor(two.neither.id)).last_error  # type: ignore[union-attr]

    shown = fields(status)
    assert is_ephemeral(status)
    assert f"served by VRChat account {ALPHA}" in shown[two.only_a.name].replace("\\", "")
    assert f"served by VRChat account {BRAVO}" in shown[two.only_b.name].replace("\\", "")
    assert f"served by VRChat account {ALPHA}" in shown[two.both.name].replace("\\", "")
    assert "no VRChat account of the bot is a member" in shown[two.neither.name]
    assert unserved_error is not None and "No VRChat account can serve" in unserved_error
    alpha_line, bravo_line = shown["VRChat accounts"].replace("\\", "").splitlines()
    assert alpha_line.startswith(f"{ALPHA}: ") and alpha_line.endswith(
        "/600 requests in the last minute, 2 groups"
    )
    assert bravo_line.startswith(f"{BRAVO}: ") and bravo_line.endswith(
        "/300 requests in the last minute, 1 group"
    )
    assert int(bravo_line.split(": ")[1].split("/")[0]) > 0  # its logins and polls are counted
    for secret in (*PASSWORDS.values(), *two.totp.values()):
        assert secret not in json.dumps(status)

    expected = {two.only_a.id: two.alpha.id, two.only_b.id: two.bravo.id, two.both.id: two.alpha.id}
    for group_id, user_id in expected.items():
        assert set(by_account(two.sim, rf"^/groups/{group_id}/(auditLogs|requests)$")) == {user_id}
    assert by_account(two.sim, rf"^/groups/{two.neither.id}/(auditLogs|requests)$") == {}


@pytest.mark.slow  # the whole bot (its own store and migrations) waiting for a real poll
async def test_a_single_account_config_works_as_before(
    two: TwoAccounts, gateway_standin: DiscordStandIn, tmp_path: Path
) -> None:
    config = config_for(two, tmp_path, second_account=False)
    async with connected_bot(gateway_standin, GroupBridgeBot(config)) as bot:
        await wait_until(polled(bot, two.only_a.id), "the bound group polled")
        status = first_reply(await command(gateway_standin, "bridge", "status", {}, who=ADMIN_ID))

    shown = fields(status)
    assert "served by" not in json.dumps(status)  # one account: nothing to choose, nothing to say
    (line,) = shown["VRChat accounts"].replace("\\", "").splitlines()
    assert line.startswith(f"{ALPHA}: ") and "/600 requests in the last minute" in line
    assert shown["VRChat session"] == f"OK ({two.alpha.id})"
    assert len(two.sim.requests_to("GET", rf"^/groups/{two.only_a.id}$")) == 0  # never asked who can serve
    assert set(by_account(two.sim)) == {two.alpha.id}


def test_a_blocked_account_is_named_with_the_fix() -> None:
    report = StatusReport(
        guild_id=GUILD_ID,
        generated_at=datetime.now(UTC),
        vrchat_user_id=None,
        session_blocked=True,
        groups=(),
        channels=(),
        gaps=(),
        accounts=(
            AccountUsage(ALPHA, "usr_a", False, 2, 17, 60),
            AccountUsage(BRAVO, None, True, 1, 0, 60),
        ),
    )
    embed = status_embed(report)
    accounts = next(f.value for f in embed.fields if f.name == "VRChat accounts")
    alpha_line, bravo_line = accounts.replace("\\", "").splitlines()
    assert alpha_line == f"{ALPHA}: 17/60 requests in the last minute, 2 groups"
    assert "session expired: run `groupbridge login --account` with this name" in bravo_line


def test_recent_problems_of_another_server_are_not_shown() -> None:
    from bot.cogs.bridge import about_this_server
    from bot.services.bindings import GroupStatus
    from bot.store import Binding

    mine, theirs = "grp_11111111-1111-1111-1111-111111111111", "grp_22222222-2222-2222-2222-222222222222"
    feed, other_feed = 1_300_000_000_000_000_111, 1_300_000_000_000_000_999
    binding = Binding(1, mine, GUILD_ID, feed, None, (), (), False, None, "command", datetime.now(UTC))
    group = GroupStatus(mine, "Mine", (binding,), None, None, None, None, None)
    report = StatusReport(GUILD_ID, datetime.now(UTC), "usr_a", False, (group,), (), ())
    lines = [
        (1.0, f"Audit log poll of {mine} failed: 503"),
        (2.0, f"Audit log poll of {theirs} failed: 503"),  # another community's group
        (3.0, f"Could not show join request usr_x in {other_feed}: 403"),  # another server's channel
        (4.0, f"Feed channel {feed} paused: Missing Permissions"),
        (5.0, "VRChat rate limit: waiting 30 s"),  # the account's trouble is everyone's
    ]
    shown = [text for _, text in about_this_server(report, lines)]
    assert shown == [lines[0][1], lines[3][1], lines[4][1]]
