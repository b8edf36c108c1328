"""Leases: which process runs a piece of work right now, when several share one database.

A lease is a row: a name ('group:grp_…', 'channel:123', …), the owner holding it and when it expires.
Its holder renews it well before then; once it has expired anyone may take it. Taking and renewing
are one statement,

    INSERT INTO leases … ON CONFLICT (name) DO UPDATE SET owner, expires_at, …
    WHERE leases.expires_at <= :now OR leases.owner = :me RETURNING …

so the database settles every race: of several processes asking for the same lease at once exactly
one gets a row back (SQLite ≥ 3.35 and PostgreSQL both support the upsert with RETURNING). The
times come from the store's clock, that is the hosts' clocks: keep them synchronised (NTP), since a
skew eats into the lease time.

Nothing here knows what the names stand for; bot.leases decides what to hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BigInteger, ColumnElement, String, case, cast, exists, extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store._base import StoreBase, chunked, ids_list, table
from bot.store.models import LeaseRow
from bot.store.types import StoreError

# Any constant works; it only has to be the same in every process of this application.
_STARTUP_LOCK_KEY = 0x6772_6F75_7062_7267  # "groupbrg"
# A live process's transaction never idles this long between its statements; a frozen one's is ended.
MIN_IDLE_MS = 1000


@dataclass(frozen=True)
class Lease:
    name: str
    owner: str
    acquired_at: datetime  # when this owner took it (renewals keep it)
    expires_at: datetime
    generation: int  # +1 each time the lease changed hands
    remaining: float  # seconds until it expires, as of the read; negative once expired

    @property
    def live(self) -> bool:
        return self.remaining > 0


@dataclass(frozen=True)
class LeaseFence:
    """Proof to hand to a write that must happen only while `owner` still holds lease `name`, and
    still in the tenure `generation` (when given): a lease that went to another process and came back
    is a new tenure, and what the old one had begun (a message the other process has sent since) is
    not this process's to finish."""

    name: str
    owner: str
    generation: int | None = None


def lease_held(fence: LeaseFence, now: datetime) -> ColumnElement[bool]:
    """SQL condition: `fence.owner` holds `fence.name` at `now` (for conditional UPDATEs elsewhere)."""
    return exists().where(*_fence_conditions(fence, now))


def _fence_conditions(fence: LeaseFence, now: datetime) -> list[ColumnElement[bool]]:
    conditions = [LeaseRow.name == fence.name, LeaseRow.owner == fence.owner, LeaseRow.expires_at > now]
    if fence.generation is not None:
        conditions.append(LeaseRow.generation == fence.generation)
    return conditions


class LeaseLost(StoreError):
    """The lease a piece of work was started under has passed to another process (or lapsed): the
    work is dropped, and the new holder does it."""


async def check_fence(session: AsyncSession, fence: LeaseFence, now: datetime) -> None:
    """Raise LeaseLost unless `fence` still holds, inside the caller's transaction. On PostgreSQL the
    lease row stays share-locked until that transaction ends, so a takeover (an UPDATE of the row)
    waits for it: the write lands wholly before the new holder's first step, or not at all. The same
    statement has the server end the transaction once it idles past the lease's time left (see
    end_if_idle_past), so that wait is never longer than the lease promises."""
    held = select(LeaseRow.expires_at).where(*_fence_conditions(fence, now))
    if session.get_bind().dialect.name == "postgresql":
        left_ms = func.greatest(MIN_IDLE_MS, func.floor(extract("epoch", LeaseRow.expires_at - now) * 1000))
        held = held.add_columns(_idle_timeout(cast(cast(left_ms, BigInteger), String)))
    if (await session.execute(held.with_for_update(read=True))).first() is None:
        raise LeaseLost(f"lease {fence.name} is no longer held by this process")


def _idle_timeout(milliseconds: object) -> ColumnElement[Any]:
    return func.set_config("idle_in_transaction_session_timeout", milliseconds, True)


async def end_if_idle_past(session: AsyncSession, seconds: float) -> None:
    """On PostgreSQL, have the server end this transaction's session once it sits idle in it for
    `seconds`. A process frozen mid-transaction (SIGSTOP, a paused VM) would otherwise keep its locks
    on lease rows for as long as it stays frozen, and hold the takeover that its lease's expiry
    promises up with them."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(_idle_timeout(str(max(MIN_IDLE_MS, int(seconds * 1000))))))


class FenceReader(Protocol):
    async def still_holds(self, fence: LeaseFence) -> bool: ...


@dataclass(frozen=True)
class LeaseGuard:
    """The lease a piece of work was started under, asked of the database before each step of it that
    goes out (a VRChat call, a Discord post, a decision). The process's own view of its leases is not
    enough: a process frozen past its lease (SIGSTOP, a paused VM) wakes up still believing it holds
    them, and the database is the one place that knows another process has taken over since.

    Without a fence (a lone process, no leases) every check passes and costs nothing."""

    store: FenceReader | None = None
    fence: LeaseFence | None = None

    async def check(self) -> None:
        """Raise LeaseLost unless the database still gives the lease to this process (one indexed read)."""
        if self.fence is not None and self.store is not None and not await self.store.still_holds(self.fence):
            raise LeaseLost(f"lease {self.fence.name} passed to another process")


UNFENCED = LeaseGuard()


class LeaseView(Protocol):
    """What the workers ask before doing a piece of work."""

    def holds(self, name: str) -> bool: ...

    def fence(self, name: str) -> LeaseFence | None: ...


def lease_guard(leases: LeaseView | None, store: FenceReader, name: str) -> LeaseGuard | None:
    """What a piece of work on lease `name` runs under: a guard that asks the database before each step
    going out, UNFENCED without leases (a lone process), None when this process does not hold it."""
    if leases is None:
        return UNFENCED
    fence = leases.fence(name)
    return None if fence is None else LeaseGuard(store, fence)


class LeaseOps(StoreBase):
    async def still_holds(self, fence: LeaseFence) -> bool:
        """Whether the database still gives `fence.name` to `fence.owner` (one indexed read)."""
        async with self._sessions() as session:
            try:
                await check_fence(session, fence, self._now())
            except LeaseLost:
                return False
            return True

    @staticmethod
    def _lease(
        name: str, owner: str, acquired_at: datetime, expires_at: datetime, generation: int, now: datetime
    ) -> Lease:
        return Lease(
            name=name,
            owner=owner,
            acquired_at=acquired_at,
            expires_at=expires_at,
            generation=generation,
            remaining=(expires_at - now).total_seconds(),
        )

    async def acquire_leases(
        self, names: Iterable[str], owner: str, ttl: float, *, force: bool = False
    ) -> dict[str, Lease]:
        """Take or renew each named lease for `ttl` seconds; returns those `owner` holds now.

        A lease is held while now < expires_at. It is granted when it is free, expired, or already
        `owner`'s; one held by someone else and not yet expired is left alone. force=True takes it
        regardless: only for a process that knows it is alone on the database (SQLite, behind
        bot.store.process_lock), so that after a crash it does not wait out its dead predecessor's.
        """
        wanted = sorted(ids_list(names))  # one lock order for every process: no deadlocks
        now = self._now()
        expires = now + timedelta(seconds=ttl)
        held: dict[str, Lease] = {}
        async with self._sessions.begin() as session:
            await end_if_idle_past(session, ttl)  # the renewed rows stay locked until the commit
            for chunk in chunked(wanted):
                stmt = self._upsert_leases(chunk, owner, now, expires, force=force)
                for name, holder, acquired_at, expires_at, generation in (await session.execute(stmt)).all():
                    held[name] = self._lease(name, holder, acquired_at, expires_at, generation, now)
        return held

    def _upsert_leases(
        self, names: Sequence[str], owner: str, now: datetime, expires: datetime, *, force: bool
    ) -> Any:
        leases = table(LeaseRow)
        rows = [
            {"name": n, "owner": owner, "acquired_at": now, "expires_at": expires, "generation": 1}
            for n in names
        ]
        insert = self._insert(leases).values(rows)
        new = insert.excluded
        same_owner = leases.c.owner == new.owner
        c = leases.c
        return insert.on_conflict_do_update(
            index_elements=[c.name],
            set_={
                "owner": new.owner,
                "expires_at": new.expires_at,
                "acquired_at": case((same_owner, c.acquired_at), else_=new.acquired_at),
                "generation": case((same_owner, c.generation), else_=c.generation + 1),
            },
            # The whole point: only a free, expired or already-own lease is (re)granted.
            where=None if force else or_(c.expires_at <= now, c.owner == owner),
        ).returning(c.name, c.owner, c.acquired_at, c.expires_at, c.generation)

    async def release_leases(self, owner: str, names: Iterable[str] | None = None) -> int:
        """Let others take these leases (all of `owner`'s when names is None) at once; returns how many
        were still `owner`'s. The rows stay, so the next holder continues the generation count."""
        now = self._now()
        mine = [LeaseRow.owner == owner, LeaseRow.expires_at > now]
        if names is None:
            return await self._update(LeaseRow, mine, expires_at=now)
        return await self._update_in(LeaseRow, LeaseRow.name, sorted(ids_list(names)), mine, expires_at=now)

    async def list_leases(self, prefix: str | None = None) -> list[Lease]:
        """Every lease (or those whose name starts with `prefix`), by name, live or expired."""
        stmt = select(LeaseRow).order_by(LeaseRow.name)
        if prefix:
            stmt = stmt.where(LeaseRow.name.startswith(prefix, autoescape=True))
        async with self._sessions() as session:
            rows = list((await session.execute(stmt)).scalars())
        now = self._now()
        return [self._lease(r.name, r.owner, r.acquired_at, r.expires_at, r.generation, now) for r in rows]

    async def purge_leases(self, expired_for: timedelta, *, prefix: str) -> int:
        """Forget the leases named `prefix`… that nobody has held for `expired_for`: dead processes'
        presence rows, whose names never come back. Any other row stays, whatever its age: taken
        again, a new row would count its generation from 1 anew, and a fence of a tenure from before
        it was forgotten (a process paused for days) could pass for a later one."""
        cutoff = self._now() - expired_for
        named = LeaseRow.name.startswith(prefix, autoescape=True)
        return await self._delete(LeaseRow, named, LeaseRow.expires_at < cutoff)

    @asynccontextmanager
    async def startup_lock(self) -> AsyncIterator[None]:
        """Run start-up work (schema upgrade, the config's bindings) one process at a time.

        Several processes starting together on one PostgreSQL database would otherwise race to
        create the same tables and insert the same bindings. A transaction-scoped advisory lock ends
        with the transaction, and with the connection if the process dies. SQLite needs none: only
        one process may use the file (bot.store.process_lock).
        """
        if self.dialect_name != "postgresql":
            yield
            return
        async with self._engine.begin() as conn:
            await conn.execute(select(func.pg_advisory_xact_lock(_STARTUP_LOCK_KEY)))
            yield
