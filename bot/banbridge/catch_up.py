"""What happened in a server while no bot process was connected to Discord's gateway.

Discord replays nothing to a new gateway session, but its audit log keeps every ban, unban and kick
(for 45 days). The bot keeps, per server, the newest entry it has taken in (a live ban, unban or kick
entry moves it, so does each catch-up); at each connection it reads the entries after that mark,
oldest first, and acts on them as if heard live, an automatic ban credited to the moderator the entry
names. Each action is safe to repeat (a ban already prompted is not prompted again, a kick is keyed by
its entry), and a user's bans and unbans are reduced to the last one, so a ban lifted meanwhile
prompts nothing and an older unban never lifts a newer ban. Entries of other kinds do not move the
mark when heard live, so a catch-up may read a few of them again: it skips them.

Between a lost session and the end of the next one's catch-up (or a RESUME, after which Discord
replays the gap itself) live entries leave the mark alone, so that one heard first cannot move it past
the entries the catch-up is still to read. The first connection to a server only sets the mark: what
happened before the bot watched is not replayed. Changing a server's ban settings moves the mark to
that moment too, so bans made while they were off are not prompted once they are on. Reading the log
needs View Audit Log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import discord

from bot.banbridge.moderators import BanAuthor, author_of

CATCH_UP_LIMIT = 2000  # entries read per server and connection at most (20 requests)
TRACKED = (discord.AuditLogAction.ban, discord.AuditLogAction.unban, discord.AuditLogAction.kick)


@dataclass(frozen=True, slots=True)
class Missed:
    """What the entries after the mark ask for."""

    banned: tuple[tuple[int, BanAuthor | None], ...]  # (user, who banned): the last ban-or-unban is a ban
    unbanned: tuple[int, ...]  # users whose last one is an unban
    kicks: tuple[tuple[int, int], ...]  # (user, audit entry id)
    newest: int | None  # the newest entry read (any kind): the next mark


def missed(entries: Iterable[discord.AuditLogEntry]) -> Missed:
    """The entries reduced to what is still to do, taken in the order they were made."""
    last: dict[int, discord.AuditLogEntry] = {}
    kicks: list[tuple[int, int]] = []
    newest: int | None = None
    for entry in sorted(entries, key=lambda e: e.id):
        newest = max(newest or 0, entry.id)
        target = entry.target.id if entry.target is not None else None
        if target is None or entry.action not in TRACKED:
            continue
        if entry.action is discord.AuditLogAction.kick:
            kicks.append((int(target), entry.id))
        else:
            last.pop(int(target), None)  # keeps the insertion order of the last action
            last[int(target)] = entry
    banned = tuple((u, author_of(e)) for u, e in last.items() if e.action is discord.AuditLogAction.ban)
    unbanned = tuple(u for u, e in last.items() if e.action is discord.AuditLogAction.unban)
    return Missed(banned, unbanned, tuple(kicks), newest)


def now_mark() -> int:
    """A mark for this moment: entries made from now on come after it."""
    return discord.utils.time_snowflake(discord.utils.utcnow())
