"""Every bot process's line in the process table (bot.store.process_state), and /bridge status's view
of them all.

Each process writes its own row every HEARTBEAT_EVERY seconds: its role, the groups it polls and its
VRChat accounts (budget use, session, pipeline), so the gateway that answers /bridge status can show
the workers' accounts too. A process alone on its database (SQLite) writes no row: no other process
can read it. The status shows this process from a snapshot taken there and then, not
from its row, so its own line is never a heartbeat old. A process not heard from for SILENT_AFTER is
shown as silent (crashed or frozen: a cleanly stopped one takes its row away); a day later its row
is purged.

Other servers' groups never show: a process's groups are counted among this server's groups only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.common import Clock, utcnow
from bot.services.pipeline_events import PipelineEvents
from bot.store import ProcessAccount, ProcessState
from bot.store.ports import ProcessStateStore
from bot.vrchat import VRChatAPI

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 15.0  # seconds, jittered down by up to a fifth
SILENT_AFTER = timedelta(seconds=60)  # four heartbeats missed: the process is gone or stalled
PURGE_AFTER = timedelta(days=1)
PURGE_EVERY = 240  # heartbeats (an hour at the default)
ROLE_ORDER = {"gateway": 0, "all": 1, "worker": 2}
STANDBY = " standby"  # after the role of a process waiting to become the Discord gateway


@dataclass(frozen=True, slots=True)
class AccountLine:
    """One VRChat account as one process uses it, as one server may see it."""

    name: str
    user_id: str | None
    used: int | None
    budget: int | None
    groups: int  # of this server's groups, those it serves in that process
    session_blocked: bool
    session_problem: str | None
    pipeline: bool | None  # connected or not; None when that process does not run its pipeline


@dataclass(frozen=True, slots=True)
class ProcessLine:
    owner: str
    role: str
    this_process: bool
    silent_for: timedelta
    groups: int  # of this server's groups, those whose polling it runs
    accounts: tuple[AccountLine, ...]

    @property
    def silent(self) -> bool:
        return self.silent_for >= SILENT_AFTER

    @property
    def standby(self) -> bool:
        return self.role.endswith(STANDBY)

    @property
    def kind(self) -> str:
        """'gateway', 'all' or 'worker'."""
        return self.role.removesuffix(STANDBY)


class ProcessReporter:
    """This process's heartbeat in the process table, and the table as one server may see it."""

    def __init__(
        self,
        store: ProcessStateStore,
        vrchat: VRChatAPI,
        *,
        owner: str,
        role: str,
        polled: Callable[[], Collection[str]],
        standby: Callable[[], bool] = lambda: False,
        pipeline: PipelineEvents | None = None,
        alone: bool = False,
        every: float = HEARTBEAT_EVERY,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        """`polled`: the groups whose polling this process runs now; `standby`: whether it waits to
        become the Discord gateway; `alone`: no other process can share the database (SQLite), so
        every other row is a dead predecessor's."""
        self.owner, self._role, self._standby = owner, role, standby
        self._store, self._vrchat, self._pipeline = store, vrchat, pipeline
        self._polled, self._alone, self._every = polled, alone, every
        self._clock = clock
        self._rng = rng or random.Random()
        self._started_at = clock()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    # -- what this process says ---------------------------------------------------------------------

    def snapshot(self) -> ProcessState:
        """This process as of now."""
        now = self._clock()
        polled = tuple(sorted(set(self._polled())))
        role = self._role + (STANDBY if self._standby() else "")
        return ProcessState(self.owner, role, self._started_at, now, polled, self._accounts(polled))

    def _accounts(self, polled: tuple[str, ...]) -> tuple[ProcessAccount, ...]:
        vrchat = self._vrchat
        pool = vrchat.accounts
        if pool is None:  # one client: no meter, and it serves every group
            state = vrchat.session_state
            lone = ProcessAccount(
                "", vrchat.user_id, None, None, polled, state.blocked, state.reason, self._pipeline_of("")
            )
            return (lone,)
        usage = {u.name: u for u in pool.usage()}
        accounts = []
        for account in pool.accounts:
            if not pool.held_here(account):  # another process calls VRChat with it: that one tells
                continue
            use, state = usage[account.name], account.client.session_state
            serves = tuple(g for g in polled if pool.serving(g) is account)
            accounts.append(
                ProcessAccount(
                    account.name,
                    use.user_id,
                    use.used,
                    use.budget,
                    serves,
                    state.blocked,
                    state.reason if state.blocked else None,
                    self._pipeline_of(account.name),
                )
            )
        return tuple(accounts)

    def _pipeline_of(self, name: str) -> bool | None:
        pipeline = self._pipeline
        if pipeline is None or name not in pipeline.running:
            return None
        stats = pipeline.stats.get(name)
        return stats is not None and stats.connected

    async def report(self) -> None:
        now = self.snapshot()
        await self._store.report_process(now.owner, now.role, now.started_at, now.groups, now.accounts)

    # -- the heartbeat ------------------------------------------------------------------------------

    async def start(self) -> None:
        """The first heartbeat (a failure is only logged: the status is no reason not to start), then
        one every HEARTBEAT_EVERY seconds in the background; none when alone, whose own line comes
        from the snapshot and whose row no other process could read."""
        with contextlib.suppress(Exception):  # tidying only
            if self._alone:
                await self._store.forget_other_processes(self.owner)
            await self._store.purge_process_states(PURGE_AFTER)
        if self._alone:
            return
        await self._beat()
        self._task = asyncio.create_task(self._run(), name="process heartbeat")

    async def _run(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(self._every * self._rng.uniform(0.8, 1.0))
            await self._beat()
            beats += 1
            if beats % PURGE_EVERY == 0:
                with contextlib.suppress(Exception):
                    await self._store.purge_process_states(PURGE_AFTER)

    async def _beat(self) -> None:
        try:
            await self.report()
        except Exception as exc:
            if not self._failing:  # once, not every heartbeat while the database is away
                log.warning("Could not record this process's state for /bridge status (%s).", exc)
            self._failing = True
        else:
            self._failing = False

    async def stop(self) -> None:
        """Stop the heartbeat and take the row away: a process that stopped cleanly is gone, not silent."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await self._store.forget_process(self.owner)
        except Exception as exc:  # it shows as silent, then is purged
            log.warning("Could not remove this process from the process table (%s).", exc)

    # -- what /bridge status shows --------------------------------------------------------------------

    async def board(self, group_ids: Collection[str]) -> tuple[ProcessLine, ...]:
        """Every known process as the server with these groups may see it: this one first, then the
        others by role, the silent ones last."""
        now = self._clock()
        mine = set(group_ids)
        states = [s for s in await self._store.list_process_states() if s.owner != self.owner]
        lines = [_line(state, mine, now, this_process=False) for state in states]
        lines.sort(key=lambda line: (line.silent, ROLE_ORDER.get(line.kind, 3), line.standby, line.owner))
        return (_line(self.snapshot(), mine, now, this_process=True), *lines)


def _line(state: ProcessState, mine: set[str], now: datetime, *, this_process: bool) -> ProcessLine:
    return ProcessLine(
        owner=state.owner,
        role=state.role,
        this_process=this_process,
        silent_for=max(state.silent_for(now), timedelta(0)),
        groups=len(mine.intersection(state.groups)),
        accounts=tuple(
            AccountLine(
                name=a.name,
                user_id=a.user_id,
                used=a.used,
                budget=a.budget,
                groups=len(mine.intersection(a.groups)),
                session_blocked=a.session_blocked,
                session_problem=a.session_problem,
                pipeline=a.pipeline,
            )
            for a in state.accounts
        ),
    )
