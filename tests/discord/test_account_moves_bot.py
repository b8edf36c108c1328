"""The real bot with two VRChat accounts: when the account serving a group loses the audit log there
in VRChat, the running bot moves the group to the other account without a restart, tells the feed
channel once, carries on with the feed through the new account, and /bridge status names it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.bot import GroupBridgeBot
from bot.feed.account_moves import TITLE
from bot.sandbox.discord import DiscordStandIn
from tests.discord.conftest import command, first_reply
from tests.discord.test_accounts_status import config_for, fields, polled, wait_until
from tests.fixtures.discord_gateway import ADMIN_ID, FEED_CHANNEL_ID, connected_bot
from tests.fixtures.vrchat_accounts import ALPHA, BRAVO, PASSWORDS, TwoAccounts, by_account


def notices(standin: DiscordStandIn) -> list[str]:
    return [
        str(e.get("description"))
        for m in standin.messages(FEED_CHANNEL_ID)
        for e in m.embeds
        if e.get("title") == TITLE
    ]


def feed_text(standin: DiscordStandIn) -> str:
    return json.dumps([m.embeds for m in standin.messages(FEED_CHANNEL_ID)])


@pytest.mark.slow  # the real bot's feed running until the group moves
async def test_the_running_bot_moves_a_group_whose_account_lost_the_audit_log(
    two: TwoAccounts, gateway_standin: DiscordStandIn, tmp_path: Path
) -> None:
    config = config_for(two, tmp_path, second_account=True)
    state, group = two.sim.state, two.both
    audit_polls = rf"^/groups/{group.id}/auditLogs$"
    async with connected_bot(gateway_standin, GroupBridgeBot(config)) as bot:
        await wait_until(polled(bot, group.id), "the shared group polled")
        assert set(by_account(two.sim, audit_polls)) == {two.alpha.id}
        state.add_audit_entry(group.id, "group.update", two.stranger.id, group.id, "before the move")
        await wait_until(seen(lambda: "before the move" in feed_text(gateway_standin)), "the entry posted")

        role = state.add_role(group.id, "Invites only", permissions=["group-invites-manage"])
        state.add_member(group.id, two.alpha.id, [role.id])  # in VRChat, Alpha's role loses the log
        state.add_audit_entry(group.id, "group.update", two.stranger.id, group.id, "after the move")
        await wait_until(seen(lambda: "after the move" in feed_text(gateway_standin)), "the next entry")
        await wait_until(seen(lambda: len(notices(gateway_standin)) == 1), "the notice posted")
        status = first_reply(await command(gateway_standin, "bridge", "status", {}, who=ADMIN_ID))

    (notice,) = notices(gateway_standin)
    assert f"**{BRAVO}** instead of **{ALPHA}**" in notice.replace("\\", "")
    assert f"served by VRChat account {BRAVO}" in fields(status)[group.name].replace("\\", "")
    polls = by_account(two.sim, audit_polls)
    assert two.bravo.id in polls
    # Once Bravo polled the group, Alpha never did again.
    first_by_bravo = min(r.at for r in polls[two.bravo.id])
    assert all(r.at < first_by_bravo for r in polls[two.alpha.id])
    text = feed_text(gateway_standin)
    assert text.count("before the move") == 1 and text.count("after the move") == 1
    assert not any(secret in text for secret in PASSWORDS.values())


def seen(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def checked() -> bool:
        return check()

    return checked
