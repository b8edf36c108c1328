"""Join-request rules: per binding, off until an admin adds one; evaluated once, when a card is posted.

`evaluate` is pure: the first rule whose condition holds decides; no match means a moderator decides
("hold"). It fails closed: a rule that needs a fact VRChat did not give (no join date, no trust tags,
no group list...) or a failed lookup stops the evaluation with "hold" and the reason. Missing data
never leads to "accept", nor to "reject".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from bot.rule_syntax import RuleSyntaxError, parse_rule
from bot.services.access import Access
from bot.services.common import ActionLog, Actor, InvalidInput, NotFoundError
from bot.store import Binding
from bot.store.ports import RuleBook
from bot.store.rules import RequestRule, RuleKind, RuleOutcome
from bot.vrchat.trust import TRUST_ORDER, trust_rank

T = TypeVar("T")

MAX_RULES = 25
KIND_TEXT: dict[str, str] = {
    "age_verified": "age verified (18+)",
    "trust_at_least": "trust at least {}",
    "account_age_days_at_least": "account at least {} days old",
    "in_watchlisted_group": "in a watchlisted group",
    "keyword": "name or bio contains “{}”",
    "linked_in_server": "linked and in this Discord server",
}

# How the facts a matching rule looked at read on the card, after its description.
SEEN_TEXT: dict[str, str] = {"in_watchlisted_group": "in {}", "keyword": "found in {}"}


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about a requester. None = VRChat did not say (or was not asked successfully)."""

    display_name: str | None = None
    bio: str | None = None
    tags: tuple[str, ...] | None = None
    age_verification_status: str | None = None
    date_joined: date | None = None
    watch_hits: tuple[str, ...] | None = None  # names of the requester's watchlisted groups
    groups_known: bool = False  # the group list was fetched and is not empty (private lists are empty)
    error: str | None = None  # a lookup failed: nothing is decided automatically
    today: date | None = None
    # Linked to a Discord account that is in the card's server; None: the member lookup failed.
    linked_in_server: bool | None = None


@dataclass(frozen=True, slots=True)
class RuleDecision:
    outcome: RuleOutcome
    rule: RequestRule | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""


class MissingFact(Exception):
    pass


def describe(rule: RequestRule) -> str:
    return KIND_TEXT[rule.kind].format(rule.parameter or "")


def _need(value: T | None, what: str) -> T:
    if value is None or value == () or value == "":
        raise MissingFact(what)
    return value


def _matches(rule: RequestRule, facts: Facts) -> tuple[bool, dict[str, str]]:
    """Whether the rule's condition holds, and the facts it looked at; MissingFact when unknown."""
    if rule.kind == "age_verified":
        status = str(_need(facts.age_verification_status, "age verification status"))
        return status == "18+", {"age verification": status}
    if rule.kind == "trust_at_least":
        rank = trust_rank(_need(facts.tags, "trust tags"))
        wanted = TRUST_ORDER.index(str(rule.parameter))
        return TRUST_ORDER.index(rank) >= wanted, {"trust": rank}
    if rule.kind == "account_age_days_at_least":
        joined = _need(facts.date_joined, "account creation date")
        today = _need(facts.today, "today's date")
        days = (today - joined).days
        return days >= int(str(rule.parameter)), {"account age": f"{days} days"}
    if rule.kind == "in_watchlisted_group":
        if not facts.groups_known or facts.watch_hits is None:
            raise MissingFact("group list (unavailable or private)")
        return bool(facts.watch_hits), {"watchlisted groups": ", ".join(facts.watch_hits) or "none"}
    if rule.kind == "keyword":
        name = str(_need(facts.display_name, "display name"))
        if facts.bio is None:
            raise MissingFact("bio")
        needle = str(rule.parameter).casefold()
        where = [w for w, text in (("name", name), ("bio", facts.bio)) if needle in text.casefold()]
        return bool(where), {"keyword found in": " and ".join(where) or "neither"}
    if rule.kind == "linked_in_server":
        if facts.linked_in_server is None:
            raise MissingFact("Discord link (whether they are in this server could not be checked)")
        return facts.linked_in_server, {}  # the description says it all
    raise MissingFact(f"an unknown kind of rule ({rule.kind})")


def evaluate(rules: Sequence[RequestRule], facts: Facts) -> RuleDecision:
    """First matching rule wins; nothing matches → hold; anything unknown → hold, with the reason."""
    if facts.error:
        return RuleDecision("hold", reason=f"a lookup failed ({facts.error}), so no rule was applied")
    for rule in sorted(rules, key=lambda r: r.position):
        try:
            matched, values = _matches(rule, facts)
        except (MissingFact, ValueError, TypeError) as exc:
            what = str(exc) if isinstance(exc, MissingFact) else "a bad rule parameter"
            return RuleDecision(
                "hold", rule, reason=f"rule #{rule.position} needs the {what}, which is unknown"
            )
        if matched:
            return RuleDecision(rule.outcome, rule, values)
    return RuleDecision("hold", reason="no rule matched")


def decision_text(decision: RuleDecision, *, shadow: bool = False) -> str:
    """ "Automatically accepted by rule #2 (trust at least Known User: was Trusted User)." and kin."""
    rule = decision.rule
    if rule is None or decision.reason:  # nothing matched, or something was unknown
        if shadow:
            return f"Shadow mode: would have held it for a moderator: {decision.reason}."
        return f"Held for a moderator: {decision.reason}."
    seen = ", ".join(decision.values.values())
    detail = (
        f"{describe(rule)}: {SEEN_TEXT.get(rule.kind, 'was {}').format(seen)}" if seen else describe(rule)
    )
    if shadow:
        verb = {"accept": "accepted", "reject": "rejected", "hold": "held it for a moderator"}
        would = f"rule #{rule.position} would have {verb[decision.outcome]}"
        return f"Shadow mode: {would} ({detail}); nothing was changed."
    if decision.outcome == "hold":
        return f"Held for a moderator by rule #{rule.position} ({detail})."
    verb = {"accept": "accepted", "reject": "rejected"}
    return f"Automatically {verb[decision.outcome]} by rule #{rule.position} ({detail})."


def checked_rule(kind: str, parameter: str | None, outcome: str) -> tuple[RuleKind, str | None, RuleOutcome]:
    """Validate what an admin typed (bot.rule_syntax); InvalidInput names what would be accepted."""
    try:
        return parse_rule(kind, parameter, outcome)
    except RuleSyntaxError as exc:
        raise InvalidInput(str(exc)) from None


class RulesService:
    """`/bridge rules`: admins (Manage Server) manage their own binding's rules only."""

    def __init__(self, store: RuleBook, access: Access, actions: ActionLog) -> None:
        self._store = store
        self._access = access
        self._actions = actions

    async def add(
        self, actor: Actor, guild_id: int, group: str | None, kind: str, parameter: str | None, outcome: str
    ) -> RequestRule:
        checked = checked_rule(kind, parameter, outcome)
        binding = await self._access.admin_binding(actor, guild_id, group)
        if len(await self._store.list_rules([binding.id])) >= MAX_RULES:
            raise InvalidInput(f"A server can have at most {MAX_RULES} rules per group; remove one first.")
        rule = await self._store.add_rule(binding.id, *checked, actor.user_id)
        await self._actions.record(
            actor,
            binding.group_id,
            "rules.add",
            details={"rule": rule.position, "text": describe(rule), "outcome": rule.outcome},
        )
        return rule

    async def remove(self, actor: Actor, guild_id: int, group: str | None, number: int) -> None:
        binding = await self._access.admin_binding(actor, guild_id, group)
        if not await self._store.remove_rule(binding.id, number):
            raise NotFoundError(f"There is no rule #{number} here; see the rules list.")
        await self._actions.record(actor, binding.group_id, "rules.remove", details={"rule": number})

    async def list(
        self, actor: Actor, guild_id: int, group: str | None
    ) -> tuple[Binding, list[RequestRule], bool]:
        binding = await self._access.admin_binding(actor, guild_id, group)
        rules = await self._store.list_rules([binding.id])
        return binding, rules, await self._store.rules_shadow(binding.id)

    async def shadow(self, actor: Actor, guild_id: int, group: str | None, on: bool) -> None:
        binding = await self._access.admin_binding(actor, guild_id, group)
        await self._store.set_rules_shadow(binding.id, on)
        await self._actions.record(
            actor, binding.group_id, "rules.shadow", details={"shadow": "on" if on else "off"}
        )


async def apply_config_rules(
    store: RuleBook, binding_id: int, rules: list[tuple[str, str | None, str]], shadow: bool
) -> None:
    """Make a binding's rules exactly those of config.toml (idempotent: same list, same numbers)."""
    checked = [checked_rule(kind, parameter, outcome) for kind, parameter, outcome in rules]
    existing = await store.list_rules([binding_id])
    if [(r.kind, r.parameter, r.outcome) for r in existing] != checked:
        for rule in existing:
            await store.remove_rule(binding_id, rule.position)
        for kind, parameter, outcome in checked:
            await store.add_rule(binding_id, kind, parameter, outcome, 0)  # 0: declared, not a Discord user
    await store.set_rules_shadow(binding_id, shadow)
