"""What a join-request rule may say, checked in one place for `/bridge rules add` (bot.services.rules)
and for the `rules` of a [[bindings]] entry in config.toml (bot.config.models).

It sits below both: the config must not import the services, which read the config.
"""

from __future__ import annotations

from bot.store.rules import RULE_KINDS, RULE_OUTCOMES, RuleKind, RuleOutcome
from bot.text import quoted
from bot.vrchat.trust import TRUST_ORDER

KEYWORD_MAX = 100
_KINDS: dict[str, RuleKind] = {kind: kind for kind in RULE_KINDS}
_OUTCOMES: dict[str, RuleOutcome] = {outcome: outcome for outcome in RULE_OUTCOMES}


class RuleSyntaxError(ValueError):
    """A rule as typed cannot be kept; the text names what would be accepted."""


def parse_rule(kind: str, parameter: str | None, outcome: str) -> tuple[RuleKind, str | None, RuleOutcome]:
    """The rule in canonical form (condition and outcome lower case, a trust rank spelled as VRChat
    spells it, a day count without leading zeros, a keyword's spaces collapsed)."""
    kind = kind.strip().lower()
    outcome = outcome.strip().lower()
    known_kind = _KINDS.get(kind)
    if known_kind is None:
        raise RuleSyntaxError(f"Unknown condition {quoted(kind, 40)}; choose from {', '.join(RULE_KINDS)}.")
    known_outcome = _OUTCOMES.get(outcome)
    if known_outcome is None:
        raise RuleSyntaxError(f"A rule can accept, reject or hold, not {quoted(outcome, 20)}.")
    text = " ".join((parameter or "").split())
    if known_kind == "trust_at_least":
        ranks = {r.casefold(): r for r in TRUST_ORDER}
        if text.casefold() not in ranks:
            raise RuleSyntaxError(f"Trust rank must be one of: {', '.join(TRUST_ORDER)}.")
        return known_kind, ranks[text.casefold()], known_outcome
    if known_kind == "account_age_days_at_least":
        if not (text.isascii() and text.isdigit()) or int(text) > 36500:  # "²" passes isdigit() alone
            raise RuleSyntaxError("The account age is a whole number of days, like 30.")
        return known_kind, str(int(text)), known_outcome
    if known_kind == "keyword":
        if not text or len(text) > KEYWORD_MAX:
            raise RuleSyntaxError(f"A keyword is between 1 and {KEYWORD_MAX} characters.")
        return known_kind, text, known_outcome
    if text:
        raise RuleSyntaxError(f"The condition {known_kind} takes no parameter.")
    return known_kind, None, known_outcome
