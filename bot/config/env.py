"""Environment overrides: ``GROUPBRIDGE_<SECTION>__<KEY>`` variables win over ``config.toml``."""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Mapping
from functools import partial
from typing import Any

from pydantic import BaseModel

from bot.config.models import ENV_PREFIX, SECTION_MODELS, env_var_name
from bot.config.problems import ARRAY_SECTIONS, Problem, did_you_mean


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
            if section in ARRAY_SECTIONS:
                message = f"{ARRAY_SECTIONS[section]} entries can only be written in the config file"
            elif section == "accounts":
                message = (
                    "[[accounts]] entries can only be written in the config file; to keep an account's "
                    "secrets out of it, name variables of your own with password_env and totp_secret_env"
                )
            else:
                message = "environment variable does not match any setting" + did_you_mean(
                    section, SECTION_MODELS, lambda s: f"{ENV_PREFIX}{s.upper()}__..."
                )
            problems.append(Problem(name, message))
            continue
        if key not in model.model_fields:
            problems.append(
                Problem(
                    name,
                    "environment variable does not match any setting"
                    + did_you_mean(key, model.model_fields, partial(env_var_name, section)),
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
