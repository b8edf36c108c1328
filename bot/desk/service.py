"""A user's history at a glance and moderators' notes, straight from the database (no VRChat call).

No Discord here: plain values in, dataclasses out, ServiceError sentences for the user. Every read
and write checks that the actor moderates the group (bot.services.access), on every command and
click. Notes belong to the server that wrote them (another server bound to the same group does not
see them); the audit history is the group's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.access import GUILD_ONLY, Access
from bot.services.audit import EXPORT_CAP, CsvExport, RowSink
from bot.services.common import (
    ActionLog,
    Actor,
    Clock,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    checked_group_id,
    utcnow,
)
from bot.services.users import require_user_id
from bot.store import EventTally, HistoryItem, InvalidCursorError, ModeratorNote
from bot.store.feature_ports import MemberHistory

NOTE_MAX = 1000  # characters; a note is a moderator's remark, not a report
NOTE_GONE = "There is no such note in this server (it may have been deleted)."
NOTE_REF = re.compile(r"[0-9]{1,18}")  # a note's id as the choices carry it
PAGE_MAX = 25
PAGE_SIZE = 10
# VRChat's request time and its audit entry for the request come from different clocks: an entry this
# close before the request is the request itself, not an earlier one.
SAME_REQUEST = timedelta(minutes=1)
PAGER_GONE = "This history is too old to page; run /vrc history again."
NOT_OPENER = "Only the moderator who opened this history can page through it."


@dataclass(frozen=True, slots=True)
class UserSummary:
    """One line about a user's past in a group, and the server's notes about them."""

    line: str  # "2 earlier requests, rejected once; banned 2026-03-01, unbanned 2026-04-02; 1 note"
    notes: int
    latest_note: ModeratorNote | None
    empty: bool  # nothing in the mirror and no notes


@dataclass(frozen=True, slots=True)
class UserHistory:
    group_id: str
    group_name: str
    user_id: str
    items: tuple[HistoryItem, ...]
    next_cursor: str | None  # the next (older) page; None on the last
    summary: UserSummary


@dataclass(frozen=True, slots=True)
class PagedHistory:
    """Page `number` (from 1) of a history reply whose pages the pager `pager_id` keeps (None: the
    history fits on one page, and there is nothing to page)."""

    history: UserHistory
    pager_id: int | None
    number: int


def note_text(text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidInput("A note needs some text.")
    if len(value) > NOTE_MAX:
        raise InvalidInput(f"The note is {len(value):,} characters long; the limit is {NOTE_MAX:,}.")
    return value


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _happened(verb: str, tally: EventTally | None) -> list[str]:
    if tally is None:
        return []
    if tally.count == 1:
        return [f"{verb} {_day(tally.last_at)}"]
    return [f"{verb} {_times(tally.count)} (last {_day(tally.last_at)})"]


def summary_line(tallies: Mapping[str, EventTally], notes: int, *, earlier: bool) -> str:
    """The facts that matter when deciding about someone, in one line: their requests and how they
    ended, their membership, bans; then the notes. `earlier`: about requests before the current one."""

    def count(*types: str) -> int:
        return sum(tallies[t].count for t in types if t in tallies)

    parts: list[str] = []
    asked = count("group.request.create")
    requests = []
    if asked:
        requests.append(f"{asked} {'earlier ' if earlier else ''}request{'' if asked == 1 else 's'}")
    for outcome, types in (
        ("accepted", ("group.request.accept",)),
        ("rejected", ("group.request.reject",)),
        ("blocked", ("group.request.block",)),
        ("withdrawn", ("group.request.withdraw",)),
    ):
        if n := count(*types):
            requests.append(f"{outcome} {_times(n)}")
    membership = [
        *_happened("joined", tallies.get("group.member.join")),
        *_happened("left", tallies.get("group.member.leave")),
        *_happened("removed", tallies.get("group.member.remove")),
    ]
    bans = [
        *_happened("banned", _either(tallies, "group.user.ban", "group.member.user.ban")),
        *_happened("unbanned", _either(tallies, "group.user.unban", "group.member.user.unban")),
    ]
    parts = [", ".join(p) for p in (requests, membership, bans) if p]
    if notes:
        parts.append(f"{notes} note{'' if notes == 1 else 's'}")
    if not parts:
        return f"No {'earlier ' if earlier else ''}requests, membership changes, bans or notes here."
    return "; ".join(parts)


def _either(tallies: Mapping[str, EventTally], *types: str) -> EventTally | None:
    """Both spellings of one event (bot.events) as one tally."""
    found = [tallies[t] for t in types if t in tallies]
    if not found:
        return None
    return EventTally(
        sum(t.count for t in found), min(t.first_at for t in found), max(t.last_at for t in found)
    )


class DeskService:
    def __init__(
        self, store: MemberHistory, access: Access, actions: ActionLog, clock: Clock = utcnow
    ) -> None:
        self._store = store
        self._access = access
        self._actions = actions
        self._clock = clock

    async def _moderated(self, actor: Actor, group_id: str) -> tuple[str, int]:
        gid = checked_group_id(group_id)
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        await self._access.require_moderator(actor, gid)
        return gid, actor.guild_id

    async def history(
        self,
        actor: Actor,
        group_id: str,
        user_text: str,
        *,
        cursor: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> UserHistory:
        """One page of what the mirror knows about the user in the group, with the notes, newest first."""
        user_id = require_user_id(user_text)
        if not 1 <= page_size <= PAGE_MAX:
            raise InvalidInput(f"A page shows between 1 and {PAGE_MAX} entries.")
        gid, guild_id = await self._moderated(actor, group_id)
        try:
            page = await self._store.user_history(
                guild_id=guild_id,
                group_id=gid,
                user_id=user_id,
                limit=page_size,
                before_cursor=cursor,
            )
        except InvalidCursorError:
            raise InvalidInput("That page is no longer valid; run /vrc history again.") from None
        summary = await self.summary(guild_id, gid, user_id)
        return UserHistory(
            gid,
            self._access.group_label(gid),
            user_id,
            tuple(page.items),
            page.next_cursor,
            summary,
        )

    async def open_history(self, actor: Actor, group_id: str, user_text: str) -> PagedHistory:
        """The first page of the history and, when there are more, a pager that lets its opener page
        on after a restart too. A history of one page writes nothing: reading it stays a read."""
        history = await self.history(actor, group_id, user_text)
        if history.next_cursor is None:
            return PagedHistory(history, None, 1)
        assert actor.guild_id is not None  # history() refuses outside a server
        pager = await self._store.open_history_pager(
            guild_id=actor.guild_id,
            group_id=history.group_id,
            user_id=history.user_id,
            opener_discord_id=actor.user_id,
            cursors=[None, history.next_cursor],
            now=self._clock(),
        )
        return PagedHistory(history, pager.id, 1)

    async def history_page(self, actor: Actor, pager_id: int, number: int) -> PagedHistory:
        """Page `number` of a history reply, for its opener while they moderate the group; the pager
        learns the next page's cursor the first time a page shows there is one."""
        now = self._clock()
        pager = await self._store.history_pager(pager_id, now=now)
        if pager is None:
            raise NotFoundError(PAGER_GONE)
        if pager.opener_discord_id != actor.user_id or pager.guild_id != actor.guild_id:
            raise PermissionDenied(NOT_OPENER)
        if not 1 <= number <= len(pager.cursors):
            raise NotFoundError(PAGER_GONE)  # only a forged button asks for a page not reached
        history = await self.history(actor, pager.group_id, pager.user_id, cursor=pager.cursors[number - 1])
        known = pager.cursors
        if number == len(known) and history.next_cursor is not None:
            known = (*known, history.next_cursor)
        await self._store.history_page_seen(pager.id, seen=pager.cursors, cursors=known, now=now)
        return PagedHistory(history, pager.id, number)

    async def export_csv(
        self, actor: Actor, group_id: str, user_text: str, *, limit: int = EXPORT_CAP
    ) -> CsvExport:
        """The whole history as a CSV file (the audit export's columns, notes included), at most
        `limit` rows (the newest); `capped` says when there were more."""
        user_id = require_user_id(user_text)
        gid, guild_id = await self._moderated(actor, group_id)
        sink = RowSink()
        written = await self._store.export_history_csv(
            sink, guild_id=guild_id, group_id=gid, user_id=user_id, limit=limit + 1
        )
        export = sink.export(written, limit, f"history-{user_id}", self._clock())
        await self._actions.record(actor, gid, "history.export", target_id=user_id, details=export.logged)
        return export

    async def add_note(self, actor: Actor, group_id: str, user_text: str, text: str) -> ModeratorNote:
        """Keep a moderator's note about the user, with who wrote it and when."""
        user_id = require_user_id(user_text)
        body = note_text(text)
        gid, guild_id = await self._moderated(actor, group_id)
        note = await self._store.add_note(
            guild_id=guild_id,
            group_id=gid,
            vrchat_user_id=user_id,
            text=body,
            author_discord_id=actor.user_id,
            author_name=actor.name,
            now=self._clock(),
        )
        await self._actions.record(actor, gid, "note.add", target_id=user_id, details={"note_id": note.id})
        return note

    async def edit_note(self, actor: Actor, note_ref: str, text: str) -> ModeratorNote:
        """Change a note's text (its author, or a member with Manage Server); the action log keeps
        what it said before."""
        body = note_text(text)
        note = await self._changeable_note(actor, note_ref)
        edited = await self._store.edit_note(note.id, body, at=self._clock())
        if edited is None:
            raise NotFoundError(NOTE_GONE)
        await self._actions.record(
            actor, note.group_id, "note.edit", target_id=note.vrchat_user_id,
            details={"note_id": note.id, "before": note.text},
        )  # fmt: skip
        return edited

    async def delete_note(self, actor: Actor, note_ref: str) -> ModeratorNote:
        """Delete a note (its author, or a member with Manage Server); the action log keeps it."""
        note = await self._changeable_note(actor, note_ref)
        if not await self._store.delete_note(note.id):
            raise NotFoundError(NOTE_GONE)
        await self._actions.record(
            actor, note.group_id, "note.delete", target_id=note.vrchat_user_id,
            details={"note_id": note.id, "text": note.text, "author": note.author_name},
        )  # fmt: skip
        return note

    async def notes_to_change(self, actor: Actor, containing: str = "") -> list[ModeratorNote]:
        """The server's newest notes this actor may change, in groups they moderate (the choices of
        /vrc note-edit and note-delete): their own, or every one with Manage Server."""
        if actor.guild_id is None:
            return []
        author = None if actor.manage_guild else actor.user_id
        notes = await self._store.recent_notes(
            actor.guild_id, author_discord_id=author, containing=containing
        )
        moderated: dict[str, bool] = {}
        for group_id in {n.group_id for n in notes}:
            try:
                await self._access.require_moderator(actor, group_id)
                moderated[group_id] = True
            except ServiceError:
                moderated[group_id] = False
        return [n for n in notes if moderated[n.group_id]]

    async def _changeable_note(self, actor: Actor, note_ref: str) -> ModeratorNote:
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        ref = note_ref.strip()
        # ASCII digits, and few enough for the database's integers: "²", "٣" or 6,000 digits are no note.
        if not NOTE_REF.fullmatch(ref):
            raise InvalidInput("Pick the note from the list (its number).")
        note = await self._store.get_note(int(ref))
        if note is None or note.guild_id != actor.guild_id:
            raise NotFoundError(NOTE_GONE)  # another server's note is as unknown as a deleted one
        await self._access.require_moderator(actor, note.group_id)
        if note.author_discord_id != actor.user_id and not actor.manage_guild:
            raise PermissionDenied("Only the note's author or a member with Manage Server can change it.")
        return note

    async def summary(
        self, guild_id: int | None, group_id: str, user_id: str, *, before: datetime | None = None
    ) -> UserSummary:
        """The one-line summary of a user in a group (no permission check: callers show it to those
        who may see it, a moderator's reply or the moderators' requests channel). `before`: only what
        happened before then (a join-request card: before this request); `guild_id` None: no notes."""
        tallies = await self._store.user_event_tallies(group_id, user_id, before=before)
        notes, latest = 0, None
        if guild_id is not None:
            notes = await self._store.note_count(guild_id, group_id, user_id)
            latest = await self._store.latest_note(guild_id, group_id, user_id) if notes else None
        line = summary_line(tallies, notes, earlier=before is not None)
        return UserSummary(line, notes, latest, not tallies and not notes)

    async def card_summary(
        self, group_id: str, user_id: str, channel_id: int, requested_at: datetime | None
    ) -> UserSummary:
        """The summary for a join-request card in `channel_id`: the notes of the server that channel
        belongs to, the history from before this request."""
        bindings = await self._store.list_bindings(group_id=group_id)
        guild_id = next((b.guild_id for b in bindings if b.requests_channel_id == channel_id), None)
        before = requested_at - SAME_REQUEST if requested_at is not None else None
        return await self.summary(guild_id, group_id, user_id, before=before)
