"""Running a binding's rules when a join-request card is first posted.

The cards about to be posted (CardChange "post") are looked at once per requester: the requester's
profile is fetched (from the cache, usually), the rules of the binding behind each card's channel are
evaluated, and then
- every live (not shadow) evaluation agrees on accept or reject: the request is decided once through
  JoinRequestService.decide, by a system actor, and the cards are posted already closed, saying why;
- otherwise the cards are posted for the moderators, each with a note saying why it was held;
- in shadow mode, the note says what the rule would have done, and nothing else happens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from bot.links.requesters import DiscordLink
from bot.requests.model import GroupSummary
from bot.requests.reconcile import CardChange
from bot.services.common import Actor, Clock, ServiceError, error_text
from bot.services.rules import Facts, RuleDecision, decision_text, describe, evaluate
from bot.services.users import UserDirectory
from bot.store import Binding, CardState
from bot.store.leases import LeaseLost
from bot.store.ports import RuleReader
from bot.vrchat import VRChatError

log = logging.getLogger(__name__)

PROFILE_TIMEOUT = 15.0
SYSTEM_USER_ID = 0  # the action log's discord_user_id for automated decisions
STATE_OF: dict[str, CardState] = {"accept": "accepted", "reject": "rejected"}
Decide = Callable[[Actor, str, str, Literal["accept", "reject"], Mapping[str, Any]], Awaitable[object]]


def _link_facts(link: DiscordLink | None) -> dict[str, Any]:
    """`linked_in_server` from the card's link line: known only when the lookups succeeded."""
    if link is None or link.state == "unknown":
        return {"linked_in_server": None}
    return {"linked_in_server": link.state == "in_server"}


def _watch_facts(groups: GroupSummary | None) -> dict[str, Any]:
    if groups is None or not groups.available:
        return {"watch_hits": None, "groups_known": False}
    return {"watch_hits": tuple(h.name for h in groups.hits), "groups_known": groups.count > 0}


class RuleRunner:
    def __init__(self, store: RuleReader, users: UserDirectory, clock: Clock) -> None:
        self._store = store
        self._users = users
        self._clock = clock

    async def _binding_of(self, group_id: str, channel_id: int) -> Binding | None:
        """The binding whose rules apply to a card in this channel: the server's first binding of the
        group (the one /bridge rules edits), for the server that owns the channel."""
        bindings = await self._store.list_bindings(group_id=group_id)
        guilds = {b.guild_id for b in bindings if b.requests_channel_id == channel_id}
        return min((b for b in bindings if b.guild_id in guilds), key=lambda b: b.id, default=None)

    async def _facts(self, user_id: str) -> Facts:
        try:
            user = await asyncio.wait_for(self._users.user(user_id), timeout=PROFILE_TIMEOUT)
        except (ServiceError, VRChatError, TimeoutError) as exc:
            return Facts(error=error_text(exc) if not isinstance(exc, TimeoutError) else "timed out")
        return Facts(
            display_name=user.display_name or None,
            bio=user.bio,
            tags=tuple(user.tags) or None,
            age_verification_status=user.age_verification_status,
            date_joined=user.date_joined,
            today=self._clock().date(),
        )

    async def run(self, changes: list[CardChange], decide: Decide) -> list[CardChange]:
        posts: dict[str, list[CardChange]] = {}
        for change in changes:
            if change.kind == "post":
                posts.setdefault(change.user_id, []).append(change)
        done: dict[tuple[str, int], CardChange] = {}
        for user_id, cards in posts.items():
            try:
                for card in await self._one_request(user_id, cards, decide):
                    done[(card.user_id, card.channel_id)] = card
            except LeaseLost:
                raise  # the group is another process's now: it posts the cards, this one nothing
            except Exception:  # never lose a card over the rules: it is posted for the moderators
                log.exception("running the request rules for %s failed", user_id)
        return [done.get((c.user_id, c.channel_id), c) if c.kind == "post" else c for c in changes]

    async def _one_request(self, user_id: str, cards: list[CardChange], decide: Decide) -> list[CardChange]:
        evaluated: list[tuple[CardChange, Binding, RuleDecision, bool]] = []
        base: Facts | None = None
        for card in cards:
            binding = await self._binding_of(card.group_id, card.channel_id)
            rules = await self._store.list_rules([binding.id]) if binding else []
            if binding is None or not rules:
                continue
            if base is None:
                base = await self._facts(user_id)
            facts = replace(base, **_watch_facts(card.groups), **_link_facts(card.discord_link))
            shadow = await self._store.rules_shadow(binding.id)
            evaluated.append((card, binding, evaluate(rules, facts), shadow))
        if not evaluated:
            return cards
        notes = {c.channel_id: decision_text(d, shadow=s) for c, _, d, s in evaluated}
        live = [(c, b, d) for c, b, d, s in evaluated if not s]
        outcomes = {d.outcome for _, _, d in live}
        if live and len(outcomes) > 1:
            for c, _, _ in live:
                notes[c.channel_id] = "Held for a moderator: the rules of the linked servers disagree."
        elif live and outcomes <= {"accept", "reject"}:
            card, binding, decision = live[0]
            assert decision.rule is not None
            rule = decision.rule
            actor = Actor(
                user_id=SYSTEM_USER_ID,
                name=f"GroupBridge rule #{rule.position}",
                guild_id=binding.guild_id,
                role_ids=frozenset(),
                manage_guild=True,
            )
            automated = {
                "automated": "yes",
                "rule": f"#{rule.position} {describe(rule)}",
                "values": ", ".join(f"{k}: {v}" for k, v in decision.values.items()),
            }
            try:
                verdict: Literal["accept", "reject"] = "accept" if decision.outcome == "accept" else "reject"
                await decide(actor, card.group_id, user_id, verdict, automated)
            except (ServiceError, VRChatError) as exc:
                log.info("rule #%s could not %s %s: %s", rule.position, decision.outcome, user_id, exc)
                for c, _, _ in live:
                    notes[c.channel_id] = (
                        f"Held for a moderator: rule #{rule.position} matched ({describe(rule)}), but "
                        f"the automatic {decision.outcome} failed: {exc}"
                    )
            else:
                state = STATE_OF[decision.outcome]
                live_channels = {c.channel_id for c, _, _ in live}
                return [
                    replace(
                        c,
                        state=state,
                        rule_note=notes.get(c.channel_id)
                        if c.channel_id in live_channels
                        else f"{state.capitalize()} automatically by the rules of another linked server.",
                    )
                    for c in cards
                ]
        return [replace(c, rule_note=notes.get(c.channel_id)) for c in cards]
