"""The `/bridge status` embed, and the bot's recent warnings and errors it shows.

Text the bot writes for operators carries `code` spans (``run `groupbridge login` ``); it may also
carry VRChat's or Discord's own words. `with_code` shows the spans as code and makes the rest inert
markdown, instead of escaping the backticks, which showed the backslashes and no code.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Sequence
from datetime import timedelta

import discord

from bot.logs import redact
from bot.services.bindings import GroupStatus
from bot.services.processes import AccountLine, ProcessLine
from bot.services.registry import StatusReport
from bot.text import ELLIPSIS, FIELD_VALUE_LIMIT, fit_embed, neutralise_mentions, safe_text, text_units

SHOWN_PROBLEMS = 4  # distinct recent problems in the embed
NOTE_ROOM = 40  # kept free in the processes field for "… 3 more processes not shown"
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def age_text(delta: timedelta | None) -> str:
    if delta is None:
        return "never"
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def with_code(value: str, limit: int) -> str:
    """One line of at most `limit` units: `code` spans as Discord code, everything else inert.

    Inside a code span Discord shows every character as it is, backslashes too, so nothing is
    escaped there (a span never holds a backtick: the pattern stops at one); an unpaired backtick
    is escaped with the rest of the text. A span is never cut in two: it is left out whole."""
    text = " ".join(value.split())
    pieces: list[tuple[bool, str]] = []
    position = 0
    for span in _CODE_SPAN.finditer(text):
        pieces += [(False, text[position : span.start()]), (True, span.group(1))]
        position = span.end()
    pieces.append((False, text[position:]))
    out, used = [], 0
    for is_code, piece in pieces:
        if not piece:
            continue
        if is_code:
            rendered = f"`{neutralise_mentions(piece)}`"
        elif piece.strip():
            rendered = safe_text(piece, limit)
        else:
            rendered = piece
        room = limit - used
        if text_units(rendered) > room:
            # Cut plain text (safe_text clips and ends it with "…"); a span that does not fit goes.
            rest = safe_text(piece, room) if not is_code and piece.strip() and room > 1 else ELLIPSIS
            out.append(rest if text_units(rest) <= room else "")
            break
        out.append(rendered)
        used += text_units(rendered)
    return "".join(out)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _login_fix(several: bool) -> str:
    # The account's name stays out of the code span: escaped markdown would show there literally.
    return "run `groupbridge login --account` with this name" if several else "run `groupbridge login`"


def _accounts(report: StatusReport) -> str:
    """One line per account: its requests in the last minute against what its rate allows."""
    lines = []
    for account in report.accounts[:10]:
        name = safe_text(account.name, 60, single_line=True)
        line = (
            f"{name}: {account.used}/{account.budget} requests in the last minute, "
            f"{_plural(account.groups, 'group')}"
        )
        if account.session_blocked:
            line += f"; session expired: {_login_fix(len(report.accounts) > 1)}"
        lines.append(line)
    return "\n".join(lines)


def _process_account(account: AccountLine, several: bool, mine: set[str]) -> str:
    """An account as one process uses it: its budget use there, this server's groups it serves there,
    its session and its pipeline."""
    name = safe_text(account.name or account.user_id or "the VRChat account", 60, single_line=True)
    use = (
        "requests not counted"
        if account.used is None or account.budget is None
        else f"{account.used}/{account.budget} requests in the last minute"
    )
    line = f"• {name}: {use}, {account.groups} of this server's groups; "
    if account.session_blocked:
        problem = account.session_problem or ""
        # Why it blocked is shown only when it names no other server's group.
        why = (
            f" ({with_code(problem, 120)})" if problem and set(_GROUP_ID_RE.findall(problem)) <= mine else ""
        )
        line += f"session expired{why}: {_login_fix(several)}"
    else:
        line += "session OK"
    if account.pipeline is not None:
        line += "; pipeline connected" if account.pipeline else "; pipeline reconnecting"
    return line


def _process_lines(process: ProcessLine, mine: set[str]) -> list[str]:
    role = safe_text(process.role, 20, single_line=True)
    head = f"**{role}** {safe_text(process.owner, 80, single_line=True)}"
    if process.this_process:
        head += " (this process)"
    if process.silent:
        # Its accounts are as old as its row: not worth showing as if current.
        return [f"⚠ {head}: silent, last heard {age_text(process.silent_for)} (stopped or stalled)"]
    works = [] if process.kind == "gateway" else [f"polls {process.groups} of this server's groups"]
    if process.standby:
        works.append("standing by to take over the Discord gateway")
    elif process.kind != "worker":
        works.insert(0, "the Discord gateway")
    work = ", ".join(works)
    several = len(process.accounts) > 1
    return [f"{head}: {work}", *(_process_account(a, several, mine) for a in process.accounts[:10])]


def _processes(report: StatusReport, processes: Sequence[ProcessLine]) -> str:
    """Every process's lines, whole processes as long as they fit in a field, then how many did not."""
    mine = {g.group_id for g in report.groups}
    out: list[str] = []
    for shown, process in enumerate(processes):
        block = "\n".join(_process_lines(process, mine))
        room = FIELD_VALUE_LIMIT - (NOTE_ROOM if shown < len(processes) - 1 else 0)
        if out and text_units("\n".join([*out, block])) > room:
            left = len(processes) - shown
            out.append(f"{ELLIPSIS} {left} more process{'' if left == 1 else 'es'} not shown")
            break
        out.append(block)  # the first whole, however long: fit_embed clips the field at worst
    return "\n".join(out)


def _group_lines(report: StatusReport, group: GroupStatus) -> list[str]:
    if group.session_blocked:
        # Polls still "happen" on schedule, but each stops before calling VRChat: not a poll.
        last_ok = group.last_success_at
        since = f"last successful poll {age_text(report.generated_at - last_ok if last_ok else None)}"
        lines = [f"polling paused: the VRChat session is blocked ({since})"]
    else:
        polled = group.last_poll_at
        lines = [f"last poll {age_text(report.generated_at - polled if polled else None)}"]
    lines.append(f"newest entry {age_text(group.cursor_age)}")
    if group.served_by:
        lines.append(f"served by VRChat account {safe_text(group.served_by, 60, single_line=True)}")
    elif group.unserved:
        lines.append("no VRChat account of the bot is a member with the permissions it needs")
    if group.permission_problem:
        checked = group.permissions_checked_at
        when = f" (VRChat said so {age_text(report.generated_at - checked)})" if checked else ""
        lines.append(f"⚠ {with_code(group.permission_problem, 400)}{when}")
    if group.last_error:
        lines.append(f"last error: {with_code(group.last_error, 300)}")
    return lines


def _session_back(report: StatusReport) -> str:
    """After a lost session came back (within a day): when, and how, so the alarm moderators saw in
    the feed is answered here too."""
    state = report.session
    if report.session_blocked or state is None or state.back_at is None:
        return ""
    since = report.generated_at - state.back_at
    if since > timedelta(days=1):
        return ""
    lost = f", lost {age_text(report.generated_at - state.lost_at)}" if state.lost_at else ""
    return f"\nback {age_text(since)} after {state.back_by or 'a login'}{lost}"


def collapse(lines: Sequence[tuple[float, str]]) -> list[tuple[float, str, int]]:
    """(seconds ago, line, how often) per distinct line, newest first: one poll failing every
    minute is one problem, not four lines of it."""
    seen: dict[str, list[float | int]] = {}
    order: list[str] = []
    for ago, text in lines:
        if text in seen:
            seen[text][1] = int(seen[text][1]) + 1
        else:
            seen[text] = [ago, 1]
            order.append(text)
    return [(float(seen[t][0]), t, int(seen[t][1])) for t in order]


def status_embed(
    report: StatusReport,
    recent: Sequence[tuple[float, str]] = (),
    processes: Sequence[ProcessLine] = (),
) -> discord.Embed:
    """`processes`: every known bot process, this one first (bot.services.processes); with more than
    one, they replace this process's own accounts line."""
    healthy = not report.session_blocked and report.vrchat_user_id and not report.database and not recent
    healthy = healthy and not any(g.permission_problem for g in report.groups)
    healthy = healthy and not any(p.silent for p in processes)
    embed = discord.Embed(
        title="GroupBridge status",
        colour=discord.Colour.green() if healthy and not report.paused_channels else discord.Colour.orange(),
        timestamp=report.generated_at,
    )
    session = (
        "expired, so the bot makes no VRChat calls: run `groupbridge login`"
        if report.session_blocked
        else f"OK ({report.vrchat_user_id})"
    )
    session += _session_back(report)
    embed.add_field(name="VRChat session", value=session, inline=False)
    if report.database:
        embed.add_field(name="Database", value=safe_text(report.database, 300), inline=False)
    if len(processes) > 1:
        silent = sum(1 for p in processes if p.silent)
        name = f"Bot processes ({len(processes) - silent} running{f', {silent} silent' if silent else ''})"
        embed.add_field(name=name, value=_processes(report, processes), inline=False)
    elif report.accounts:
        embed.add_field(name="VRChat accounts", value=_accounts(report), inline=False)
    for group in report.groups[:10]:
        embed.add_field(
            name=safe_text(group.group_name, 100, single_line=True),
            value="\n".join(_group_lines(report, group)),
            inline=False,
        )
    outbox = f"{report.outbox_pending} entries waiting"
    oldest = [c.oldest_pending_age for c in report.channels if c.oldest_pending_age]
    if oldest:
        outbox += f", oldest {age_text(max(oldest))}"
    embed.add_field(name="Feed outbox", value=outbox, inline=False)
    for channel in report.paused_channels[:5]:
        embed.add_field(
            name="Paused feed channel",
            value=f"<#{channel.channel_id}>: {with_code(channel.paused_reason or 'no reason recorded', 300)}",
            inline=False,
        )
    if report.gaps:
        embed.add_field(name="Unannounced gaps", value=str(len(report.gaps)), inline=False)
    if recent:
        lines = []
        for ago, text, count in collapse(recent)[:SHOWN_PROBLEMS]:
            times = f" (×{count})" if count > 1 else ""
            lines.append(f"{age_text(timedelta(seconds=ago))}{times}: {with_code(text, 240)}")
        embed.add_field(name="Recent problems (newest first)", value="\n".join(lines), inline=False)
    return fit_embed(embed)


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
