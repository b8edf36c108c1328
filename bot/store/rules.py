"""Join-request rules of a binding, and its rule settings (shadow mode)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import func, select

from bot.store._base import StoreBase, from_row
from bot.store.models import RequestRuleRow, RuleSettingsRow

RuleKind = Literal[
    "age_verified",
    "trust_at_least",
    "account_age_days_at_least",
    "in_watchlisted_group",
    "keyword",
    "linked_in_server",
]
RuleOutcome = Literal["accept", "reject", "hold"]
RULE_KINDS: tuple[RuleKind, ...] = get_args(RuleKind)
RULE_OUTCOMES: tuple[RuleOutcome, ...] = get_args(RuleOutcome)


@dataclass(frozen=True, slots=True)
class RequestRule:
    id: int
    binding_id: int
    position: int
    kind: RuleKind
    parameter: str | None
    outcome: RuleOutcome
    created_by: int
    created_at: datetime


def rule_from_row(row: RequestRuleRow) -> RequestRule:
    return from_row(RequestRule, row)


class RuleOps(StoreBase):
    async def add_rule(
        self, binding_id: int, kind: RuleKind, parameter: str | None, outcome: RuleOutcome, created_by: int
    ) -> RequestRule:
        """Append a rule after the binding's last one (max position + 1: a removed number comes back only
        if it was the highest)."""
        if kind not in RULE_KINDS or outcome not in RULE_OUTCOMES:
            raise ValueError(f"unknown rule kind {kind!r} or outcome {outcome!r}")
        rr = RequestRuleRow
        async with self._sessions.begin() as session:
            last = (
                await session.execute(select(func.max(rr.position)).where(rr.binding_id == binding_id))
            ).scalar_one()
            row = RequestRuleRow(
                binding_id=binding_id,
                position=(last or 0) + 1,
                kind=kind,
                parameter=parameter,
                outcome=outcome,
                created_by=created_by,
                created_at=self._now(),
            )
            session.add(row)
        return rule_from_row(row)

    async def remove_rule(self, binding_id: int, position: int) -> bool:
        rr = RequestRuleRow
        return bool(await self._delete(rr, rr.binding_id == binding_id, rr.position == position))

    async def list_rules(self, binding_ids: Iterable[int]) -> list[RequestRule]:
        """The rules of these bindings, by binding then position."""
        rows = await self._rows_in(RequestRuleRow, RequestRuleRow.binding_id, binding_ids)
        return sorted((rule_from_row(row) for row in rows), key=lambda r: (r.binding_id, r.position))

    async def set_rules_shadow(self, binding_id: int, shadow: bool) -> None:
        await self._put_binding_settings(RuleSettingsRow, binding_id, shadow=shadow)

    async def rules_shadow(self, binding_id: int) -> bool:
        row = await self._row(RuleSettingsRow, binding_id)
        return bool(row.shadow) if row is not None else False
