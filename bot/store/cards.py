"""Join-request cards: which request is shown where, and who handled it first.

A card is one Discord message for one pending join request in one requests channel. Its ``state``
moves out of 'pending' only through ``claim_card``, a single conditional UPDATE
(``... WHERE state = 'pending'``): two moderators clicking at once, even in two bot processes, both
run it, and the database lets exactly one of them change the row. The loser reads who won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, select

from bot.store._base import StoreBase, from_row, reread, table, update_rows
from bot.store.models import RequestCardRow

CardState = Literal["pending", "accepted", "rejected", "blocked", "gone"]
HandledWhere = Literal["Discord", "VRChat"]

CARD_STATES: tuple[CardState, ...] = ("pending", "accepted", "rejected", "blocked", "gone")
HANDLED_STATES: tuple[CardState, ...] = ("accepted", "rejected", "blocked", "gone")
#: channel_id of a card that has no message: a decision taken where no card was posted.
NO_CHANNEL = 0


@dataclass(frozen=True, slots=True)
class RequestCard:
    id: int
    group_id: str
    user_id: str
    channel_id: int
    message_id: int | None
    display_name: str | None
    requested_at: datetime | None
    state: CardState
    handled_by_discord_id: int | None
    handled_by_name: str | None
    handled_where: HandledWhere | None
    handled_at: datetime | None
    closed_at: datetime | None  # when its message was last seen closed: the start-up pass skips it
    created_at: datetime
    updated_at: datetime
    claimed_by: str | None  # the process whose Discord decision claimed it (None: unknown, or none)

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def left_open(self) -> bool:
        """Handled, but its message is not known to show it: a crash (or a failed edit) came between."""
        return not self.pending and self.closed_at is None and self.channel_id != NO_CHANNEL


def card_from_row(row: RequestCardRow) -> RequestCard:
    return from_row(RequestCard, row)


_CLEARED: dict[str, Any] = {
    "handled_by_discord_id": None,
    "handled_by_name": None,
    "handled_where": None,
    "handled_at": None,
    "closed_at": None,
    "claimed_by": None,
}


def _of_request(group_id: str, user_id: str) -> list[ColumnElement[bool]]:
    """The cards of one join request (one per channel it was posted to)."""
    return [RequestCardRow.group_id == group_id, RequestCardRow.user_id == user_id]


def _card(group_id: str, user_id: str, channel_id: int) -> list[ColumnElement[bool]]:
    """One card: a request's card in one channel."""
    return [*_of_request(group_id, user_id), RequestCardRow.channel_id == channel_id]


class CardOps(StoreBase):
    async def upsert_card(
        self,
        group_id: str,
        user_id: str,
        channel_id: int,
        *,
        display_name: str | None = None,
        message_id: int | None = None,
        requested_at: datetime | None = None,
    ) -> RequestCard:
        """The card for (group, user, channel), created 'pending' if missing.

        An existing card keeps its state; display_name, message_id and requested_at are updated
        when given.
        """
        now = self._now()
        rc = RequestCardRow
        async with self._sessions.begin() as session:
            await session.execute(
                self._insert(table(rc))
                .values(
                    group_id=group_id,
                    user_id=user_id,
                    channel_id=channel_id,
                    message_id=message_id,
                    display_name=display_name,
                    requested_at=requested_at,
                    state="pending",
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["group_id", "user_id", "channel_id"])
            )
            changes: dict[str, Any] = {}
            if display_name is not None:
                changes["display_name"] = display_name
            if message_id is not None:
                changes["message_id"] = message_id
            if requested_at is not None:
                changes["requested_at"] = requested_at
            key = _card(group_id, user_id, channel_id)
            if changes:
                await update_rows(session, rc, key, **changes, updated_at=now)
            return card_from_row(await reread(session, rc, *key))

    async def get_card(self, group_id: str, user_id: str, channel_id: int) -> RequestCard | None:
        rc = RequestCardRow
        stmt = select(rc).where(*_card(group_id, user_id, channel_id))
        return await self._one_or_none(stmt, card_from_row)

    async def cards_for(self, group_id: str, user_id: str) -> list[RequestCard]:
        """Every card of one request (one per channel it was posted to), oldest first."""
        rc = RequestCardRow
        stmt = select(rc).where(*_of_request(group_id, user_id)).order_by(rc.id)
        return await self._all(stmt, card_from_row)

    async def list_cards(self, group_id: str, state: CardState | None = None) -> list[RequestCard]:
        rc = RequestCardRow
        stmt = select(rc).where(rc.group_id == group_id).order_by(rc.id)
        if state is not None:
            stmt = stmt.where(rc.state == state)
        return await self._all(stmt, card_from_row)

    async def claim_card(
        self,
        group_id: str,
        user_id: str,
        new_state: CardState,
        *,
        by_discord_id: int | None,
        by_name: str | None,
        where: HandledWhere,
        at: datetime | None = None,
        claimed_by: str | None = None,
    ) -> bool:
        """Move every pending card of this request to new_state, atomically; False if none was pending.
        `claimed_by`: the process making the claim (bot.leases owner id), for a Discord decision.

        The WHERE state = 'pending' condition is what decides a race: on PostgreSQL the second UPDATE
        waits for the first transaction's row lock and then re-checks the condition; on SQLite the
        write transactions (BEGIN IMMEDIATE) run one after the other. Either way one caller wins.
        """
        if new_state not in HANDLED_STATES:
            raise ValueError(f"a card can only be claimed as one of {HANDLED_STATES}, not {new_state!r}")
        now = self._now()
        rc = RequestCardRow
        return bool(
            await self._update(
                rc,
                [*_of_request(group_id, user_id), rc.state == "pending"],
                state=new_state,
                handled_by_discord_id=by_discord_id,
                handled_by_name=by_name,
                handled_where=where,
                handled_at=at or now,
                claimed_by=claimed_by,
                updated_at=now,
            )
        )

    async def release_claim(
        self,
        group_id: str,
        user_id: str,
        state: CardState,
        by_discord_id: int,
        *,
        handled_at: datetime | None = None,
    ) -> int:
        """Undo a Discord claim whose VRChat call failed (or whose process died before making it), so
        the request can be decided again. `handled_at`: only the claim made at that moment, never a
        newer one of the same moderator."""
        now = self._now()
        rc = RequestCardRow
        conditions = [
            *_of_request(group_id, user_id),
            rc.state == state,
            rc.handled_where == "Discord",
            rc.handled_by_discord_id == by_discord_id,
        ]
        if handled_at is not None:
            conditions.append(rc.handled_at == handled_at)
        return await self._update(
            rc,
            conditions,
            state="pending",
            updated_at=now,
            **_CLEARED,
        )

    async def reopen_cards(self, group_id: str, user_id: str, *, handled_before: datetime) -> int:
        """The user asked to join again: handled cards start over, 'pending', without a message.

        Only cards handled before `handled_before` are touched, so a decision that has just been
        claimed (and whose VRChat call may still be in flight) is never undone by a stale listing.
        created_at restarts and requested_at is forgotten: they date the request the card stands for.
        """
        now = self._now()
        rc = RequestCardRow
        return await self._update(
            rc,
            [
                *_of_request(group_id, user_id),
                rc.state != "pending",
                rc.handled_at < handled_before,
            ],
            state="pending",
            message_id=None,
            requested_at=None,
            created_at=now,
            updated_at=now,
            **_CLEARED,
        )

    async def set_card_message(self, group_id: str, user_id: str, channel_id: int, message_id: int) -> bool:
        """Remember the Discord message that shows the card; False when there is no such card."""
        rc = RequestCardRow
        return bool(
            await self._update(
                rc,
                _card(group_id, user_id, channel_id),
                message_id=message_id,
                updated_at=self._now(),
            )
        )

    async def set_card_closed(self, group_id: str, user_id: str, channel_id: int) -> bool:
        """Its message shows the card closed (or is gone): the start-up pass need not look at it again.
        Only a handled card is marked: one reopened meanwhile is a new request's open card."""
        rc = RequestCardRow
        now = self._now()
        return bool(
            await self._update(
                rc,
                [*_card(group_id, user_id, channel_id), rc.state != "pending"],
                closed_at=now,
                updated_at=now,
            )
        )

    async def purge_closed_cards(self, before: datetime) -> int:
        """Retention (feed.retention_days): forget the cards decided before `before` whose message
        already shows it; a pending card, or one still to be closed, stays whatever its age."""
        c = RequestCardRow
        return await self._delete_in_batches(
            c, c.state != "pending", c.closed_at.is_not(None), c.closed_at < before
        )
