"""Load ``config.toml``: parse, apply environment overrides, validate, and explain every problem.

``load_config`` either returns a complete ``Config`` or raises ``ConfigError`` listing *all* problems
at once, each with the key it is about and, when the key is in the file, its line number.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config.accounts import account_problems, secrets_from_env
from bot.config.checks import poll_floor_message
from bot.config.env import apply_env_overrides
from bot.config.locate import KeyLines
from bot.config.models import SECTION_MODELS, Config, FeedConfig, VRChatConfig, env_var_name
from bot.config.problems import ConfigError, Problem, translate
from bot.config.summary import notes_from_data

EXAMPLE_FILE = "config.example.toml"

#: Keys that are optional in the model but that a command may require with ``load_config(required=...)``.
CREDENTIAL_KEYS: tuple[str, ...] = ("vrchat.username", "vrchat.password", "discord.token")

#: What ``load_config`` requires unless told otherwise (``check-config`` and ``run``). The VRChat
#: password is not among them: ``groupbridge login`` (which can prompt for it) saves a session that
#: ``run`` reuses, so its absence is only a note (see ``config_notes``). ``login`` and ``db upgrade``
#: require none of these, ``sync`` only the Discord token.
REQUIRED_KEYS: tuple[str, ...] = ("vrchat.username", "discord.token")


def load_config(
    path: Path | str,
    env: Mapping[str, str] | None = None,
    *,
    required: Iterable[str] = REQUIRED_KEYS,
    skipped: Iterable[str] = (),
) -> Config:
    """Read, validate and return the configuration at ``path``.

    ``env`` (default: ``os.environ``) supplies ``GROUPBRIDGE_<SECTION>__<KEY>`` overrides, which win over
    the file. ``required`` lists dotted keys of ``CREDENTIAL_KEYS`` that must be set (by default
    ``REQUIRED_KEYS``). ``skipped`` names array tables read as if absent, for a command that does not
    use them (``group-id``). Raises ``ConfigError`` listing every problem, with ``notes_from_data`` notes.
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
    return load_config_text(text, source=path, env=env, required=required, skipped=skipped)


def load_config_text(
    text: str,
    *,
    source: Path | str = "config.toml",
    env: Mapping[str, str] | None = None,
    required: Iterable[str] = REQUIRED_KEYS,
    skipped: Iterable[str] = (),
) -> Config:
    """Like ``load_config`` but for TOML text already in memory (``source`` names it in messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [Problem("", f"TOML syntax error: {exc}", _toml_error_line(exc, text))], source
        ) from None

    lines = KeyLines(text)
    environ = os.environ if env is None else env
    data, env_keys, problems = apply_env_overrides(data, environ)
    for table in skipped:
        data.pop(table, None)
    data, account_env_keys, account_env_problems = secrets_from_env(data, environ, lines)
    env_keys += account_env_keys
    problems += account_env_problems
    for section in SECTION_MODELS:
        data.setdefault(section, {})  # so a missing table reports its missing keys one by one

    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += translate(exc, data, lines, env_keys)
    reported = {p.key for p in problems}
    problems += [p for p in _missing_required(data, required, lines) if p.key not in reported]
    problems += [p for p in _cross_checks(data, lines, reported) if p.key not in reported]
    problems += [p for p in account_problems(data, lines) if p.key not in reported]

    if problems or config is None:
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(problems, source, notes=notes_from_data(data))
    config._path = Path(source)
    config._env_keys = tuple(env_keys)
    return config


def _toml_error_line(exc: tomllib.TOMLDecodeError, text: str) -> int | None:
    if match := re.search(r"\(at line (\d+), column \d+\)", str(exc)):
        return int(match.group(1))
    if "end of document" in str(exc):
        # The last line with anything on it, counted as tomllib counts: only "\n" ends a line.
        return text.rstrip("\n").count("\n") + 1
    return None


# --- required keys ------------------------------------------------------------------------------------


def _missing_required(data: dict[str, Any], required: Iterable[str], lines: KeyLines) -> list[Problem]:
    problems = []
    for key in required:
        if key not in CREDENTIAL_KEYS:
            raise ValueError(f"load_config(required=...): {key!r} is not one of {CREDENTIAL_KEYS}")
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
        try:
            return int(value)
        except ValueError:  # "²" is a digit to str.isdigit() but not to int(); validation reports it
            return None
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
    problems += _poll_floor(data, lines, reported)
    problems += _quiet_ceiling(data, lines, reported)
    problems += _reconcile_floor(data, lines, reported)
    return problems


DEFAULT_VRCHAT_URL: str = VRChatConfig.model_fields["base_url"].default
DEFAULT_POLL_INTERVAL: float = FeedConfig.model_fields["poll_interval_seconds"].default


def _seconds(value: Any) -> float | None:
    """A number of seconds from the raw data (values from the environment arrive as text), or None
    when it is not one (validation reports that)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _quiet_ceiling(data: dict[str, Any], lines: KeyLines, reported: set[str]) -> list[Problem]:
    """A quiet group's polls may not come more often than the interval: a ceiling set below it."""
    key = "feed.quiet_poll_ceiling_seconds"
    feed = data.get("feed")
    if {key, "feed.poll_interval_seconds"} & reported or not isinstance(feed, dict):
        return []
    ceiling = _seconds(feed.get("quiet_poll_ceiling_seconds"))
    interval = _seconds(feed.get("poll_interval_seconds", DEFAULT_POLL_INTERVAL))
    if ceiling is None or interval is None or ceiling >= interval:
        return []
    message = (
        f"must be at least feed.poll_interval_seconds ({interval:g}): a quiet group is polled less often "
        "than a busy one, never more; set it equal to the interval to poll every group at the interval"
    )
    return [Problem(key, message, lines.nearest(("feed", "quiet_poll_ceiling_seconds")))]


#: The card round's own pace (bot.requests.loop.CARD_POLL_SECONDS): a reconcile cannot come sooner.
RECONCILE_FLOOR_SECONDS = 60.0


def _reconcile_floor(data: dict[str, Any], lines: KeyLines, reported: set[str]) -> list[Problem]:
    """The join-request reconcile replaces the per-minute listing: set below a minute, it would not."""
    key = "feed.request_reconcile_seconds"
    feed = data.get("feed")
    if key in reported or not isinstance(feed, dict):
        return []
    seconds = _seconds(feed.get("request_reconcile_seconds"))
    if seconds is None or seconds >= RECONCILE_FLOOR_SECONDS:
        return []
    message = (
        f"must be at least {RECONCILE_FLOOR_SECONDS:g} (the card round's own pace): a group whose audit "
        "log is mirrored has its join requests listed this often instead of every minute; "
        f"{RECONCILE_FLOOR_SECONDS:g} lists them every minute, as without the mirror"
    )
    return [Problem(key, message, lines.nearest(("feed", "request_reconcile_seconds")))]


def _poll_floor(data: dict[str, Any], lines: KeyLines, reported: set[str]) -> list[Problem]:
    """The feed's poll floor, which depends on where vrchat.base_url points (see poll_floor_message)."""
    if {"feed.poll_interval_seconds", "vrchat.base_url"} & reported:
        return []
    feed, vrchat = data.get("feed"), data.get("vrchat")
    interval = feed.get("poll_interval_seconds") if isinstance(feed, dict) else None
    base_url = vrchat.get("base_url", DEFAULT_VRCHAT_URL) if isinstance(vrchat, dict) else DEFAULT_VRCHAT_URL
    try:  # values from the environment arrive as text
        seconds = float(interval) if isinstance(interval, int | float | str) else None
    except ValueError:
        seconds = None
    if seconds is None or isinstance(interval, bool) or not isinstance(base_url, str):
        return []
    message = poll_floor_message(seconds, base_url.strip())
    if message is None:
        return []
    return [Problem("feed.poll_interval_seconds", message, lines.nearest(("feed", "poll_interval_seconds")))]
