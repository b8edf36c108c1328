"""The per-binding age-gate policy: group instances that are not age-gated are reported to the
binding's moderators once each (with a Close button), or closed at once where the operator chose
`instance_age_gate = "close"`.

The request budget: one `GET /groups/{id}/instances` per group per poll, and only for groups that
have at least one binding with the policy on; nothing at all otherwise. An instance whose listing
does not say whether it is age-gated is left alone: nothing is reported or closed on a guess.

What was reported is remembered in the store (bot.store.instance_reports) before anything is posted
or closed, so a restart does not report again; a report claimed but never posted (the process
stopped in between) is handed out again by the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.config import Config
from bot.services.binding_settings import age_gate_policy
from bot.services.common import Clock, utcnow
from bot.store import Binding
from bot.store.feature_ports import AgeGateReports
from bot.store.instance_reports import InstanceReport
from bot.store.leases import UNFENCED, LeaseGuard, LeaseLost
from bot.vrchat import NotFound, VRChatAPI, VRChatError
from bot.vrchat.ids import parse_location
from bot.vrchat.instances import is_age_gated
from bot.vrchat.models import GroupInstance

log = logging.getLogger(__name__)

POLL_SECONDS = 120.0  # per group with the policy on: one list request every two minutes
KEEP_REPORTS = timedelta(days=30)
FindingKind = Literal["report", "closed", "close_failed"]
# The lease a group's round runs under (bot.store.leases.lease_guard); None: another process holds the group.
GuardFor = Callable[[str], LeaseGuard | None]


def unfenced(_group_id: str) -> LeaseGuard | None:
    return UNFENCED


@dataclass(frozen=True, slots=True)
class Finding:
    """Something for the binding's moderators' channel."""

    kind: FindingKind
    binding: Binding
    report: InstanceReport
    members: int | None = None
    error: str | None = None

    @property
    def channel_id(self) -> int:
        """The moderators' channel: the requests channel when the binding has one, else the feed."""
        return self.binding.requests_channel_id or self.binding.feed_channel_id


class AgeGateWatch:
    def __init__(
        self, client: VRChatAPI, store: AgeGateReports, config: Config, *, clock: Clock = utcnow
    ) -> None:
        self._client = client
        self._store = store
        self._config = config
        self._clock = clock
        self.polls = 0  # list requests made (figures for tests and the README's budget)

    async def watched(self, guard_for: GuardFor = unfenced) -> dict[str, tuple[LeaseGuard, list[Binding]]]:
        """Group -> its lease and its bindings with the policy on (report or close), for the groups this
        process holds."""
        out: dict[str, tuple[LeaseGuard, list[Binding]]] = {}
        for binding in await self._store.list_bindings():
            if binding.paused or age_gate_policy(self._config, binding) == "off":
                continue
            if binding.group_id in out:
                out[binding.group_id][1].append(binding)
            elif (guard := guard_for(binding.group_id)) is not None:
                out[binding.group_id] = (guard, [binding])
        return out

    async def poll(self, guard_for: GuardFor = unfenced) -> list[Finding]:
        """One round: each watched group's instances listed once; what to post, in order. A group whose
        lease passed to another process meanwhile (asked of the database before each VRChat call) is
        left to that process."""
        findings: list[Finding] = []
        watched = await self.watched(guard_for)
        for group_id, (guard, bindings) in watched.items():
            try:
                findings += await self._poll_group(group_id, bindings, guard)
            except LeaseLost as exc:
                log.info(
                    "Age-gate policy of %s: left to the process that holds the group now (%s).", group_id, exc
                )
        if watched:
            findings.extend(await self._unposted([b for _, bs in watched.values() for b in bs], findings))
            await self._store.prune_instance_reports(self._clock() - KEEP_REPORTS)
        return findings

    async def _poll_group(self, group_id: str, bindings: list[Binding], guard: LeaseGuard) -> list[Finding]:
        findings: list[Finding] = []
        try:
            await guard.check()
            self.polls += 1
            listed = await self._client.list_group_instances(group_id)
        except VRChatError as exc:
            log.warning("Age-gate policy: could not list the instances of %s: %s", group_id, exc)
            return findings
        # Automatic closes a stopped process left half done: tried again while still listed.
        stuck = {
            (r.binding_id, r.location)
            for r in await self._store.instance_reports([b.id for b in bindings], ["closing"])
        }
        for instance in listed:
            if is_age_gated(instance) is not False:
                continue
            for binding in bindings:
                await guard.check()  # before the claim and the close it may lead to
                found = await self._act(binding, instance, (binding.id, instance.location) in stuck)
                if found is not None:
                    findings.append(found)
        return findings

    async def _act(self, binding: Binding, instance: GroupInstance, stuck: bool) -> Finding | None:
        policy = age_gate_policy(self._config, binding)
        world = (instance.world.name if instance.world else "") or instance.location.partition(":")[0]
        state: Literal["pending", "closing"] = "closing" if policy == "close" else "pending"
        report = await self._store.claim_instance_report(
            binding.id, binding.group_id, instance.location, world, state
        )
        if report is None and stuck and policy == "close":
            found = await self._store.instance_reports([binding.id], ["closing"])
            report = next((r for r in found if r.location == instance.location), None)
        if report is None:
            return None  # reported (or closed) before: once each
        if policy != "close":
            return Finding("report", binding, report, instance.member_count)
        parsed = parse_location(instance.location)
        if parsed is None:
            await self._store.move_instance_report(report.id, ["closing"], "pending")
            return Finding("report", binding, report, instance.member_count)
        try:
            await self._client.close_group_instance(binding.group_id, *parsed)
        except NotFound:
            await self._store.move_instance_report(report.id, ["closing"], "gone")
            return None
        except VRChatError as exc:
            # Not closed (the bot lacks group-instance-manage, say): the moderators get a report instead.
            log.warning("Age-gate policy: could not close %s: %s", instance.location, exc)
            await self._store.move_instance_report(report.id, ["closing"], "pending")
            return Finding("close_failed", binding, report, instance.member_count, error=str(exc)[:200])
        await self._store.move_instance_report(report.id, ["closing"], "closed")
        log.info("Age-gate policy closed %s in %s.", instance.location, binding.group_id)
        return Finding("closed", binding, report, instance.member_count)

    async def _unposted(self, bindings: list[Binding], fresh: list[Finding]) -> list[Finding]:
        """Reports claimed in an earlier round but never posted (the process stopped in between)."""
        done = {f.report.id for f in fresh}
        by_id = {b.id: b for b in bindings}
        return [
            Finding("report", by_id[r.binding_id], r)
            for r in await self._store.instance_reports(list(by_id), ["pending"])
            if r.id not in done
        ]

    async def may_post(self, finding: Finding, guard_for: GuardFor = unfenced) -> bool:
        """Whether this process posts `finding` now. A report (or a failed close) whose group passed to
        another process is left to it: its next round hands the report out again. A close this process
        made is told whoever holds the group now."""
        if finding.kind == "closed":
            return True
        group_id = finding.binding.group_id
        guard = guard_for(group_id)
        try:
            if guard is None:
                raise LeaseLost(f"the lease on {group_id} is no longer held by this process")
            await guard.check()
        except LeaseLost as exc:
            log.info(
                "Age-gate report in %s: left to the process that holds the group now (%s).", group_id, exc
            )
            return False
        return True

    async def posted(self, finding: Finding, channel_id: int, message_id: int) -> None:
        """The finding's message is out: a report becomes `reported` (its Close button works)."""
        if finding.kind in ("report", "close_failed"):
            await self._store.set_report_message(finding.report.id, channel_id, message_id)

    def now(self) -> datetime:
        return self._clock()
