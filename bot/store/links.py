"""Verified links between Discord and VRChat accounts, their one-time codes, and the hourly caps.

IDs and times only (plus a digest of an open code): the store knows nothing of Discord or VRChat
beyond their IDs, and nothing about the people behind them. The caller passes every time in, so one
clock (the service's) decides expiry and windows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from bot.store._base import StoreBase, delete_rows, from_row, update_rows
from bot.store.models import DiscordLinkRow, LinkAttemptRow, LinkCodeRow
from bot.store.types import StoreError

AttemptKind = Literal["issue", "verify"]
ATTEMPT_KINDS: tuple[AttemptKind, ...] = ("issue", "verify")


class CodeNotClaimable(StoreError):
    """The code is gone, belongs to someone else, or was used already: it cannot link anything."""


class LinkConflict(StoreError):
    """Another link for one of the two accounts was committed at the same moment."""


@dataclass(frozen=True, slots=True)
class Link:
    discord_user_id: int
    vrchat_user_id: str
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class LinkCode:
    id: int
    discord_user_id: int
    vrchat_user_id: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class LinkChange:
    """A link made, and the links it replaced (the Discord user's old one, the VRChat account's old one)."""

    link: Link
    replaced: tuple[Link, ...]


def link_from_row(row: DiscordLinkRow) -> Link:
    return from_row(Link, row)


def code_from_row(row: LinkCodeRow) -> LinkCode:
    return from_row(LinkCode, row)


class LinkOps(StoreBase):
    # ------------------------------------------------------------------ codes

    async def issue_link_code(
        self,
        discord_user_id: int,
        vrchat_user_id: str,
        code_hash: str,
        *,
        now: datetime,
        expires_at: datetime,
        purge_before: datetime,
    ) -> LinkCode:
        """The user's new code, replacing whatever code they had (open or used): one per Discord user.
        Codes that expired before `purge_before` (anyone's) are deleted on the way."""
        lc = LinkCodeRow
        async with self._sessions.begin() as session:
            await delete_rows(
                session, lc, or_(lc.discord_user_id == discord_user_id, lc.expires_at < purge_before)
            )
            row = LinkCodeRow(
                discord_user_id=discord_user_id,
                vrchat_user_id=vrchat_user_id,
                code_hash=code_hash,
                created_at=now,
                expires_at=expires_at,
                used_at=None,
            )
            session.add(row)
        return code_from_row(row)

    async def link_code(self, code_id: int) -> LinkCode | None:
        return await self._get(LinkCodeRow, code_id, code_from_row)

    async def link_code_of(self, discord_user_id: int) -> LinkCode | None:
        """The Discord user's current code (open, expired or used), if any."""
        stmt = select(LinkCodeRow).where(LinkCodeRow.discord_user_id == discord_user_id)
        return await self._one_or_none(stmt, code_from_row)

    # ------------------------------------------------------------------ caps

    async def take_link_attempt(
        self, discord_user_id: int, kind: AttemptKind, *, now: datetime, since: datetime, cap: int
    ) -> datetime | None:
        """Count one attempt of `kind` unless `cap` were made since `since`: None when counted, else
        when the oldest counted one leaves the window (try again then; nothing is written).

        Attempts older than the window are deleted for everyone on the way, so the table holds at most
        an hour of them."""
        if kind not in ATTEMPT_KINDS:
            raise ValueError(f"unknown attempt kind {kind!r}")
        la = LinkAttemptRow
        async with self._sessions.begin() as session:
            mine = (la.discord_user_id == discord_user_id, la.kind == kind, la.at >= since)
            count, oldest = (await session.execute(select(func.count(), func.min(la.at)).where(*mine))).one()
            if count >= cap:  # refused: nothing is written
                return oldest + (now - since)
            await delete_rows(session, la, la.at < since)
            session.add(LinkAttemptRow(discord_user_id=discord_user_id, kind=kind, at=now))
        return None

    # ------------------------------------------------------------------ links

    async def complete_link(
        self, code_id: int, discord_user_id: int, vrchat_user_id: str, *, now: datetime
    ) -> LinkChange:
        """Use the code and link the two accounts, in one transaction: the code is marked used only if it
        was unused and issued to this Discord user (CodeNotClaimable otherwise), and the links either
        account had are replaced. LinkConflict when a concurrent link for either account won."""
        lc, dl = LinkCodeRow, DiscordLinkRow
        try:
            async with self._sessions.begin() as session:
                unused = [lc.id == code_id, lc.discord_user_id == discord_user_id, lc.used_at.is_(None)]
                if await update_rows(session, lc, unused, used_at=now) != 1:
                    raise CodeNotClaimable(f"link code {code_id} is not open for {discord_user_id}")
                either = or_(dl.discord_user_id == discord_user_id, dl.vrchat_user_id == vrchat_user_id)
                old = [link_from_row(r) for r in (await session.execute(select(dl).where(either))).scalars()]
                await delete_rows(session, dl, either)
                # The deletes must reach the database before the insert: the unit of work would
                # otherwise order the INSERT first and trip the unique constraints itself.
                await session.flush()
                row = DiscordLinkRow(
                    discord_user_id=discord_user_id, vrchat_user_id=vrchat_user_id, linked_at=now
                )
                session.add(row)
                await session.flush()
        except IntegrityError as exc:
            raise LinkConflict(f"a concurrent link for {discord_user_id} or {vrchat_user_id} won") from exc
        replaced = tuple(
            o for o in old if (o.discord_user_id, o.vrchat_user_id) != (discord_user_id, vrchat_user_id)
        )
        return LinkChange(link_from_row(row), replaced)

    async def link_of_discord(self, discord_user_id: int) -> Link | None:
        return await self._get(DiscordLinkRow, discord_user_id, link_from_row)

    async def link_of_vrchat(self, vrchat_user_id: str) -> Link | None:
        return (await self.links_of_vrchat([vrchat_user_id])).get(vrchat_user_id)

    async def links_of_vrchat(self, vrchat_user_ids: Iterable[str]) -> dict[str, Link]:
        """The links of these VRChat accounts, by VRChat user ID (accounts without one are left out)."""
        rows = await self._rows_in(DiscordLinkRow, DiscordLinkRow.vrchat_user_id, vrchat_user_ids)
        return {row.vrchat_user_id: link_from_row(row) for row in rows}

    async def remove_link(self, discord_user_id: int) -> Link | None:
        """Delete the Discord user's link and their code (open or used); the link that was, if any."""
        dl = DiscordLinkRow
        async with self._sessions.begin() as session:
            row = await session.get(dl, discord_user_id)
            removed = link_from_row(row) if row is not None else None
            await delete_rows(session, dl, dl.discord_user_id == discord_user_id)
            await delete_rows(session, LinkCodeRow, LinkCodeRow.discord_user_id == discord_user_id)
        return removed
