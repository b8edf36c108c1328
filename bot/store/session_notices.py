"""Which feed channels heard the open episode's "VRChat session expired" notice (bot.feed.alerts).

Kept in the database rather than in memory so a bot restarted while its session was blocked still
tells those channels when the session is back, and so no channel hears the alarm twice in one
episode, whichever process posts it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from bot.store._base import StoreBase, changed_rows, table
from bot.store.models import SessionNoticeRow


class SessionNoticeOps(StoreBase):
    async def session_alerted_channels(self) -> set[int]:
        async with self._sessions() as session:
            return set((await session.scalars(select(SessionNoticeRow.channel_id))).all())

    async def record_session_alert(self, channel_ids: Iterable[int]) -> None:
        rows = [{"channel_id": c, "alerted_at": self._now()} for c in dict.fromkeys(channel_ids)]
        if not rows:
            return
        insert = self._insert(table(SessionNoticeRow)).on_conflict_do_nothing(index_elements=["channel_id"])
        async with self._sessions.begin() as session:
            await session.execute(insert, rows)

    async def claim_session_alerts(self, channel_ids: Iterable[int]) -> list[int]:
        """Forget these channels' alerts and return the ones that had one: only the claimer of a
        channel posts its "back" notice, so two processes never both do."""
        claimed: list[int] = []
        async with self._sessions.begin() as session:
            # In one order for every caller: two claimers locking rows in opposite orders deadlock.
            for channel_id in sorted(set(channel_ids)):
                gone = await session.execute(
                    delete(SessionNoticeRow).where(SessionNoticeRow.channel_id == channel_id)
                )
                if changed_rows(gone):
                    claimed.append(channel_id)
        return claimed
