"""What each bot process runs, as it last said: its role, the groups it polls and its VRChat accounts
(budget use, session, pipeline). Every process rewrites its own row on a heartbeat (bot.services.
processes); `/bridge status` reads them all, so it shows the workers' accounts and not only the
gateway's. A row whose heartbeat is old belongs to a process that stopped answering (crashed, frozen);
a cleanly stopped process deletes its own.

The accounts are plain values here: the store knows nothing of VRChat, only what the process wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.store._base import StoreBase, from_row
from bot.store.models import ProcessStateRow


@dataclass(frozen=True, slots=True)
class ProcessAccount:
    """One VRChat account as one process uses it."""

    name: str
    user_id: str | None
    used: int | None  # requests this process sent with it in the last minute (None: not metered)
    budget: int | None  # what its rate allows this process in a minute
    groups: tuple[str, ...]  # the polled groups it serves in this process
    session_blocked: bool
    session_problem: str | None = None  # why it is blocked
    pipeline: bool | None = None  # its VRChat pipeline, run here: connected or not (None: not run here)

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> ProcessAccount:
        """From its JSON, leniently: a row another version of the bot wrote must not break the status."""

        def number(key: str) -> int | None:
            got = value.get(key)
            return got if isinstance(got, int) and not isinstance(got, bool) else None

        pipeline = value.get("pipeline")
        problem = value.get("session_problem")
        return cls(
            name=str(value.get("name") or ""),
            user_id=str(value["user_id"]) if value.get("user_id") else None,
            used=number("used"),
            budget=number("budget"),
            groups=_strings(value.get("groups")),
            session_blocked=bool(value.get("session_blocked")),
            session_problem=str(problem) if problem else None,
            pipeline=pipeline if isinstance(pipeline, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class ProcessState:
    """A process's row: what it said at its last heartbeat."""

    owner: str
    role: str
    started_at: datetime
    heartbeat_at: datetime
    groups: tuple[str, ...]  # the groups whose polling it runs
    accounts: tuple[ProcessAccount, ...]

    def silent_for(self, now: datetime) -> timedelta:
        return now - self.heartbeat_at


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


class ProcessStateOps(StoreBase):
    async def report_process(
        self,
        owner: str,
        role: str,
        started_at: datetime,
        groups: Iterable[str],
        accounts: Iterable[ProcessAccount],
    ) -> datetime:
        """Write this process's row whole, its heartbeat now (returned)."""
        now = self._now()
        values: dict[str, Any] = {
            "role": role,
            "started_at": started_at,
            "heartbeat_at": now,
            "groups": sorted(set(groups)),
            "accounts": [{**asdict(a), "groups": sorted(set(a.groups))} for a in accounts],
        }
        await self._upsert(ProcessStateRow, {"owner": owner}, values)
        return now

    async def list_process_states(self) -> list[ProcessState]:
        """Every process's row, the most recently heard first."""
        stmt = select(ProcessStateRow).order_by(ProcessStateRow.heartbeat_at.desc(), ProcessStateRow.owner)
        async with self._sessions() as session:
            rows = list((await session.execute(stmt)).scalars())
        return [
            from_row(
                ProcessState,
                r,
                groups=_strings(r.groups),
                accounts=tuple(ProcessAccount.of(a) for a in r.accounts if isinstance(a, dict)),
            )
            for r in rows
        ]

    async def forget_process(self, owner: str) -> int:
        """A process stopping cleanly takes its row away: it is gone, not silent."""
        return await self._delete(ProcessStateRow, ProcessStateRow.owner == owner)

    async def forget_other_processes(self, owner: str) -> int:
        """Every row but `owner`'s: for a process that knows it is alone on the database (SQLite,
        behind bot.store.process_lock), whose predecessors' rows can only be of dead processes."""
        return await self._delete(ProcessStateRow, ProcessStateRow.owner != owner)

    async def purge_process_states(self, silent_for: timedelta) -> int:
        """Forget processes not heard from for `silent_for`."""
        return await self._delete(ProcessStateRow, ProcessStateRow.heartbeat_at < self._now() - silent_for)
