"""Application commands: bulk overwrite (what ``CommandTree.sync`` sends), listing, and the lookups
the interaction desk needs (which command an interaction names, who may see it, option types).

Discord refuses a bad command set as a whole with 400 50035 and an ``errors`` tree indexed by
command position.  The spec check (``openapi.py``) has already enforced lengths, counts, option and
choice types and how deep subcommands nest; ``check_commands`` adds Discord's documented rules the
spec cannot say: slash-command names (lower case, no spaces; context-menu names may have both),
unique names, at most 100 slash and 5 + 5 context-menu commands, required options first,
subcommands never mixed with other options, string choice values of at most 100 characters,
autocomplete and choices exclusive, and at most 4,000 characters per command in all.  A command
keeps its id across overwrites while its name and type stay the same, as on Discord.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .guilds import ADMINISTRATOR
from .handlers import API_PREFIX, BODY_KEY, STATE_KEY, json_response
from .models import SnowflakeFactory
from .state import ApiError
from .validation import FormErrors

CHAT_INPUT, USER, MESSAGE = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
MAX_COMMANDS = {CHAT_INPUT: 100, USER: 5, MESSAGE: 5}
MAX_CHOICE_VALUE = 100  # the spec allows 6,000; the docs (and Discord) 100
MAX_COMMAND_CHARACTERS = 4000
# Python's re has no \p{L}; \w (Unicode letters, digits, _) plus - and ' is the same set in practice.
_SLASH_NAME = re.compile(r"^[-_'\w]{1,32}$")
_KIND_NAMES = {CHAT_INPUT: "slash", USER: "user", MESSAGE: "message"}


@dataclass
class CommandSync:
    """One bulk overwrite as received: ``guild_id`` None for global."""

    guild_id: int | None
    commands: list[dict[str, Any]]


def _check_slash_name(errors: FormErrors, at: tuple[str | int, ...], name: Any) -> None:
    """Slash commands, subcommands and options; a context-menu name is any 1-32 characters (spec)."""
    if not isinstance(name, str) or not _SLASH_NAME.fullmatch(name) or name != name.lower():
        errors.add((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")


def _longest(item: dict[str, Any], key: str) -> int:
    """A text's characters toward the 4,000: its longest localization counts when longer."""
    texts = [item.get(key), *(item.get(f"{key}_localizations") or {}).values()]
    return max((len(t) for t in texts if isinstance(t, str)), default=0)


def _characters(item: dict[str, Any]) -> int:
    """Name, description and value of a command, its options and their choices, recursively."""
    total = _longest(item, "name") + _longest(item, "description")
    if isinstance(item.get("value"), str):
        total += len(item["value"])
    for key in ("options", "choices"):
        for child in item.get(key) or []:
            if isinstance(child, dict):
                total += _characters(child)
    return total


def _check_choices(errors: FormErrors, at: tuple[str | int, ...], option: dict[str, Any]) -> None:
    choices = option.get("choices") or []
    if choices and option.get("autocomplete"):
        errors.add(at, "AUTOCOMPLETE_CHOICES_EXCLUSIVE", "Autocomplete and choices are exclusive")
    for j, choice in enumerate(choices):
        value = choice.get("value") if isinstance(choice, dict) else None
        if isinstance(value, str) and len(value) > MAX_CHOICE_VALUE:
            errors.add(
                (*at, "choices", j, "value"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_CHOICE_VALUE} or fewer in length.",
            )


def _check_options(errors: FormErrors, at: tuple[str | int, ...], options: Any) -> None:
    if not isinstance(options, list):
        return  # the spec check reported it
    seen: set[str] = set()
    optional_seen = False
    kinds = {o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options if isinstance(o, dict)}
    if len(kinds) > 1:
        errors.add(
            at,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Subcommands and subcommand groups cannot be mixed with other options",
        )
    for i, option in enumerate(options):
        here = (*at, i)
        if not isinstance(option, dict):
            continue
        _check_slash_name(errors, here, option.get("name"))
        if option.get("name") in seen:
            errors.add(here, "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique")
        seen.add(str(option.get("name")))
        if option.get("required"):
            if optional_seen:
                errors.add(
                    here,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        elif option.get("type") not in (SUB_COMMAND, SUB_COMMAND_GROUP):
            optional_seen = True
        _check_choices(errors, here, option)
        if "options" in option:
            _check_options(errors, (*here, "options"), option["options"])


def check_commands(body: Any) -> FormErrors:
    errors = FormErrors()
    if not isinstance(body, list):
        return errors  # the spec check reported it
    for kind, limit in MAX_COMMANDS.items():
        if sum(1 for c in body if isinstance(c, dict) and (c.get("type") or CHAT_INPUT) == kind) > limit:
            errors.add(
                (),
                "APPLICATION_COMMANDS_TOO_MANY",
                f"At most {limit} {_KIND_NAMES[kind]} commands may be registered.",
            )
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(body):
        if not isinstance(command, dict):
            continue
        kind = command.get("type") or CHAT_INPUT
        if kind == CHAT_INPUT:
            _check_slash_name(errors, (i,), command.get("name"))
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                errors.add((i, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            _check_options(errors, (i, "options"), command.get("options") or [])
        if _characters(command) > MAX_COMMAND_CHARACTERS:
            errors.add(
                (i,),
                "APPLICATION_COMMAND_TOO_LARGE",
                f"Command exceeds maximum size ({MAX_COMMAND_CHARACTERS})",
            )
        key = (kind, str(command.get("name")))
        if key in seen:
            errors.add((i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Duplicate name {key[1]!r}")
        seen.add(key)
    return errors


class CommandRegistry:
    """The application's commands per scope (None = global), as Discord stores them."""

    def __init__(self, application_id: int, snowflakes: SnowflakeFactory) -> None:
        self.application_id = application_id
        self.snowflakes = snowflakes
        self.scopes: dict[int | None, list[dict[str, Any]]] = {}
        self.syncs: list[CommandSync] = []

    def overwrite(self, guild_id: int | None, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        previous = {(c["type"], c["name"]): c["id"] for c in self.scopes.get(guild_id, [])}
        stored = []
        for command in body:
            kind = command.get("type", CHAT_INPUT)
            full: dict[str, Any] = {
                "type": kind,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **command,
                "id": previous.get((kind, command["name"])) or str(self.snowflakes.next()),
                "application_id": str(self.application_id),
                "version": str(self.snowflakes.next()),
            }
            if full["default_member_permissions"] is not None:  # discord.py sends an int; Discord a string
                full["default_member_permissions"] = str(full["default_member_permissions"])
            if guild_id is not None:
                full["guild_id"] = str(guild_id)
            stored.append(full)
        self.scopes[guild_id] = stored
        self.syncs.append(CommandSync(guild_id, body))
        return stored

    def find(self, name: str, guild_id: int | None, kind: int = CHAT_INPUT) -> dict[str, Any] | None:
        """The command an interaction in ``guild_id`` with this name reaches: guild scope first."""
        for scope in (guild_id, None) if guild_id is not None else (None,):
            for command in self.scopes.get(scope, []):
                if command["name"] == name and command["type"] == kind:
                    return command
        return None

    @staticmethod
    def visible_to(command: dict[str, Any], permissions: int) -> bool:
        """Whether Discord offers the command to a member with these guild permissions."""
        required = command.get("default_member_permissions")
        if required is None or permissions & ADMINISTRATOR:
            return True
        needed = int(required)
        return needed != 0 and permissions & needed == needed


def type_options(
    schema: list[dict[str, Any]], given: list[dict[str, Any]], path: str
) -> list[dict[str, Any]]:
    """Copy ``given`` options adding each one's ``type`` from the synced schema (recursing into
    subcommands) - so tests write names and values and the payload carries what Discord would."""
    by_name = {o["name"]: o for o in schema}
    typed = []
    for option in given:
        spec = by_name.get(option["name"])
        if spec is None:
            raise ValueError(f"/{path} has no option {option['name']!r}; synced: {sorted(by_name)}")
        out = {**option, "type": option.get("type", spec["type"])}
        if "options" in option:
            out["options"] = type_options(
                spec.get("options", []), option["options"], f"{path} {spec['name']}"
            )
        typed.append(out)
    return typed


# ------------------------------------------------------------------ HTTP
REGISTRY_KEY = web.AppKey("discord_standin_commands", CommandRegistry)


def _scope(request: web.Request) -> tuple[CommandRegistry, int | None]:
    registry = request.app[REGISTRY_KEY]
    state = request.app[STATE_KEY]
    raw_app = request.match_info["application_id"]
    if raw_app != str(registry.application_id):
        state.violations.append(f"{request.method} {request.path}: not this bot's application id")
        raise ApiError(403, 50001, "Missing Access")
    raw_guild = request.match_info.get("guild_id")
    if raw_guild is None:
        return registry, None
    if not raw_guild.isdigit() or int(raw_guild) not in state.guilds:
        state.violations.append(f"{request.method} {request.path}: the bot is not in guild {raw_guild}")
        raise ApiError(403, 50001, "Missing Access")
    return registry, int(raw_guild)


async def put_commands(request: web.Request) -> web.Response:
    registry, guild_id = _scope(request)
    parsed = request[BODY_KEY]
    if parsed.invalid:
        raise ApiError(400, 50109, "The request body contains invalid JSON.")
    body = parsed.json
    errors = check_commands(body)
    if errors:
        state = request.app[STATE_KEY]
        state.violations.extend(f"{request.method} {request.path}: {p}" for p in errors.problems)
        raise ApiError(400, 50035, "Invalid Form Body", errors.tree)
    return json_response(registry.overwrite(guild_id, body or []))


async def get_commands(request: web.Request) -> web.Response:
    registry, guild_id = _scope(request)
    return json_response(registry.scopes.get(guild_id, []))


def add_routes(app: web.Application) -> None:
    for path in (
        "/applications/{application_id}/commands",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ):
        app.router.add_put(API_PREFIX + path, put_commands)
        app.router.add_get(API_PREFIX + path, get_commands)
