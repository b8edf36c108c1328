"""Moderator notes about VRChat users, per server and group (ModeratorNoteRow).

Plain values in and out; the service checks who may write, change and read them and how long a note
may be. A note keeps its place when its text is edited (created_at stays; edited_at says when): a
page of them is read newest first with the same keyset rule as the audit search (created_at, then
id), so the merged history (bot.store.history) can page through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select

from bot.store._base import StoreBase, from_row, like_escape
from bot.store.models import ModeratorNoteRow


@dataclass(frozen=True, slots=True)
class ModeratorNote:
    id: int
    guild_id: int
    group_id: str
    vrchat_user_id: str
    text: str
    author_discord_id: int
    author_name: str
    created_at: datetime
    edited_at: datetime | None = None


def note_from_row(row: ModeratorNoteRow) -> ModeratorNote:
    return from_row(ModeratorNote, row)


def _about(guild_id: int, group_id: str, user_id: str) -> list[ColumnElement[bool]]:
    n = ModeratorNoteRow
    return [n.guild_id == guild_id, n.group_id == group_id, n.vrchat_user_id == user_id]


class NoteOps(StoreBase):
    async def add_note(
        self,
        *,
        guild_id: int,
        group_id: str,
        vrchat_user_id: str,
        text: str,
        author_discord_id: int,
        author_name: str,
        now: datetime | None = None,
    ) -> ModeratorNote:
        row = ModeratorNoteRow(
            guild_id=guild_id,
            group_id=group_id,
            vrchat_user_id=vrchat_user_id,
            text=text,
            author_discord_id=author_discord_id,
            author_name=author_name,
            created_at=now or self._now(),
        )
        return note_from_row(await self._add(row))

    async def notes_page(
        self,
        guild_id: int,
        group_id: str,
        user_id: str,
        *,
        limit: int,
        before: tuple[datetime, int | None] | None = None,
    ) -> list[ModeratorNote]:
        """Up to `limit` notes, newest first, strictly older than `before` = (created_at, id); an id
        of None leaves out every note of that moment too (the cursor sat on an audit entry, and
        entries sort after the notes of the same moment)."""
        n = ModeratorNoteRow
        conditions = _about(guild_id, group_id, user_id)
        if before is not None:
            at, note_id = before
            older = n.created_at < at
            if note_id is not None:
                older = or_(older, and_(n.created_at == at, n.id < note_id))
            conditions.append(older)
        stmt = select(n).where(*conditions).order_by(n.created_at.desc(), n.id.desc()).limit(limit)
        return await self._all(stmt, note_from_row)

    async def note_count(self, guild_id: int, group_id: str, user_id: str) -> int:
        stmt = select(func.count()).select_from(ModeratorNoteRow).where(*_about(guild_id, group_id, user_id))
        async with self._sessions() as session:
            return int((await session.execute(stmt)).scalar_one())

    async def get_note(self, note_id: int) -> ModeratorNote | None:
        return await self._get(ModeratorNoteRow, note_id, note_from_row)

    async def edit_note(self, note_id: int, text: str, *, at: datetime) -> ModeratorNote | None:
        """The note with its new text; None when it is gone."""
        async with self._sessions.begin() as session:
            row = await session.get(ModeratorNoteRow, note_id)
            if row is None:
                return None
            row.text, row.edited_at = text, at
            return note_from_row(row)

    async def delete_note(self, note_id: int) -> bool:
        return bool(await self._delete(ModeratorNoteRow, ModeratorNoteRow.id == note_id))

    async def recent_notes(
        self, guild_id: int, *, author_discord_id: int | None, containing: str = "", limit: int = 25
    ) -> list[ModeratorNote]:
        """The server's newest notes (only this author's, when given) whose text or user ID holds
        `containing`, for a moderator picking one to change."""
        n = ModeratorNoteRow
        conditions: list[ColumnElement[bool]] = [n.guild_id == guild_id]
        if author_discord_id is not None:
            conditions.append(n.author_discord_id == author_discord_id)
        if needle := containing.strip():
            pattern = f"%{like_escape(needle)}%"
            conditions.append(
                or_(n.text.ilike(pattern, escape="\\"), n.vrchat_user_id.ilike(pattern, escape="\\"))
            )
        stmt = select(n).where(*conditions).order_by(n.created_at.desc(), n.id.desc()).limit(limit)
        return await self._all(stmt, note_from_row)
