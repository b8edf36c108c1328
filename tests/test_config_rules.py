"""Join-request rules declared in config.toml: validated with key and line, applied at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config_text
from bot.store import BindingIn, Store
from bot.wiring import apply_declared_rules
from tests.fixtures.configs import BOUND_GROUP, one_binding_text


def config_text(rules: str, shadow: str = "false") -> str:
    return one_binding_text(f"{rules}\nrules_shadow = {shadow}")


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ('{ when = "vibes", then = "accept" }', "Unknown condition"),
        ('{ when = "age_verified", then = "maybe" }', "accept, reject or hold"),
        ('{ when = "trust_at_least", value = "Godlike", then = "accept" }', "Trust rank must be one of"),
        ('{ when = "account_age_days_at_least", value = "a week", then = "hold" }', "whole number of days"),
        ('{ when = "age_verified", value = "yes", then = "accept" }', "takes no parameter"),
    ],
)
def test_bad_rules_are_reported_with_key_and_line(rule: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(config_text(f"rules = [ {rule} ]"), required=())
    (problem,) = err.value.problems
    assert problem.key.startswith("bindings[0].rules[0]") and needle in problem.message
    assert problem.line is not None


@pytest.mark.slow  # migrates a new SQLite file in a child process (bot.store.migrate)
async def test_declared_rules_replace_the_bindings_rules_at_start(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'rules.db'}")
    try:
        await store.upgrade()
        binding = await store.add_binding(BindingIn(BOUND_GROUP, 111111111111111111, 333333333333333333))
        await store.add_rule(binding.id, "keyword", "old", "reject", 42)  # made with /bridge rules

        declared = load_config_text(
            config_text(
                'rules = [ { when = "keyword", value = "spam", then = "reject" },'
                ' { when = "trust_at_least", value = "known user", then = "accept" } ]',
                shadow="true",
            ),
            required=(),
        )
        for _ in range(2):  # idempotent: the same list and numbers after every start
            await apply_declared_rules(store, declared)
            rules = await store.list_rules([binding.id])
            assert [(r.position, r.kind, r.parameter, r.outcome) for r in rules] == [
                (1, "keyword", "spam", "reject"),
                (2, "trust_at_least", "Known User", "accept"),
            ]
        assert await store.rules_shadow(binding.id) is True

        silent = load_config_text(config_text(""), required=())  # no `rules` key: leave them alone
        await apply_declared_rules(store, silent)
        assert len(await store.list_rules([binding.id])) == 2
    finally:
        await store.close()
