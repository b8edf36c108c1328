"""Moderator notes about VRChat users, per server and group (ModeratorNoteRow).

Plain values in and out; the service checks who may write and read them and how long a note may be.
Notes are only ever added: a page of them is read newest first with the same keyset rule as the
audit search (created_at, then id), so the merged history (bot.store.history) can page through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select

from bot.store._base import StoreBase, from_row
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
