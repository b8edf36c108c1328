"""Which feed channels heard an account's "VRChat session expired" notice of the open episode
(bot.feed.alerts), per account: a channel fed by groups of two accounts hears each account's alarm
and each one's "back" notice.

Kept in the database rather than in memory so a bot restarted while its session was blocked still
tells those channels when the session is back, and so no channel hears the alarm twice in one
episode, whichever process posts it. Both notices are claimed here before they are posted: the alarm
by adding the channel's row, the "back" notice by removing it, each claim by exactly one caller. With
a fence (the `account:<name>` lease of the account whose session it is) a claim is made only while
the database still gives that lease to the caller: a process frozen past its lease claims nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from bot.store._base import StoreBase, changed_rows, table
from bot.store.leases import LeaseFence, check_fence
from bot.store.models import SessionNoticeRow


class SessionNoticeOps(StoreBase):
    async def session_alerted_channels(self, account: str | None = None) -> set[int]:
        """The channels that heard an alarm of this episode (of `account`'s, when given)."""
        stmt = select(SessionNoticeRow.channel_id)
        if account is not None:
            stmt = stmt.where(SessionNoticeRow.account == account)
        async with self._sessions() as session:
            return set((await session.scalars(stmt)).all())

    async def claim_session_alarm(
        self, channel_ids: Iterable[int], *, account: str = "", fence: LeaseFence | None = None
    ) -> list[int]:
        """Record that these channels hear `account`'s alarm; returns the ones that had not heard it
        yet, which the caller (alone) posts it in. Nothing is claimed once `fence` no longer holds
        (LeaseLost)."""
        now = self._now()
        claimed: list[int] = []
        async with self._sessions.begin() as session:
            if fence is not None:
                await check_fence(session, fence, now)
            for channel_id in sorted(set(channel_ids)):  # one lock order for every caller
                insert = (
                    self._insert(table(SessionNoticeRow))
                    .values(channel_id=channel_id, account=account, alerted_at=now)
                    .on_conflict_do_nothing(index_elements=["channel_id", "account"])
                    .returning(SessionNoticeRow.channel_id)
                )
                if (await session.execute(insert)).first() is not None:
                    claimed.append(channel_id)
        return claimed

    async def claim_session_alerts(
        self, channel_ids: Iterable[int], *, account: str = "", fence: LeaseFence | None = None
    ) -> list[int]:
        """Forget these channels' alarms of `account` (and any from before accounts were told apart,
        kept as '') and return the ones that had one: only the claimer of a channel posts its "back"
        notice, so two processes never both do. Nothing is claimed once `fence` no longer holds
        (LeaseLost). Without a fence, also how an alarm that could not be posted is given back."""
        now = self._now()
        claimed: list[int] = []
        async with self._sessions.begin() as session:
            if fence is not None:
                await check_fence(session, fence, now)
            # In one order for every caller: two claimers locking rows in opposite orders deadlock.
            for channel_id in sorted(set(channel_ids)):
                gone = await session.execute(
                    delete(SessionNoticeRow).where(
                        SessionNoticeRow.channel_id == channel_id, SessionNoticeRow.account.in_({account, ""})
                    )
                )
                if changed_rows(gone):
                    claimed.append(channel_id)
        return claimed
