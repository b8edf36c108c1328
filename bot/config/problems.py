"""What is wrong with a configuration: ``Problem``, ``ConfigError``, and the translation of pydantic's
validation errors into messages that name the key, its line, and what to write instead."""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.config.locate import KeyLines, Loc
from bot.config.models import SECTION_MODELS, Config, env_var_name

#: The tables that are arrays, and how they are written.
ARRAY_SECTIONS = {"groups": "[[groups]]", "bindings": "[[bindings]]"}


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
        key, message = printable(self.key), printable(self.message)
        return f"{where}: {key}: {message}" if key else f"{where}: {message}"


def printable(text: str) -> str:
    """`text` with every non-printable character escaped: a key may be any string (quoted TOML keys,
    variable names), and a newline or terminal escape in it must not break or forge the one line per
    problem that check-config prints."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` lists everything wrong, in file order.

    ``notes`` are remarks that are not problems (see ``config_notes``), worked out from whatever could
    be read, so ``check-config`` can still show them; they are not part of ``str(error)``.
    """

    def __init__(
        self,
        problems: Iterable[Problem],
        source: str | os.PathLike[str] = "config.toml",
        *,
        notes: Iterable[str] = (),
    ) -> None:
        self.problems: list[Problem] = list(problems)
        self.source = str(source)
        self.notes: list[str] = list(notes)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(p.format(self.source) for p in self.problems)


def did_you_mean(word: str, choices: Iterable[str], render: Callable[[str], str] = str) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {render(close[0])}?)" if close else ""


def format_loc(loc: Loc) -> str:
    """('bindings', 1, 'group_id') -> 'bindings[1].group_id'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def translate(
    exc: ValidationError, data: dict[str, Any], lines: KeyLines, env_keys: list[str]
) -> list[Problem]:
    """One ``Problem`` per validation error, located on its line (or naming its environment variable)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = _plain_loc(error["loc"], data)
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


def _plain_loc(loc: Iterable[int | str], data: Any) -> Loc:
    """pydantic's location without its internal tags (e.g. "function-after[...]"), so locations are
    plain keys. A part with "[" is a tag only when the data has no such key there: a key in the file
    may be "[x]" too."""
    out: list[int | str] = []
    node = data
    for part in loc:
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not present and isinstance(part, str) and "[" in part:
            continue
        out.append(part)
        node = node[part] if present else None
    return tuple(out)


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

# A check that converts text with int()/float() can let Python's ValueError through (bot.config.checks
# quotes no values; these messages do).
_CONVERSION_ERROR = re.compile(r"invalid literal for int\(\)|could not convert string to float")
_DIGITS = "must be a number written with the digits 0-9"
_URL_NUMBER = (
    "has a port that is not a number; if the password contains @, : or /, write them as %40, %3A, %2F"
)

_BOUNDS = {
    "greater_than": ("must be greater than", "gt"),
    "greater_than_equal": ("must be at least", "ge"),
    "less_than": ("must be less than", "lt"),
    "less_than_equal": ("must be at most", "le"),
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
            return "unknown key: settings belong inside a table such as [vrchat]" + did_you_mean(
                name, [f"{section}.{key}" for section, m in SECTION_MODELS.items() for key in m.model_fields]
            )
        if len(loc) == 1:
            return "unknown section" + did_you_mean(name, choices, lambda c: f"[{c}]")
        return "unknown key" + did_you_mean(name, choices)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if len(loc) == 1:
            return f"must be a table: write [{loc[0]}] on a line of its own, followed by its keys"
        return "must be a table"
    if kind == "list_type" and len(loc) == 1 and loc[0] in ARRAY_SECTIONS:
        return f"must be written as {ARRAY_SECTIONS[str(loc[0])]} tables"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        if _CONVERSION_ERROR.match(message):
            # Python's own message quotes what it could not convert; in a URL that is the port or,
            # when the password holds an unescaped "@" or ":", a piece of the password.
            return _URL_NUMBER if loc and loc[-1] == "url" else _DIGITS
        return message
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    if kind in _BOUNDS and _BOUNDS[kind][1] in ctx:
        text, name = _BOUNDS[kind]
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
