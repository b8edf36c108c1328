"""Load ``config.toml``: parse, apply environment overrides, validate, and explain every problem.

``load_config`` either returns a complete ``Config`` or raises ``ConfigError`` listing *all* problems
at once, each with the key it is about and, when the key is in the file, its line number.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.config.locate import KeyLines, Loc
from bot.config.models import ENV_PREFIX, SECTION_MODELS, Config, env_var_name

EXAMPLE_FILE = "config.example.toml"

#: Secret keys, for the "where did the secrets come from" summary.
SECRET_KEYS: tuple[str, ...] = ("vrchat.password", "vrchat.totp_secret", "discord.token")

#: Keys that are optional in the model (``login`` can prompt for the VRChat ones, ``db upgrade`` needs
#: none) but that ``load_config`` requires unless told otherwise.
REQUIRED_KEYS: tuple[str, ...] = ("vrchat.username", "vrchat.password", "discord.token")

_ARRAY_SECTIONS = {"groups": "[[groups]]", "bindings": "[[bindings]]"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration.

    ``key`` is the dotted key (``bindings[1].group_id``), an environment variable name, or "" for the
    file as a whole. ``line`` is the 1-based line in the file, or None.
    """

    key: str
    message: str
    line: int | None = None

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` lists everything wrong, in file order."""

    def __init__(self, problems: Iterable[Problem], source: str | os.PathLike[str] = "config.toml") -> None:
        self.problems: list[Problem] = list(problems)
        self.source = str(source)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(p.format(self.source) for p in self.problems)


def load_config(
    path: Path | str, env: Mapping[str, str] | None = None, *, required: Iterable[str] = REQUIRED_KEYS
) -> Config:
    """Read, validate and return the configuration at ``path``.

    ``env`` (default: ``os.environ``) supplies ``GROUPBRIDGE_<SECTION>__<KEY>`` overrides, which win over
    the file. ``required`` lists dotted keys of ``REQUIRED_KEYS`` that must be set (by default all of
    them; the ``login`` and ``db upgrade`` commands pass fewer). Raises ``ConfigError`` listing every
    problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a BOM from Windows editors
    except FileNotFoundError:
        hint = f"cp {EXAMPLE_FILE} {path}" if path.name != EXAMPLE_FILE else "restore it from git"
        raise ConfigError(
            [Problem("", f"config file not found; to start from the example: {hint}")], path
        ) from None
    except IsADirectoryError:
        raise ConfigError([Problem("", "is a directory, not a config file")], path) from None
    except PermissionError:
        raise ConfigError([Problem("", "cannot be read (permission denied)")], path) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem("", "is not UTF-8 text")], path) from None
    return load_config_text(text, source=path, env=env, required=required)


def load_config_text(
    text: str,
    *,
    source: Path | str = "config.toml",
    env: Mapping[str, str] | None = None,
    required: Iterable[str] = REQUIRED_KEYS,
) -> Config:
    """Like ``load_config`` but for TOML text already in memory (``source`` names it in messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [Problem("", f"TOML syntax error: {exc}", _toml_error_line(exc, text))], source
        ) from None

    lines = KeyLines(text)
    data, env_keys, problems = apply_env_overrides(data, os.environ if env is None else env)
    for section in SECTION_MODELS:
        data.setdefault(section, {})  # so a missing table reports its missing keys one by one

    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += _translate(exc, data, lines, env_keys)
    reported = {p.key for p in problems}
    problems += [p for p in _missing_required(data, required, lines) if p.key not in reported]
    problems += [p for p in _cross_checks(data, lines, reported) if p.key not in reported]

    if problems or config is None:
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(problems, source)
    config._path = Path(source)
    config._env_keys = tuple(env_keys)
    return config


def _toml_error_line(exc: tomllib.TOMLDecodeError, text: str) -> int | None:
    if match := re.search(r"\(at line (\d+), column \d+\)", str(exc)):
        return int(match.group(1))
    if "end of document" in str(exc):
        return max(1, len(text.splitlines()))
    return None


# --- environment ---------------------------------------------------------------------------------------


def apply_env_overrides(
    data: dict[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """Merge ``GROUPBRIDGE_<SECTION>__<KEY>`` variables into the parsed TOML ``data``.

    Returns the new data (the input is not modified), the dotted keys that came from the environment,
    and problems with variables that name no setting. Empty variables count as unset. Values stay
    strings (pydantic converts numbers and booleans); list settings accept ``1,2,3`` or ``[1, 2, 3]``.
    """
    data = dict(data)
    env_keys: list[str] = []
    problems: list[Problem] = []
    for name in sorted(env):
        value = env[name]
        if not name.startswith(ENV_PREFIX) or "__" not in name or value == "":
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        model = SECTION_MODELS.get(section)
        if model is None:
            if section in _ARRAY_SECTIONS:
                message = f"{_ARRAY_SECTIONS[section]} entries can only be written in the config file"
            else:
                message = "environment variable does not match any setting" + _did_you_mean(
                    section, SECTION_MODELS, lambda s: f"{ENV_PREFIX}{s.upper()}__..."
                )
            problems.append(Problem(name, message))
            continue
        if key not in model.model_fields:
            problems.append(
                Problem(
                    name,
                    "environment variable does not match any setting"
                    + _did_you_mean(key, model.model_fields, lambda k, s=section: env_var_name(s, k)),
                )
            )
            continue
        table = data.get(section, {})
        if not isinstance(table, dict):
            continue  # the file's own type error for this table is reported by validation
        data[section] = {**table, key: _env_value(model, key, value)}
        env_keys.append(f"{section}.{key}")
    return data, env_keys, problems


def _env_value(model: type[BaseModel], key: str, value: str) -> Any:
    if typing.get_origin(model.model_fields[key].annotation) is list:
        if value.lstrip().startswith("["):
            try:
                return tomllib.loads(f"v = {value}")["v"]
            except tomllib.TOMLDecodeError:
                return value  # reported as "must be a list"
        return [part for part in re.split(r"[,\s]+", value) if part]
    return value


def _did_you_mean(word: str, choices: Iterable[str], render: Any = str) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {render(close[0])}?)" if close else ""


# --- validation errors ---------------------------------------------------------------------------------


def format_loc(loc: Loc) -> str:
    """('bindings', 1, 'group_id') -> 'bindings[1].group_id'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class whose fields are the keys at ``loc`` (the parent of an error's last element)."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        if typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model


_TYPE_MESSAGES = {
    "string_type": "must be a string (in quotes)",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list, like [1, 2]",
    "path_type": "must be a file path (a string)",
}


def _message(error: Mapping[str, Any], loc: Loc, raw: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        if len(loc) == 2 and loc[0] in SECTION_MODELS:
            return (
                f"is required: set it in the [{loc[0]}] table or with the environment variable "
                f"{env_var_name(str(loc[0]), str(loc[1]))}"
            )
        return "is required"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        parent = _model_at(loc[:-1])
        choices = list(parent.model_fields) if parent else []
        if len(loc) == 1 and not isinstance(raw, dict | list):
            return "unknown key: settings belong inside a table such as [vrchat]" + _did_you_mean(
                name, [f"{section}.{key}" for section, m in SECTION_MODELS.items() for key in m.model_fields]
            )
        if len(loc) == 1:
            return "unknown section" + _did_you_mean(name, choices, lambda c: f"[{c}]")
        return "unknown key" + _did_you_mean(name, choices)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if len(loc) == 1:
            return f"must be a table: write [{loc[0]}] on a line of its own, followed by its keys"
        return "must be a table"
    if kind == "list_type" and len(loc) == 1 and loc[0] in _ARRAY_SECTIONS:
        return f"must be written as {_ARRAY_SECTIONS[str(loc[0])]} tables"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    bounds = {
        "greater_than": ("must be greater than", "gt"),
        "greater_than_equal": ("must be at least", "ge"),
        "less_than": ("must be less than", "lt"),
        "less_than_equal": ("must be at most", "le"),
    }
    if kind in bounds and bounds[kind][1] in ctx:
        text, name = bounds[kind]
        return f"{text} {ctx[name]:g}" if isinstance(ctx[name], float) else f"{text} {ctx[name]}"
    msg = str(error["msg"])
    return msg.replace("Input should be", "must be", 1) if msg.startswith("Input should be") else msg


def _raw_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _translate(
    exc: ValidationError, data: dict[str, Any], lines: KeyLines, env_keys: list[str]
) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        # Drop pydantic's internal tags (e.g. "function-after[...]") so locations are plain keys.
        loc: Loc = tuple(p for p in error["loc"] if isinstance(p, int) or "[" not in p)
        message = _message(error, loc, _raw_at(data, loc))
        dotted = format_loc(loc[:2]) if len(loc) >= 2 else ""
        line: int | None
        if dotted in env_keys:
            line = None
            message += f" (from environment variable {env_var_name(str(loc[0]), str(loc[1]))})"
        else:
            line = lines.nearest(loc)
        problems.append(Problem(format_loc(loc), message, line))
    return problems


def _missing_required(data: dict[str, Any], required: Iterable[str], lines: KeyLines) -> list[Problem]:
    problems = []
    for key in required:
        if key not in REQUIRED_KEYS:
            raise ValueError(f"load_config(required=...): {key!r} is not one of {REQUIRED_KEYS}")
        section, _, name = key.partition(".")
        table = data.get(section)
        if not isinstance(table, dict):
            continue  # reported as "must be a table"
        value = table.get(name)
        variable = env_var_name(section, name)
        if value is None:
            message = (
                f"is required: set it in the [{section}] table or with the environment variable {variable}"
            )
            problems.append(Problem(key, message, lines.nearest((section, name))))
        elif isinstance(value, str) and not value.strip():
            message = f"is empty: fill it in, or set the environment variable {variable}"
            problems.append(Problem(key, message, lines.exact((section, name))))
    return problems


# --- checks across keys --------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _tables(data: dict[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(name)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _cross_checks(data: dict[str, Any], lines: KeyLines, reported: set[str]) -> list[Problem]:
    """Checks that involve more than one key; they run on the raw data so they work even when other
    keys are invalid (each one skips values that are the wrong type: those are reported anyway)."""
    groups_valid = not any(key == "groups" or key.startswith("groups[") for key in reported)
    problems = []
    first_seen: dict[str, int] = {}
    for i, group in _tables(data, "groups"):
        group_id = group.get("id")
        if not isinstance(group_id, str):
            continue
        group_id = group_id.strip()
        if group_id in first_seen:
            problems.append(
                Problem(
                    f"groups[{i}].id",
                    f"duplicate group id: {group_id} is already listed as groups[{first_seen[group_id]}]",
                    lines.nearest(("groups", i, "id")),
                )
            )
        else:
            first_seen[group_id] = i

    discord = data.get("discord")
    guild_ids = discord.get("guild_ids") if isinstance(discord, dict) else None
    synced = {_as_int(g) for g in guild_ids} - {None} if isinstance(guild_ids, list) else set()
    if any(key.startswith("discord.guild_ids") for key in reported):
        synced = set()  # unknown: don't pile consequences on top of the real problem
    seen_bindings: dict[tuple[str, int], int] = {}
    for j, binding in _tables(data, "bindings"):
        group_id = binding.get("group_id")
        if groups_valid and isinstance(group_id, str) and group_id.strip() not in first_seen:
            problems.append(
                Problem(
                    f"bindings[{j}].group_id",
                    f"group {group_id.strip()} is not in the allow-list: add a [[groups]] entry with this id",
                    lines.nearest(("bindings", j, "group_id")),
                )
            )
        guild_id = _as_int(binding.get("guild_id"))
        if synced and guild_id is not None and guild_id not in synced:
            problems.append(
                Problem(
                    f"bindings[{j}].guild_id",
                    "is not in discord.guild_ids, so the bot's commands would not exist in that server",
                    lines.nearest(("bindings", j, "guild_id")),
                )
            )
        channel_id = _as_int(binding.get("feed_channel_id"))
        if isinstance(group_id, str) and channel_id is not None:
            pair = (group_id.strip(), channel_id)
            if pair in seen_bindings:
                problems.append(
                    Problem(
                        f"bindings[{j}]",
                        f"binds the same group to the same feed channel as bindings[{seen_bindings[pair]}]",
                        lines.nearest(("bindings", j)),
                    )
                )
            else:
                seen_bindings[pair] = j
    return problems


# --- summary -------------------------------------------------------------------------------------------


def describe_config(config: Config) -> list[str]:
    """Human-readable summary lines for ``check-config``; never contains a secret value."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    account = config.vrchat.username or "(no username: `groupbridge login` asks for it)"
    out = [
        f"VRChat account {account} via {config.vrchat.base_url} "
        f"(2FA: {'TOTP secret configured' if config.vrchat.totp_secret else 'code asked at login'})",
        f"User-Agent: {config.vrchat.user_agent}",
    ]
    guilds = ", ".join(str(g) for g in config.discord.guild_ids) or "none (commands are synced globally)"
    out.append(f"Discord servers for commands: {guilds}")
    out.append(
        f"{plural(len(config.groups), 'allowed group')}:" if config.groups else "allowed groups: none yet"
    )
    out += [f"  {g.id}" + (f" ({g.name})" if g.name else "") for g in config.groups]
    out.append(f"{plural(len(config.bindings), 'binding')} in the config file")
    for b in config.bindings:
        out.append(f"  {b.group_id} -> server {b.guild_id}, feed channel {b.feed_channel_id}")
    out.append(f"database: {config.database.masked_url}")
    out.append(
        f"logging: {config.logging.level}" + (f" to {config.logging.file}" if config.logging.file else "")
    )
    out.append(
        f"feed: poll every {config.feed.poll_interval_seconds:g}s, backfill {config.feed.backfill}, "
        f"retention {f'{config.feed.retention_days} days' if config.feed.retention_days else 'forever'}"
    )
    sources = []
    for key in SECRET_KEYS:
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value is None:
            continue
        origin = f"environment ({env_var_name(section, name)})" if key in config.env_keys else "config file"
        sources.append(f"{key} from {origin}")
    out.append("secrets: " + "; ".join(sources))
    others = [k for k in config.env_keys if k not in SECRET_KEYS]
    if others:
        out.append("also from the environment: " + ", ".join(others))
    return out
