"""Request rules: pure evaluation (first match wins, fail closed) and the admin-only rule list."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from bot.services.registry import InvalidInput, PermissionDenied, Services
from bot.services.rules import Facts, RuleDecision, checked_rule, decision_text, evaluate
from bot.store import Store
from bot.store.rules import RULE_KINDS, RequestRule
from tests.services.conftest import ADA, GUILD, MAYA

TODAY = date(2026, 11, 25)
VETERAN = ("system_trust_basic", "system_trust_known", "system_trust_trusted", "system_trust_veteran")
FULL = Facts(
    display_name="Carol",
    bio="I like raids",
    tags=VETERAN,
    age_verification_status="18+",
    date_joined=date(2020, 1, 1),
    watch_hits=("Raiders",),
    groups_known=True,
    today=TODAY,
    linked_in_server=True,
)
PARAMS = {"trust_at_least": "Known User", "account_age_days_at_least": "30", "keyword": "raid"}
# The facts each kind of condition reads: removing any of them must never lead to "accept".
NEEDS = {
    "age_verified": {"age_verification_status"},
    "trust_at_least": {"tags"},
    "account_age_days_at_least": {"date_joined", "today"},
    "in_watchlisted_group": {"watch_hits", "groups_known"},
    "keyword": {"display_name", "bio"},
    "linked_in_server": {"linked_in_server"},
}
EMPTY = {
    "display_name": None,
    "bio": None,
    "tags": None,
    "age_verification_status": None,
    "date_joined": None,
    "watch_hits": None,
    "groups_known": False,
    "today": None,
    "linked_in_server": None,
}


def rule(position: int, kind: str, outcome: str = "accept", parameter: str | None = None) -> RequestRule:
    return RequestRule(
        id=position,
        binding_id=1,
        position=position,
        kind=kind,  # type: ignore[arg-type]
        parameter=parameter if parameter is not None else PARAMS.get(kind),
        outcome=outcome,  # type: ignore[arg-type]
        created_by=1,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_first_matching_rule_wins() -> None:
    rules = [rule(1, "age_verified", "reject"), rule(2, "trust_at_least", "accept")]
    decision = evaluate(rules, replace(FULL, age_verification_status="hidden"))
    assert decision.outcome == "accept" and decision.rule == rules[1]
    assert decision.values == {"trust": "Trusted User"}
    assert decision_text(decision) == (
        "Automatically accepted by rule #2 (trust at least Known User: was Trusted User)."
    )
    assert evaluate(rules, FULL).outcome == "reject"


@pytest.mark.parametrize(
    ("kind", "facts", "matched"),
    [
        ("age_verified", replace(FULL, age_verification_status="verified"), False),
        ("trust_at_least", replace(FULL, tags=("system_trust_basic", "system_trust_known")), False),
        ("trust_at_least", replace(FULL, tags=("system_trust_basic", "system_trust_trusted")), True),
        ("account_age_days_at_least", replace(FULL, date_joined=date(2026, 11, 1)), False),
        ("account_age_days_at_least", replace(FULL, date_joined=date(2026, 10, 26)), True),
        ("in_watchlisted_group", replace(FULL, watch_hits=()), False),
        ("keyword", replace(FULL, bio="hello", display_name="RAIDer"), True),
        ("keyword", replace(FULL, bio="hello"), False),
        ("linked_in_server", replace(FULL, linked_in_server=False), False),
        ("linked_in_server", FULL, True),
    ],
)
def test_each_condition(kind: str, facts: Facts, matched: bool) -> None:
    decision = evaluate([rule(1, kind)], facts)
    assert decision.outcome == ("accept" if matched else "hold")
    assert (decision.reason == "no rule matched") is not matched


def test_nothing_matches_or_no_rules_holds() -> None:
    assert evaluate([], FULL) == RuleDecision("hold", reason="no rule matched")
    assert decision_text(evaluate([], FULL)) == "Held for a moderator: no rule matched."


def test_a_lookup_error_holds_whatever_the_rules() -> None:
    decision = evaluate([rule(1, "age_verified")], replace(FULL, error="ServerError: 500"))
    assert decision.outcome == "hold" and "ServerError" in decision.reason


@pytest.mark.parametrize("kind", RULE_KINDS)
@pytest.mark.parametrize("outcome", ["accept", "reject"])
def test_a_missing_fact_holds_instead_of_deciding(kind: str, outcome: str) -> None:
    for field in NEEDS[kind]:
        decision = evaluate([rule(1, kind, outcome)], replace(FULL, **{field: EMPTY[field]}))
        assert decision.outcome == "hold", (kind, field)
        assert "unknown" in decision.reason


def test_no_tags_and_a_private_group_list_count_as_missing() -> None:
    assert (
        evaluate([rule(1, "trust_at_least", "reject", "Visitor")], replace(FULL, tags=())).outcome == "hold"
    )
    private = replace(FULL, watch_hits=(), groups_known=False)
    assert evaluate([rule(1, "in_watchlisted_group", "reject")], private).outcome == "hold"


@pytest.mark.parametrize("seed", range(40))
def test_fuzz_missing_fields_never_accept(seed: int) -> None:
    """Random rule lists, random facts removed: "accept" only ever comes from a rule ahead of every
    rule that needed a missing fact, and then exactly as it would with every fact present."""
    rng = random.Random(seed)
    for _ in range(50):
        rules = [
            rule(i + 1, rng.choice(RULE_KINDS), rng.choice(["accept", "accept", "reject", "hold"]))
            for i in range(rng.randint(1, 5))
        ]
        removed = set(rng.sample(sorted(EMPTY), rng.randint(1, len(EMPTY))))
        facts = replace(FULL, **{f: EMPTY[f] for f in removed})
        decision = evaluate(rules, facts)
        blocked = [r.position for r in rules if NEEDS[r.kind] & removed]
        if decision.outcome == "accept":
            assert decision.rule is not None
            assert not blocked or decision.rule.position < min(blocked), (rules, removed)
            assert evaluate(rules, FULL) == decision
        if blocked:
            ahead = [r for r in rules if r.position < min(blocked)]
            if evaluate(ahead, FULL).reason == "no rule matched":  # evaluation reaches a blocked rule
                assert decision.outcome == "hold" and "unknown" in decision.reason, (rules, removed)


@pytest.mark.parametrize(
    ("kind", "parameter", "error"),
    [
        ("nonsense", None, "Unknown condition"),
        ("trust_at_least", "Legend", "Trust rank"),
        ("account_age_days_at_least", "-3", "whole number"),
        ("keyword", "", "between 1 and"),
        ("age_verified", "yes", "takes no parameter"),
    ],
)
def test_bad_rules_are_refused(kind: str, parameter: str | None, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        checked_rule(kind, parameter, "accept")
    with pytest.raises(InvalidInput, match="accept, reject or hold"):
        checked_rule("age_verified", None, "ban")


async def test_rules_are_admin_only_and_numbered(services: Services, bound: Store) -> None:
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await services.rules.add(MAYA, GUILD, None, "age_verified", None, "accept")
    first = await services.rules.add(ADA, GUILD, None, "age_verified", None, "accept")
    second = await services.rules.add(ADA, GUILD, None, "trust_at_least", "known user", "reject")
    assert (first.position, second.position, second.parameter) == (1, 2, "Known User")
    await services.rules.remove(ADA, GUILD, None, 1)
    await services.rules.shadow(ADA, GUILD, None, True)
    _, rules, shadow = await services.rules.list(ADA, GUILD, None)
    assert [r.position for r in rules] == [2] and shadow is True
    third = await services.rules.add(ADA, GUILD, None, "keyword", "raid", "hold")
    assert third.position == 3
