"""bot/config/loader.py against arbitrary TOML documents, environments and files: a Config, or a
ConfigError whose every problem has a key, a plausible line and a one-line message; never another
exception, never a secret in the output."""

from __future__ import annotations

import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.config import ConfigError, load_config, load_config_text
from bot.config.models import (
    SECTION_MODELS,
    AlertsConfig,
    BindingConfig,
    GroupConfig,
    RuleConfig,
    env_var_name,
)
from bot.config.summary import describe_config
from tests.fixtures.configs import to_toml as write_toml
from tests.hostile.strategies import examples, hostile_text

# Distinctive pieces of every secret: none of them may appear in any message, note or summary.
PW_LEFT, PW_RIGHT, DB_LEFT, DB_RIGHT = "PwLeftQz7", "PwRightQz7", "DbLeftQz7", "DbRightQz7"
TOKEN = "TkLeftQz7aaaa.GaBcDe.TkRightQz7abcdefghijklmnop"
TOTP = "QZSECRETTOTPQZAB"
MARKERS = (PW_LEFT, PW_RIGHT, DB_LEFT, DB_RIGHT, "TkLeftQz7", "TkRightQz7", TOTP)
# What Python or a library says, never what an operator should read.
INTERNALS = re.compile(r"invalid literal|Traceback|<class |object at 0x|NoneType|Input should be")
GROUP = "grp_0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def to_toml(doc: dict[str, Any]) -> str:
    """The tests' TOML writer with every key quoted: the line checks below look for quoted keys."""
    return write_toml(doc, quote_keys=True)


# --- documents -------------------------------------------------------------------------------------------

REAL_KEYS = sorted(
    {*SECTION_MODELS, "groups", "bindings", "rules", "alerts"}
    | {
        f
        for m in (*SECTION_MODELS.values(), GroupConfig, BindingConfig, RuleConfig, AlertsConfig)
        for f in m.model_fields
    }
)
keys = st.one_of(st.sampled_from(REAL_KEYS), hostile_text(40))
scalars = st.one_of(
    hostile_text(300),
    st.sampled_from(
        ["²", "١٢٣", "１２３", " 12 ", "0x10", "1e3", "-1", "", " ", GROUP, "grp_X", "all", "debug"]
    ),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
database_urls = st.builds(
    "postgresql+asyncpg://bridge:{}{}{}@{}/bridge".format,
    st.just(DB_LEFT),
    st.sampled_from(["", "@", ":", "@h:", "/", "?", "#", ":@", "%", "@x:y@", "[", "]"]),
    st.just(DB_RIGHT),
    st.sampled_from(["localhost", "localhost:5432", "localhost:port", "[::1]", "[::1", "h:99999999999"]),
)


def valid_doc(password_sep: str, database_url: str) -> dict[str, Any]:
    return {
        "vrchat": {
            "username": "ModBot",
            "password": f"{PW_LEFT}{password_sep}{PW_RIGHT}",
            "totp_secret": TOTP,
            "user_agent": "GroupBridge/0.1 (admin@mygroup.net)",
        },
        "discord": {"token": TOKEN, "guild_ids": [111111111111111111]},
        "database": {"url": database_url},
        "groups": [{"id": GROUP, "name": "Group A"}],
        "bindings": [{"group_id": GROUP, "guild_id": 111111111111111111, "feed_channel_id": 3333333333}],
    }


@st.composite
def mutated_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with a few keys (real ones mostly) set to arbitrary values, added or removed."""
    doc = valid_doc(draw(st.sampled_from(["", " ", "@", "\n", '"'])), draw(database_urls))
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from([*doc, *REAL_KEYS[:3], "bogus"]))
        table = doc.get(section)
        if isinstance(table, list) and table and isinstance(table[0], dict):
            table = table[0]
        action = draw(st.sampled_from(["set", "set", "drop", "replace"]))
        if action == "replace" or not isinstance(table, dict):
            doc[section] = draw(values)
        elif action == "drop" and table:
            table.pop(draw(st.sampled_from(sorted(table))))
        else:
            table[draw(keys)] = draw(values)
    return doc


env_names = st.one_of(
    st.sampled_from(
        [env_var_name(s, f) for s, m in SECTION_MODELS.items() for f in m.model_fields]
        + ["GROUPBRIDGE_GROUPS__ID", "GROUPBRIDGE_BOGUS__X", "GROUPBRIDGE_VRCHAT__", "GROUPBRIDGE___"]
    ),
    hostile_text(40).map(lambda t: "GROUPBRIDGE_" + t),
)
# Secrets only ever go into the secret variables: anywhere else they would rightly be shown.
env_secrets = st.fixed_dictionaries(
    {},
    optional={
        env_var_name("vrchat", "password"): st.just(f"{PW_LEFT}@{PW_RIGHT}"),
        env_var_name("vrchat", "totp_secret"): st.just(TOTP),
        env_var_name("discord", "token"): st.just(TOKEN),
    },
)
envs = st.builds(
    lambda a, b: {**a, **b}, st.dictionaries(env_names, scalars.map(str), max_size=4), env_secrets
)


# --- the property ----------------------------------------------------------------------------------------


def assert_loads_or_explains(text: str, env: dict[str, str], doc: dict[str, Any] | None = None) -> None:
    try:
        config = load_config_text(text, env=env)
    except ConfigError as error:
        shown = "\n".join([str(error), *error.notes])
        assert error.problems, "a ConfigError without problems"
        assert str(error).count("\n") == len(error.problems) - 1, f"a problem spans lines: {str(error)!r}"
        line_count = text.count("\n") + 1
        for problem in error.problems:
            assert isinstance(problem.key, str) and problem.message.strip(), problem
            assert not INTERNALS.search(problem.message), problem
            assert len(problem.message) <= 1000, problem
            if problem.message.startswith("TOML syntax error"):
                assert problem.line is not None, problem
            assert problem.line is None or 1 <= problem.line <= line_count, (problem, line_count)
            section = re.split(r"[.\[]", problem.key, maxsplit=1)[0]
            if doc is not None and not env and section in doc:
                assert problem.line is not None, f"{problem} is about a table written in the file"
    else:
        shown = "\n".join([repr(config), str(config), *describe_config(config)])
    leaked = [m for m in MARKERS if m in shown]
    assert not leaked, f"secret pieces {leaked} shown in:\n{shown}"


@examples(150)
@given(doc=mutated_docs())
@example(doc={**valid_doc("", "sqlite+aiosqlite:///x.db"), "discord": {"token": TOKEN, "guild_ids": ["²"]}})
@example(
    doc={**valid_doc("", "sqlite+aiosqlite:///x.db"), "bindings": [{"group_id": GROUP, "guild_id": "²"}]}
)
@example(doc=valid_doc("", f"postgresql+asyncpg://u:{DB_LEFT}@{DB_RIGHT}:x@h/db"))
def test_a_mutated_config_loads_or_lists_clear_problems(doc: dict[str, Any]) -> None:
    assert_loads_or_explains(to_toml(doc), {}, doc)


@examples(100)
@given(doc=st.dictionaries(keys, values, max_size=6))
def test_an_arbitrary_document_loads_or_lists_clear_problems(doc: dict[str, Any]) -> None:
    assert_loads_or_explains(to_toml(doc), {}, doc)


@examples(100)
@given(doc=mutated_docs(), env=envs)
def test_environment_overrides_load_or_list_clear_problems(doc: dict[str, Any], env: dict[str, str]) -> None:
    assert_loads_or_explains(to_toml(doc), env)


@examples(150)
@given(
    text=st.one_of(
        hostile_text(2000),
        st.builds("{}\n{}".format, st.just(to_toml(valid_doc("", "x"))), hostile_text(300)),
    )
)
@example(text='a = "')
@example(text="[")
@example(text="'\r@everyone")  # the line was counted with str.splitlines(): 2 in a file of 1
def test_arbitrary_text_loads_or_lists_clear_problems(text: str) -> None:
    assert_loads_or_explains(text, {})


@examples(60)
@given(
    data=st.one_of(
        st.binary(max_size=300), hostile_text(300).map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
)
@example(data=b"\xff\xfe[vrchat]")
@example(data=b"\xef\xbb\xbf[vrchat]\n")
def test_arbitrary_bytes_in_a_file_load_or_list_clear_problems(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_bytes(data)
        try:
            load_config(path, env={})
        except ConfigError as error:
            assert error.problems and all(p.message.strip() for p in error.problems)
            assert not any(INTERNALS.search(p.message) for p in error.problems), error


@examples(100)
@given(
    doc=st.dictionaries(
        keys,
        st.recursive(
            scalars.filter(lambda v: v == v),
            lambda i: st.lists(i, max_size=3) | st.dictionaries(keys, i, max_size=3),
            max_leaves=8,
        ),
        max_size=5,
    )
)
def test_the_toml_writer_round_trips(doc: dict[str, Any]) -> None:
    # The other properties are only as good as the documents they feed the loader.
    assert tomllib.loads(to_toml(doc)) == doc


def test_a_line_separator_inside_a_string_does_not_shift_line_numbers() -> None:
    doc = valid_doc("", "sqlite+aiosqlite:///x.db")
    doc["groups"][0]["name"] = "A\u2028B\x85C"
    doc["feed"] = {"backfill": "sometimes"}
    text = to_toml(doc)
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    (problem,) = info.value.problems
    assert problem.line == text.split("\n").index('"backfill" = "sometimes"') + 1


def test_an_escaped_quoted_key_is_found_on_its_line() -> None:
    text = to_toml({**valid_doc("", "sqlite+aiosqlite:///x.db"), "x\ty": 1})
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    (problem,) = info.value.problems
    assert problem.line == 1


def test_an_unescaped_at_in_a_database_password_is_refused_not_half_shown() -> None:
    text = to_toml(valid_doc("", f"postgresql+asyncpg://bridge:{DB_LEFT}@{DB_RIGHT}@localhost/bridge"))
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={})
    assert DB_RIGHT not in str(info.value)
