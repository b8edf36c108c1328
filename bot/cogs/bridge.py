"""`/bridge link|unlink|events|resume|status`: server admins link this server to a VRChat group."""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.cogs._groups import group_autocomplete
from bot.events import EVENT_FAMILIES, FAMILY_DESCRIPTIONS
from bot.logs import redact
from bot.replies import send_ephemeral
from bot.services import StatusReport
from bot.text import fit_embed, safe_text
from bot.views.context import actor_of, services_of

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot


def _age(delta: timedelta | None) -> str:
    if delta is None:
        return "never"
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _accounts(report: StatusReport) -> str:
    """One line per account: its requests in the last minute against what its rate allows."""
    lines = []
    for account in report.accounts[:10]:
        name = safe_text(account.name, 60, single_line=True)
        line = (
            f"{name}: {account.used}/{account.budget} requests in the last minute, "
            f"{account.groups} group{'' if account.groups == 1 else 's'}"
        )
        if account.session_blocked:
            # The name stays out of the code span: escaped markdown would show there literally.
            fix = (
                "groupbridge login --account` with this name"
                if len(report.accounts) > 1
                else "groupbridge login`"
            )
            line += f"; session expired: run `{fix}"
        lines.append(line)
    return "\n".join(lines)


class RecentProblems(logging.Handler):
    """The bot's latest warnings and errors, kept in memory for `/bridge status`.

    Some trouble never reaches the database: a VRChat or Discord rate limit being waited out, a
    Discord 5xx retried, a database too locked to record the failed poll. The log says so as it
    happens, but the admin asking in Discord may have no access to the host's log.
    """

    def __init__(self, keep: int = 50) -> None:
        super().__init__(logging.WARNING)
        self._lines: deque[tuple[float, str]] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                text = f"{text}: {type(exc).__name__}: {exc}"
            # This handler runs before the root handlers' redacting filter: mask secrets here too.
            self._lines.append((record.created, redact(text.strip().splitlines()[0] if text.strip() else "")))
        except Exception:
            self.handleError(record)

    def recent(self, window: float = 600.0, limit: int = 4) -> list[tuple[float, str]]:
        """(seconds ago, line), newest first, of the last ``limit`` lines within ``window`` seconds."""
        now = time.time()
        lines = [(now - at, text) for at, text in reversed(self._lines) if now - at <= window]
        return lines[:limit]


# The bot's own loggers, and discord.py's HTTP one: it warns of each 429 it waits out.
WATCHED_LOGGERS = ("bot", "discord.http")
# One recorder per bot, dropped with it (tests run many bots in one process, one after another).
_RECORDERS: weakref.WeakKeyDictionary[discord.Client, RecentProblems] = weakref.WeakKeyDictionary()


_GROUP_ID_RE = re.compile(r"grp_[0-9A-Za-z-]+")
_SNOWFLAKE_RE = re.compile(r"(?<!\d)\d{17,20}(?!\d)")


def about_this_server(report: StatusReport, lines: Sequence[tuple[float, str]]) -> list[tuple[float, str]]:
    """The lines fit to show this server: none naming another server's group or channel. One bot may
    serve several communities, and their trouble (ids, channels) is theirs. Lines naming no group or
    channel (a VRChat rate limit, a Discord 5xx) concern everyone and stay."""
    groups = {g.group_id for g in report.groups}
    snowflakes = {str(report.guild_id)} | {
        str(i)
        for g in report.groups
        for b in g.bindings
        for i in (b.feed_channel_id, b.requests_channel_id)
        if i
    }
    return [
        (ago, text)
        for ago, text in lines
        if set(_GROUP_ID_RE.findall(text)) <= groups and set(_SNOWFLAKE_RE.findall(text)) <= snowflakes
    ]


def status_embed(report: StatusReport, recent: Sequence[tuple[float, str]] = ()) -> discord.Embed:
    healthy = not report.session_blocked and report.vrchat_user_id and not report.database and not recent
    embed = discord.Embed(
        title="GroupBridge status",
        colour=discord.Colour.green() if healthy and not report.paused_channels else discord.Colour.orange(),
        timestamp=report.generated_at,
    )
    session = (
        "expired: run `groupbridge login`" if report.session_blocked else f"OK ({report.vrchat_user_id})"
    )
    embed.add_field(name="VRChat session", value=session, inline=False)
    if report.database:
        embed.add_field(name="Database", value=safe_text(report.database, 300), inline=False)
    if report.accounts:
        embed.add_field(name="VRChat accounts", value=_accounts(report), inline=False)
    for group in report.groups[:10]:
        lines = [
            f"last poll {_age(report.generated_at - group.last_poll_at if group.last_poll_at else None)}",
            f"newest entry {_age(group.cursor_age)}",
        ]
        if group.served_by:
            lines.append(f"served by VRChat account {safe_text(group.served_by, 60, single_line=True)}")
        elif group.unserved:
            lines.append("no VRChat account of the bot is a member with the permissions it needs")
        if group.last_error:
            lines.append(f"last error: {safe_text(group.last_error, 300)}")
        embed.add_field(
            name=safe_text(group.group_name, 100, single_line=True), value="\n".join(lines), inline=False
        )
    outbox = f"{report.outbox_pending} entries waiting"
    oldest = [c.oldest_pending_age for c in report.channels if c.oldest_pending_age]
    if oldest:
        outbox += f", oldest {_age(max(oldest))}"
    embed.add_field(name="Feed outbox", value=outbox, inline=False)
    for channel in report.paused_channels[:5]:
        embed.add_field(
            name="Paused feed channel",
            value=f"<#{channel.channel_id}>: {safe_text(channel.paused_reason or 'no reason recorded', 300)}",
            inline=False,
        )
    if report.gaps:
        embed.add_field(name="Unannounced gaps", value=str(len(report.gaps)), inline=False)
    if recent:
        lines = [
            f"{_age(timedelta(seconds=ago))}: {safe_text(text, 200, single_line=True)}"
            for ago, text in recent
        ]
        embed.add_field(name="Recent problems (newest first)", value="\n".join(lines), inline=False)
    return fit_embed(embed)


@app_commands.command(name="link", description="Link a VRChat group to this server")
@app_commands.describe(
    group="The group's ID (grp_…) or its vrchat.com link",
    feed="Channel for the group's audit log",
    requests="Channel for join-request cards",
    moderator_role="Role whose members may moderate (admins always can)",
)
async def link(
    interaction: discord.Interaction,
    group: str,
    feed: discord.TextChannel,
    requests: discord.TextChannel | None = None,
    moderator_role: discord.Role | None = None,
) -> None:
    services = services_of(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    binding = await services.bindings.link(
        actor_of(interaction),
        interaction.guild_id or 0,
        group,
        feed.id,
        requests.id if requests else None,
        [moderator_role.id] if moderator_role else [],
    )
    label = safe_text(services.access.group_label(binding.group_id), 100)
    await send_ephemeral(interaction, f"Linked {label}: its audit log will appear in {feed.mention}.")


@app_commands.command(name="unlink", description="Stop mirroring a VRChat group here")
@app_commands.describe(group="The linked VRChat group to unlink from this server")
@app_commands.autocomplete(group=group_autocomplete)
async def unlink(interaction: discord.Interaction, group: str) -> None:
    services = services_of(interaction)
    removed = await services.bindings.unlink(actor_of(interaction), interaction.guild_id or 0, group)
    await send_ephemeral(interaction, f"Unlinked ({len(removed)} feed channel(s)).")


@app_commands.command(name="events", description="Choose which kinds of audit events the feed shows")
@app_commands.describe(
    group="The linked VRChat group whose feed to filter",
    families=f"Comma-separated: {', '.join(EVENT_FAMILIES)}",
)
@app_commands.autocomplete(group=group_autocomplete)
async def events(interaction: discord.Interaction, group: str, families: str) -> None:
    services = services_of(interaction)
    chosen = [f for f in families.split(",") if f.strip()]
    await services.bindings.set_events(actor_of(interaction), interaction.guild_id or 0, group, chosen)
    described = "\n".join(f"• {f}: {FAMILY_DESCRIPTIONS[f.strip().lower()]}" for f in chosen)
    await send_ephemeral(interaction, f"The feed now shows:\n{described}")


@app_commands.command(name="resume", description="Resume a feed channel paused after a Discord error")
@app_commands.describe(channel="The paused feed channel (after fixing the bot's permissions there)")
async def resume(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
    services = services_of(interaction)
    await services.bindings.resume(actor_of(interaction), interaction.guild_id or 0, channel.id)
    await send_ephemeral(interaction, f"Resumed {channel.mention}; waiting entries will be posted.")


@app_commands.command(name="status", description="Session health, polling, outbox and paused channels")
async def status(interaction: discord.Interaction) -> None:
    services = services_of(interaction)
    services.access.require_admin(actor_of(interaction))
    report = await services.bindings.status(interaction.guild_id or 0)
    recorder = _RECORDERS.get(interaction.client)
    recent = about_this_server(report, recorder.recent(limit=50))[:4] if recorder else ()
    await send_ephemeral(interaction, embed=status_embed(report, recent))


async def setup(bot: GroupBridgeBot) -> None:
    recorder = _RECORDERS[bot] = RecentProblems()
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(recorder)
    for command in (link, unlink, events, resume, status):
        bot.groups.bridge.add_command(command)


async def teardown(bot: GroupBridgeBot) -> None:
    recorder = _RECORDERS.pop(bot, None)
    if recorder is not None:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(recorder)
