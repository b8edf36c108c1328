"""The ``groupbridge`` command (also ``python -m bot``): argument parsing and the exit status.

Every command loads and validates the configuration first; if it has problems they are all printed
to stderr and the command exits with status 2 without doing anything else. ``check-config`` and
``run`` also require the VRChat username and the Discord token; ``login`` asks for the VRChat
credentials when they are missing, ``sync`` needs only the Discord token and the ``db`` commands none.
The VRChat password is never required: ``login`` saves a session that ``run`` reuses. What follows
from a missing password or session is printed by ``check-config`` as notes (``bot.config.config_notes``),
which do not change its exit status, and logged by ``run``. The application itself (``bot.app``,
``bot.dryrun``) is imported only after that, by the small functions each command runs, so
``check-config`` works on its own.

What each command is for, and the order of a first run, are in the help texts of bot.cli_parser
(``FIRST_RUN`` and the ``description`` of each subcommand): ``groupbridge --help`` shows them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.cli_parser import DEFAULT_CONFIG, build_parser
from bot.config import REQUIRED_KEYS, Config, ConfigError, config_notes, describe_config, load_config

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2  # also what argparse uses for usage errors
EXIT_INTERRUPTED = 130


# The commands below import what they run only when called, once the config is known to be good: so
# `check-config` (and a bad config's report) works even where the application cannot be imported.
# Deferred imports, not cycles: nothing the CLI runs imports bot.cli.


def _run(config: Config, **options: Any) -> Awaitable[int]:
    from bot.app import run_bot

    return run_bot(config, **options)


def _dry_run(config: Config, **options: Any) -> Awaitable[int]:
    from bot.dryrun import dry_run

    return dry_run(config, **options)


def _login(config: Config, **options: Any) -> Awaitable[int]:
    from bot.app import login_interactive

    return login_interactive(config, **options)


def _db_upgrade(config: Config) -> Awaitable[int]:
    from bot.app import db_upgrade

    return db_upgrade(config)


def _db_copy(config: Config, *, to: str) -> Awaitable[int]:
    from bot.app import db_copy

    return db_copy(config, to=to)


def _db_downgrade(config: Config, *, to: str, yes: bool) -> Awaitable[int]:
    from bot.downgrade import db_downgrade

    return db_downgrade(config, to=to, yes=yes)


def _group_id(config: Config, *, ref: str) -> Awaitable[int]:
    from bot.dryrun.group_id import group_id_command

    return group_id_command(config, ref=ref)


def _sync(config: Config) -> Awaitable[int]:
    from bot.app import sync_commands

    return sync_commands(config)


# subcommand -> (what it runs with the Config, the credentials it needs in the config besides the
#                config being valid)
_APP_COMMANDS: dict[str, tuple[Callable[..., Awaitable[int]], tuple[str, ...]]] = {
    "run": (_run, REQUIRED_KEYS),
    "run --dry-run": (_dry_run, ("vrchat.username",)),  # never uses the Discord token
    "login": (_login, ()),  # asks for the username and password when they are not set
    "db upgrade": (_db_upgrade, ()),
    "db copy": (_db_copy, ()),
    "db downgrade": (_db_downgrade, ()),
    "sync": (_sync, ("discord.token",)),
    "group-id": (_group_id, ("vrchat.username",)),
}
# Tables a command reads past: `group-id` is how a [[groups]] entry holding a short code or a link
# gets its ID, so the problems that entry has (and the [[bindings]] naming it) must not stop it.
_SKIPPED_TABLES: dict[str, tuple[str, ...]] = {"group-id": ("groups", "bindings")}


def _print_problems(error: ConfigError, *, with_notes: bool = False) -> None:
    print(str(error), file=sys.stderr)
    if with_notes:
        for note in error.notes:
            print(f"note: {note}", file=sys.stderr)
    count = len(error.problems)
    print(
        f"groupbridge: {error.source} has {count} problem{'' if count == 1 else 's'}; nothing was started.",
        file=sys.stderr,
    )


def _load(
    path: str,
    required: Sequence[str] = REQUIRED_KEYS,
    *,
    with_notes: bool = False,
    skipped: Sequence[str] = (),
) -> Config | None:
    try:
        return load_config(Path(path), required=required, skipped=skipped)
    except ConfigError as error:
        _print_problems(error, with_notes=with_notes)
        return None


def check_config(path: str) -> int:
    config = _load(path, with_notes=True)
    if config is None:
        return EXIT_CONFIG
    groups, bindings = len(config.groups), len(config.bindings)
    print(
        f"OK: {path} is valid ({groups} group{'' if groups == 1 else 's'}, "
        f"{bindings} binding{'' if bindings == 1 else 's'})"
    )
    for line in describe_config(config):
        print(f"  {line}")
    for note in config_notes(config):
        print(f"note: {note}")
    return EXIT_OK


def run_app_command(name: str, path: str, **options: Any) -> int:
    """Load the config, set up logging, then run the command's function with the config and options."""
    function, required = _APP_COMMANDS[name]
    config = _load(path, required, skipped=_SKIPPED_TABLES.get(name, ()))
    if config is None:
        return EXIT_CONFIG

    from bot.logs import register_secrets, setup_logging

    register_secrets(config.secret_values())
    try:
        setup_logging(config.logging.level, config.logging.file)
    except OSError as exc:
        print(f"groupbridge: cannot open log file {config.logging.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILURE
    if name.startswith("run"):
        for note in config_notes(config):
            log.info("Note: %s", note)
    try:
        result: Any = function(config, **options)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except ModuleNotFoundError as exc:
        if exc.name not in ("bot.app", "bot.downgrade", "bot.dryrun", "bot.dryrun.group_id"):
            raise
        print(f"groupbridge: the application module {exc.name} is not installed", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("groupbridge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_FAILURE

    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        if args.path is not None and args.positional_path is not None:
            print(
                "groupbridge check-config: give the config file once, as -c PATH or as PATH", file=sys.stderr
            )
            return EXIT_CONFIG
        return check_config(args.path or args.positional_path or DEFAULT_CONFIG)
    args.path = getattr(args, "path", None) or DEFAULT_CONFIG
    if args.command == "db":
        if args.db_command is None:
            print("groupbridge db: choose a subcommand: upgrade, downgrade, copy", file=sys.stderr)
            return EXIT_CONFIG
        if args.db_command == "copy":
            return run_app_command("db copy", args.path, to=args.to)
        if args.db_command == "downgrade":
            return run_app_command("db downgrade", args.path, to=args.to, yes=args.yes)
        return run_app_command(f"db {args.db_command}", args.path)
    if args.command == "login":
        chosen = {} if args.account is None else {"account": args.account}
        return run_app_command("login", args.path, fresh=args.fresh, **chosen)
    if args.command == "group-id":
        return run_app_command("group-id", args.path, ref=args.ref)
    if args.command == "run" and args.dry_run and args.role != "all":
        print("groupbridge run: --role does not go with --dry-run", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "run" and args.dry_run:
        limit = {} if args.limit is None else {"limit": args.limit}
        return run_app_command("run --dry-run", args.path, follow=args.follow, **limit)
    if args.command == "run" and (args.once or args.follow or args.limit is not None):
        print("groupbridge run: --once, --follow and --limit go with --dry-run", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "run" and args.role != "all":
        return run_app_command("run", args.path, role=args.role)
    return run_app_command(args.command, args.path)
