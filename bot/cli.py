"""The ``groupbridge`` command (also ``python -m bot``).

    groupbridge check-config [PATH]          validate a config file and summarise it (exit 0 or 2)
    groupbridge run [--config PATH]          run the bot
    groupbridge run --dry-run [--follow]     print the groups' feed and join requests instead (no Discord)
    groupbridge run --role gateway|worker    one of several processes on a PostgreSQL database
    groupbridge login [--config PATH]        log in to VRChat interactively (asks for a 2FA code)
    groupbridge login --account NAME         ...only that one of several VRChat accounts
    groupbridge db upgrade [--config PATH]   create or upgrade the database schema
    groupbridge sync [--config PATH]         register the slash commands with Discord

Every command loads and validates the configuration first; if it has problems they are all printed
to stderr and the command exits with status 2 without doing anything else. ``check-config`` and
``run`` also require the VRChat username and the Discord token; ``login`` asks for the VRChat
credentials when they are missing, ``sync`` needs only the Discord token and ``db upgrade`` none.
The VRChat password is never required: ``login`` saves a session that ``run`` reuses. What follows
from a missing password or session is printed by ``check-config`` as notes (``bot.config.config_notes``),
which do not change its exit status, and logged by ``run``. The application itself (``bot.app``) is
imported only after that, so ``check-config`` works on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config import REQUIRED_KEYS, Config, ConfigError, config_notes, describe_config, load_config

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "config.toml"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2  # also what argparse uses for usage errors
EXIT_INTERRUPTED = 130

# subcommand -> (function it calls with the Config, which may be a coroutine function: a name in
#                 bot.app, or "module:name"; the credentials it needs in the config, besides the
#                 config being valid)
_APP_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "run": ("run_bot", REQUIRED_KEYS),
    "run --dry-run": ("bot.dryrun:dry_run", ("vrchat.username",)),  # never uses the Discord token
    "login": ("login_interactive", ()),  # asks for the username and password when they are not set
    "db upgrade": ("db_upgrade", ()),
    "sync": ("sync_commands", ("discord.token",)),
}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("groupbridge")
    except Exception:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groupbridge",
        description="VRChat group moderation from Discord.",
        epilog="Settings can also come from GROUPBRIDGE_<SECTION>__<KEY> environment variables.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check-config", help="validate a config file and summarise it")
    check.add_argument(
        "path", nargs="?", default=DEFAULT_CONFIG, metavar="PATH", help=f"default: {DEFAULT_CONFIG}"
    )

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            "-c",
            dest="path",
            default=DEFAULT_CONFIG,
            metavar="PATH",
            help=f"config file (default: {DEFAULT_CONFIG})",
        )
        return p

    run = with_config(commands.add_parser("run", help="run the bot"))
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the groups' audit log and join requests to the terminal instead of Discord",
    )
    run.add_argument(
        "--role",
        choices=("all", "gateway", "worker"),
        default="all",
        help="for several processes on one PostgreSQL database: gateway (Discord commands and buttons; "
        "exactly one), worker (audit-log polling, feed delivery, join-request cards; any number), "
        "or all (default, both; the only choice on SQLite)",
    )
    run_mode = run.add_mutually_exclusive_group()
    run_mode.add_argument("--once", action="store_true", help="with --dry-run: one pass, then exit (default)")
    run_mode.add_argument(
        "--follow", action="store_true", help="with --dry-run: keep polling, print what is new, until Ctrl-C"
    )
    run.add_argument(
        "--limit",
        type=_limit,
        default=None,
        metavar="N",
        help="with --dry-run: audit entries and join requests shown per group (1-100, default 10)",
    )
    login = with_config(
        commands.add_parser("login", help="log in to VRChat interactively and save the session")
    )
    login.add_argument(
        "--fresh", action="store_true", help="forget the saved session and log in with the password again"
    )
    login.add_argument(
        "--account",
        metavar="NAME",
        help="only this VRChat account (its username); default: every configured account in turn",
    )
    with_config(commands.add_parser("sync", help="register the slash commands with Discord"))
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    with_config(db_commands.add_parser("upgrade", help="create or upgrade the database schema"))
    return parser


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100, not {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be from 1 to 100, not {value}")
    return value


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


def _load(path: str, required: Sequence[str] = REQUIRED_KEYS, *, with_notes: bool = False) -> Config | None:
    try:
        return load_config(Path(path), required=required)
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
    """Load the config, set up logging, then call ``bot.app.<function>(config, **options)``."""
    function_name, required = _APP_COMMANDS[name]
    config = _load(path, required)
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

    module_name, _, function_name = function_name.rpartition(":")
    module_name = module_name or "bot.app"
    try:
        app = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"groupbridge: the application module {module_name} is not installed", file=sys.stderr)
        return EXIT_FAILURE
    function = getattr(app, function_name)
    try:
        result: Any = function(config, **options)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except KeyboardInterrupt:
        print("groupbridge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK


async def _await(awaitable: Any) -> Any:
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
        return check_config(args.path)
    if args.command == "db":
        if args.db_command is None:
            print("groupbridge db: choose a subcommand: upgrade", file=sys.stderr)
            return EXIT_CONFIG
        return run_app_command(f"db {args.db_command}", args.path)
    if args.command == "login":
        chosen = {} if args.account is None else {"account": args.account}
        return run_app_command("login", args.path, fresh=args.fresh, **chosen)
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
