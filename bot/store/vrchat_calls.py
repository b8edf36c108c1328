"""VRChat calls handed to the process holding the account: one account, one egress (bot.accounts.desk).

A caller writes a 'pending' row and waits for it. The holder takes pending rows of the accounts it
holds in one UPDATE, which checks in the same statement that the database still gives it the
account's lease (as outbox claims check their channel's): a process that lost the account while
paused takes nothing, and a row is taken at most once, so the call runs at most once. The holder
then writes the outcome ('done'). A caller that gave up on a row nobody took marks it 'dropped' (only
while still pending), so it is never run late. Finished rows are purged after a while.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, literal, update

from bot.store._base import StoreBase, ids_list
from bot.store.models import LeaseRow, VRChatCallRow
from bot.store.wake_bus import VRCHAT_CALL, announce

ACCOUNT_LEASE = "account:"  # the lease name's prefix (bot.leases)


@dataclass(frozen=True, slots=True)
class VRChatCall:
    id: int
    account: str
    method: str
    arguments: str  # JSON
    state: str  # 'pending', 'taken', 'done' or 'dropped'
    taken_by: str | None
    outcome: str | None  # JSON, once done


def _call(row: VRChatCallRow) -> VRChatCall:
    return VRChatCall(row.id, row.account, row.method, row.arguments, row.state, row.taken_by, row.outcome)


class VRChatCallOps(StoreBase):
    async def request_vrchat_call(self, account: str, method: str, arguments: str) -> int:
        """A new pending call; its id."""
        row = VRChatCallRow(
            account=account, method=method, arguments=arguments, state="pending", created_at=self._now()
        )
        async with self._sessions.begin() as session:
            session.add(row)
            await announce(session, VRCHAT_CALL, account)  # the holder is usually another process
        return row.id

    async def vrchat_call(self, call_id: int) -> VRChatCall | None:
        return await self._get(VRChatCallRow, call_id, _call)

    async def drop_vrchat_call(self, call_id: int) -> bool:
        """Withdraw a call nobody has taken; False when it was taken meanwhile."""
        where = [VRChatCallRow.id == call_id, VRChatCallRow.state == "pending"]
        return await self._update(VRChatCallRow, where, state="dropped", finished_at=self._now()) == 1

    async def take_vrchat_calls(self, owner: str, accounts: Iterable[str]) -> list[VRChatCall]:
        """Take every pending call for these accounts whose lease `owner` holds in the database now."""
        names = ids_list(accounts)
        if not names:
            return []
        now = self._now()
        held = exists().where(
            LeaseRow.name == literal(ACCOUNT_LEASE) + VRChatCallRow.account,
            LeaseRow.owner == owner,
            LeaseRow.expires_at > now,
        )
        stmt = (
            update(VRChatCallRow)
            .where(VRChatCallRow.state == "pending", VRChatCallRow.account.in_(names), held)
            .values(state="taken", taken_by=owner, taken_at=now)
            .returning(VRChatCallRow)
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(stmt, execution_options={"synchronize_session": False})).scalars()
            return sorted((_call(r) for r in rows), key=lambda c: c.id)

    async def finish_vrchat_call(self, call_id: int, owner: str, outcome: str) -> bool:
        where = [VRChatCallRow.id == call_id, VRChatCallRow.state == "taken", VRChatCallRow.taken_by == owner]
        return (
            await self._update(VRChatCallRow, where, state="done", outcome=outcome, finished_at=self._now())
            == 1
        )

    async def purge_vrchat_calls(self, older_than: timedelta) -> int:
        """Forget calls made more than `older_than` ago, finished or not (their callers gave up long ago)."""
        return await self._delete(VRChatCallRow, VRChatCallRow.created_at < self._now() - older_than)
