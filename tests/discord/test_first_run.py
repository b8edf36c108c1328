"""A first run that explains itself, through the real bot on the VRChat simulator and the Discord
stand-in: `/bridge link` and `/bridge status` name a permission the bot's VRChat account lacks, the
status shows a blocked session as such, and the logs speak to operators."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.bot import GroupBridgeBot
from bot.config import Config, load_config, load_config_text
from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.vrchat import SimGroup
from bot.services import bindings as binding_service
from bot.store import BindingIn, Store
from bot.vrchat import VRChatClient
from tests.discord.conftest import OTHER_FEED_ID, command, first_reply, is_ephemeral, link
from tests.fixtures.bridge import BotFactory
from tests.fixtures.configs import config_toml
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
    REQUESTS_CHANNEL_ID,
    connected_bot,
)
from tests.fixtures.logs import SecretLogCapture
from tests.fixtures.vrchat_sim import SeededSim, bot_client
from tests.test_run_process import write_config

AUDIT_LINE = "lacks group-audit-view (the audit-log feed) in this group"


def partial_group(seeded: SeededSim, name: str, *permissions: str) -> SimGroup:
    """A group someone else owns, where the bot account holds a role with only `permissions`."""
    state = seeded.sim.state
    group = state.add_group(name, short_code=name[:5].upper(), owner_id=seeded.outsider.id)
    role = state.add_role(group.id, "Bot", permissions=list(permissions))
    state.add_member(group.id, seeded.bot.id, [role.id])
    return group


def config_for(seeded: SeededSim, tmp_path: Path, *groups: SimGroup) -> Config:
    """The seeded group and `groups` allowed; no password or TOTP secret (the session file serves)."""
    allowed = [{"id": g.id, "name": g.name} for g in (seeded.group, *groups)]
    text = config_toml(seeded, tmp_path, vrchat={"password": None, "totp_secret": None}, groups=allowed)
    return load_config_text(text, env={})


def fields(message: dict[str, Any]) -> dict[str, str]:
    (embed,) = message["embeds"]
    return {f["name"]: f["value"] for f in embed["fields"]}


async def status(standin: DiscordStandIn) -> dict[str, str]:
    reply = first_reply(await command(standin, "bridge", "status", {}, who=ADMIN_ID))
    assert is_ephemeral(reply)
    return fields(reply)


# --- /bridge link and /bridge status name what the bot's VRChat account lacks ---------------------------


async def test_link_warns_of_a_missing_permission_and_status_names_it(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    tmp_path: Path,
    make_bot: BotFactory,
    other_feed: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests_only = partial_group(seeded_sim, "Requests Only", "group-invites-manage")
    config = config_for(seeded_sim, tmp_path, requests_only)
    async with make_bot(config) as bot:
        linked = first_reply(await link(gateway_standin, requests_only.id, other_feed))
        shown = await status(gateway_standin)
        asked = len(seeded_sim.sim.requests_to("GET", rf"^/groups/{requests_only.id}$"))

    # Linked all the same (an operator may fix the role later), with the reason it will not work yet.
    assert is_ephemeral(linked)
    assert linked["content"].startswith("Linked Requests Only to <#")
    assert AUDIT_LINE in linked["content"] and "give its group role that permission" in linked["content"]
    assert "group-invites-manage" not in linked["content"]  # it has that one
    assert [b.group_id for b in await bot.store.list_bindings(channel_id=OTHER_FEED_ID)] == [requests_only.id]
    assert AUDIT_LINE in shown["Requests Only"]
    assert "⚠" in shown["Requests Only"] and "VRChat said so" in shown["Requests Only"]
    assert "⚠" not in shown["Test Group"]  # the bot owns that one
    assert asked == 1  # the link's own look; a fresh check is not asked for again at once

    # After a restart the link's record still tells; once the role is fixed, a later status says so.
    async with make_bot(config):
        assert AUDIT_LINE in (await status(gateway_standin))["Requests Only"]
        role = next(iter(seeded_sim.sim.state.groups[requests_only.id].roles.values()))
        role.permissions.append("group-audit-view")
        monkeypatch.setattr(binding_service, "RECHECK_AFTER", timedelta(0))
        fixed = await status(gateway_standin)
    assert "⚠" not in fixed["Requests Only"]


async def test_link_names_both_permissions_when_the_bot_is_no_member(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    tmp_path: Path,
    make_bot: BotFactory,
    other_feed: object,
) -> None:
    stranger = seeded_sim.sim.state.add_group("Stranger", short_code="STRNG", owner_id=seeded_sim.outsider.id)
    async with make_bot(config_for(seeded_sim, tmp_path, stranger)):
        linked = first_reply(await link(gateway_standin, stranger.id, other_feed))
        shown = await status(gateway_standin)
    assert "The bot's VRChat account is not a member of this group" in linked["content"]
    assert "group-audit-view and group-invites-manage" in linked["content"]
    assert "is not a member of this group" in shown["Stranger"]


async def test_a_refused_poll_names_the_permission_in_the_log_and_the_status(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    bot_store: Store,
    bot_vrchat: VRChatClient,
    tmp_path: Path,
    secret_log_capture: SecretLogCapture,
) -> None:
    requests_only = partial_group(seeded_sim, "Requests Only", "group-invites-manage")
    await bot_store.add_binding(BindingIn(requests_only.id, GUILD_ID, FEED_CHANNEL_ID, REQUESTS_CHANNEL_ID))
    config = config_for(seeded_sim, tmp_path, requests_only)
    bot = GroupBridgeBot(config, bot_vrchat, bot_store, run_feed=True)
    async with connected_bot(gateway_standin, bot):
        await bot.feed.run_once()  # type: ignore[union-attr]
        shown = await status(gateway_standin)

    warnings = [r.getMessage() for r in secret_log_capture.records if r.name == "bot.feed.poller"]
    expected = (
        f"Audit log poll of {requests_only.id} failed: VRChat refused to show the audit log: the bot's "
        "VRChat account is not a member of the group, or its group role lacks the group-audit-view "
        "permission (the audit-log feed)"
    )
    assert expected in warnings
    assert not [w for w in warnings if "VRChat answered 403" in w and "failed" in w]  # raw text: DEBUG
    assert "last error: VRChat refused to show the audit log" in shown["Requests Only"]
    assert "group-audit-view permission" in shown["Requests Only"]


# --- /bridge status while the session is blocked ---------------------------------------------------------


async def test_status_shows_a_blocked_session_renders_code_and_collapses_repeats(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    bot_store: Store,
    bot_vrchat: VRChatClient,
    tmp_path: Path,
) -> None:
    config = config_for(seeded_sim, tmp_path)
    # What `groupbridge login` left (bot_vrchat logged in), reused by a bot that cannot answer 2FA.
    async with bot_client(seeded_sim, tmp_path / "session.json", totp_secret=None) as client:
        await client.login()
        bot = GroupBridgeBot(config, client, bot_store, run_feed=True)
        async with connected_bot(gateway_standin, bot):
            await bot.feed.run_once()  # type: ignore[union-attr]
            healthy = await status(gateway_standin)
            seeded_sim.sim.expire_sessions(forget_devices=True)
            for _ in range(3):
                await bot.feed.run_once()  # type: ignore[union-attr]
            assert client.session_blocked
            blocked = await status(gateway_standin)

    assert healthy["Test Group"].startswith("last poll ")
    group = blocked["Test Group"]
    assert "last poll " not in group  # no call was made: not a poll
    assert group.startswith("polling paused: the VRChat session is blocked (last successful poll ")
    assert blocked["VRChat session"] == "expired, so the bot makes no VRChat calls: run `groupbridge login`"
    # The bot's own `code` is code, not escaped backticks.
    error = next(line for line in group.splitlines() if line.startswith("last error: "))
    assert "`groupbridge login`" in error and "\\`" not in error
    problems = blocked["Recent problems (newest first)"].splitlines()
    polls = [line for line in problems if "Audit log poll of" in line]
    # Failed polls, two different sentences: the repeated one said once, with how often (the mirror's
    # own loop may have polled too, so "at least twice").
    assert len(polls) == 2, problems
    repeated = re.match(r"\d+ s ago \(×(\d+)\): ", polls[0])
    assert repeated and int(repeated.group(1)) >= 2, polls[0]
    assert "has expired; run `groupbridge login`." in polls[0]
    assert "(×" not in polls[1] and "needs a person" in polls[1]
    assert "\\`" not in json.dumps(problems)


# --- what the logs say to operators ----------------------------------------------------------------------


async def test_sync_logs_no_warning_about_the_guilds_intent(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    tmp_path: Path,
    secret_log_capture: SecretLogCapture,
) -> None:
    from bot import app

    config = load_config(write_config(seeded_sim, gateway_standin, tmp_path))
    assert await app.sync_commands(config) == 0
    assert gateway_standin.synced_commands(GUILD_ID)  # it did sync
    warnings = [r.getMessage() for r in secret_log_capture.records if r.levelname == "WARNING"]
    assert not [w for w in warnings if "intent" in w.lower()], warnings


@pytest.mark.slow  # the feed loops run until an entry goes through
async def test_start_up_lines_are_plain_sentences_and_internals_are_debug(
    seeded_sim: SeededSim,
    gateway_standin: DiscordStandIn,
    tmp_path: Path,
    secret_log_capture: SecretLogCapture,
) -> None:
    text = write_config(seeded_sim, gateway_standin, tmp_path).read_text(encoding="utf-8")
    text = text.replace('backfill = "last"', 'backfill = "none"').replace(
        "[feed]", "[feed]\npoll_interval_seconds = 0.2"
    )
    config = load_config_text(text, env={})
    gid = seeded_sim.group.id
    new_entry = f"Audit log of {gid}: 1 new entry, queued for the feed."
    async with connected_bot(gateway_standin, GroupBridgeBot(config)) as bot:
        async with asyncio.timeout(20):  # the mirror's own loop, as it runs
            while await bot.store.get_cursor(gid) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            seeded_sim.sim.state.add_audit_entry(gid, "group.update", seeded_sim.bot.id, gid, "one change")
            while new_entry not in [r.getMessage() for r in secret_log_capture.records]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    records = secret_log_capture.records
    info = [r.getMessage() for r in records if r.levelname == "INFO" and r.name.startswith("bot")]
    debug = [r.getMessage() for r in records if r.levelname == "DEBUG"]
    assert "Bindings: 1 binding from the config file (1 new); 0 links made with /bridge link." in info
    assert (
        "This process now runs the Discord gateway (slash commands and buttons), the audit-log polling and "
        f"join-request cards of 1 group ({gid}) and the feed delivery to 1 channel ({FEED_CHANNEL_ID})."
    ) in info
    assert f"Audit log of {gid}: mirrored from now on (feed.backfill = none)." in info
    assert new_entry in info
    internals = ("ConfigSyncResult", "Leases acquired", "member:", "#1", "queued.", "Released")
    assert not [line for line in info if any(word in line for word in internals)], info
    # The internals are still there for whoever turns DEBUG on.
    assert any(line.startswith("Bindings from the config: ConfigSyncResult(added=1") for line in debug)
    assert any(line.startswith("Leases acquired: ") and "gateway#" in line for line in debug)
    # A clean stop gives the gateway back: that is no "lost the gateway" error.
    errors = [r.getMessage() for r in records if r.levelno >= 40]
    assert not errors, errors


# --- rendering -----------------------------------------------------------------------------------------


def test_code_spans_show_as_code_and_the_rest_stays_inert() -> None:
    from bot.cogs._status import collapse, with_code

    assert with_code("run `groupbridge login` now", 100) == "run `groupbridge login` now"
    # Markdown outside a span is escaped; inside it nothing is (Discord shows a span as it is).
    assert with_code("a *b* `c_d\\e` f_g", 100) == "a \\*b\\* `c_d\\e` f\\_g"
    assert with_code("one ` stray", 100) == "one \\` stray"  # unpaired: escaped, no code
    assert "@\u200beveryone" in with_code("`@everyone`", 100)  # no ping, even in code
    # Cut to the limit without ever leaving a span open.
    cut = with_code("aaaa `bbbbbbbbbb` cc", 10)
    assert cut == "aaaa …" and cut.count("`") % 2 == 0
    assert with_code("x" * 50, 10).endswith("…")
    newest_first = [(1.0, "b"), (2.0, "a"), (3.0, "b"), (4.0, "b")]
    assert collapse(newest_first) == [(1.0, "b", 3), (2.0, "a", 1)]
