"""A kick in the Discord stand-in: the member leaves, and the audit log's MEMBER_KICK entry reaches a bot
with the Guild Moderation intent only when it may View Audit Log, as discord.py's
`on_audit_log_entry_create` receives it."""

from __future__ import annotations

import discord

from bot.sandbox.discord import DiscordStandIn
from bot.sandbox.discord.guilds import VIEW_AUDIT_LOG
from tests.fixtures.discord_gateway import GUILD_ID, MEMBER_ID, MOD_ID, connected_bot
from tests.sandbox.test_discord_guild_events import event_types, until
from tests.sandbox.test_discord_members import RoleBot


class AuditBot(RoleBot):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[discord.AuditLogEntry] = []

    async def on_audit_log_entry_create(self, entry: discord.AuditLogEntry) -> None:
        self.entries.append(entry)


def allow_audit_log(standin: DiscordStandIn) -> None:
    role = standin.top_role(GUILD_ID, standin.bot_user.id)
    assert role is not None
    role.permissions |= VIEW_AUDIT_LOG
    standin.state.guilds[GUILD_ID].refresh_permissions()


async def test_a_kick_is_an_audit_entry_for_a_bot_that_may_view_the_audit_log(
    gateway_standin: DiscordStandIn,
) -> None:
    allow_audit_log(gateway_standin)
    async with connected_bot(gateway_standin, AuditBot()) as bot:
        await gateway_standin.kick(GUILD_ID, MEMBER_ID, by=MOD_ID, reason="spam")
        await until(lambda: bool(bot.entries), "the kick's audit entry")
        (entry,) = bot.entries
        assert entry.action is discord.AuditLogAction.kick
        assert (entry.user_id, entry.target.id if entry.target else None) == (MOD_ID, MEMBER_ID)
        assert entry.reason == "spam"
        assert bot.guild.get_member(MEMBER_ID) is None
    assert MEMBER_ID not in gateway_standin.state.guilds[GUILD_ID].members


async def test_without_view_audit_log_a_kick_is_only_a_member_leaving(
    gateway_standin: DiscordStandIn,
) -> None:
    async with connected_bot(gateway_standin, AuditBot()) as bot:
        await gateway_standin.kick(GUILD_ID, MEMBER_ID, by=MOD_ID)
        await until(lambda: bot.guild.get_member(MEMBER_ID) is None, "the member to leave")
        assert "GUILD_AUDIT_LOG_ENTRY_CREATE" not in event_types(gateway_standin)
    assert bot.entries == []
