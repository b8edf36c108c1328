"""The ``groupbridge`` command (also ``python -m bot``): argument parsing and the exit status.

Every command loads and validates the configuration first; if it has problems they are all printed
to stderr and the command exits with status 2 without doing anything else. ``check-config`` and
``run`` also require the VRChat username and the Discord token; ``login`` asks for the VRChat
credentials when they are missing, ``sync`` needs only the Discord token and ``db upgrade`` none.
The VRChat password is never required: ``login`` saves a session that ``run`` reuses. What follows
from a missing password or session is printed by ``check-config`` as notes (``bot.config.config_notes``),
which do not change its exit status, and logged by ``run``. The application itself (``bot.app``,
``bot.dryrun``) is imported only after that, by the small functions each command runs, so
``check-config`` works on its own.

What each command is for, and the order of a first run, are in the help texts below (``FIRST_RUN``
and the ``description`` of each subcommand): ``groupbridge --help`` shows them.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import sys
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.config import REQUIRED_KEYS, Config, ConfigError, config_notes, describe_config, load_config

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "config.toml"

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
    "sync": (_sync, ("discord.token",)),
}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("groupbridge")
    except Exception:
        return "unknown"


FIRST_RUN = f"""\
first run, in this order:
  1. cp config.example.toml {DEFAULT_CONFIG}
                                 and fill it in (every option is explained there)
  2. groupbridge check-config    every problem with its line; exit 0 when usable
  3. groupbridge login           log the bot's VRChat account in once (2FA too)
  4. groupbridge run --dry-run   check against VRChat: membership, permissions,
                                 newest audit entries, join requests; no Discord
  5. groupbridge sync            only without discord.guild_ids: register the
                                 slash commands globally (`run` registers them
                                 in the configured servers by itself)
  6. groupbridge run             then, in Discord: /bridge link, /bridge status

Every command takes -c/--config PATH (default: {DEFAULT_CONFIG}). Settings can
also come from GROUPBRIDGE_<SECTION>__<KEY> environment variables, which win
over the file. Exit status: 0 done, 1 failed, 2 configuration problem or usage
error, 130 interrupted. `groupbridge COMMAND --help` tells more.
"""

LOGIN_DETAILS = """\
two-factor authentication:
  - with vrchat.totp_secret configured (the setup key of the account's
    authenticator app), the code is computed and sent without asking; with the
    password configured too, `run` can log in again by itself, unattended;
  - otherwise you are asked for a code: from the authenticator app, from the
    e-mail VRChat sends, or one of the account's recovery codes (typed without
    echo). When VRChat offers several, you choose which.

session reuse:
  The session cookies are saved to vrchat.session_file (mode 0600); `run`, the
  dry run and a later `login` reuse them, checked with one request. Without
  --fresh a saved session that is still valid is kept and nothing is asked.
  --fresh logs in with the password again even so; the saved file is replaced
  only once that login succeeded, so a typo or Ctrl-C keeps the old one (it does
  not end the old session at VRChat). The password is asked for only when it
  is neither in the config nor in GROUPBRIDGE_VRCHAT__PASSWORD.
"""


def _text(*paragraphs: str) -> str:
    """Paragraphs filled to a terminal's width: the formatter below keeps text as it is given."""
    return "\n\n".join(textwrap.fill(p, width=79) for text in paragraphs for p in text.split("\n\n"))


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (they hold lists); options wrapped as usual."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groupbridge",
        description=_text(
            "GroupBridge: VRChat group moderation from Discord. A Discord bot that mirrors a VRChat "
            "group's audit log into a channel, shows its join requests as cards with buttons, and "
            "lets moderators invite, post, kick and ban with slash commands."
        ),
        epilog=FIRST_RUN,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        summary: str,
        description: str,
        epilog: str | None = None,
    ) -> argparse.ArgumentParser:
        return parent.add_parser(
            name, help=summary, description=_text(description), epilog=epilog, formatter_class=_HelpFormatter
        )

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            "-c",
            dest="path",
            default=None,
            metavar="PATH",
            help=f"config file (default: {DEFAULT_CONFIG})",
        )
        return p

    check = with_config(
        command(
            commands,
            "check-config",
            "validate a config file and summarise it (first-run step 2)",
            "Read the configuration (the file and GROUPBRIDGE_* environment variables), list every "
            "problem with its file, line and key, and summarise what the bot would do with it. "
            "Secrets are never printed, only where they came from. Notes (no saved VRChat session "
            "yet, no unattended re-login) do not change the exit status: 0 usable, 2 problems.",
            epilog=f"The path may be given as -c PATH or on its own; default: {DEFAULT_CONFIG}.",
        )
    )
    check.add_argument("positional_path", nargs="?", default=None, metavar="PATH", help="the same as -c PATH")

    run = with_config(
        command(
            commands,
            "run",
            "run the bot (first-run step 6); --dry-run to check a setup first (step 4)",
            "Run the bot until SIGINT (Ctrl-C) or SIGTERM: check the saved VRChat session, bring the "
            "database schema up to date, apply the config's [[bindings]], start the audit-log "
            "mirror and the join-request cards, connect to Discord and register the slash commands "
            "in discord.guild_ids (with none configured it registers nothing: run `groupbridge "
            "sync` once).\n\nWith --dry-run it logs in to VRChat and only reads: per group, whether "
            "the bot account is a member and which permissions it lacks, the binding, the newest "
            "audit entries as the feed would post them and the pending join requests as cards; "
            "Discord is never contacted and the database, when it exists, is only read.",
        )
    )
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
        command(
            commands,
            "login",
            "log the bot's VRChat account in and save the session (first-run step 3)",
            "Log the bot's VRChat account in once, answering two-factor authentication, and save the "
            "session for `run` and the dry run. With several [[accounts]], each in turn.",
            epilog=LOGIN_DETAILS,
        )
    )
    login.add_argument(
        "--fresh",
        action="store_true",
        help="log in with the password again; the saved session is replaced only on success",
    )
    login.add_argument(
        "--account",
        metavar="NAME",
        help="only this VRChat account (its username); default: every configured account in turn",
    )
    with_config(
        command(
            commands,
            "sync",
            "register the slash commands with Discord and exit",
            "Register the slash commands with Discord and exit: in each server of discord.guild_ids "
            "(instant there), or, with none configured, globally (can take up to an hour to "
            "appear). `run` registers them in the configured servers at every start by itself, "
            "but never globally: without discord.guild_ids, run this once, and again after an "
            "upgrade that changes the commands. Needs only discord.token.",
        )
    )
    db = command(
        commands,
        "db",
        "database maintenance",
        "Database maintenance. `run` upgrades the schema by itself at start; this does it alone.",
    )
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    with_config(
        command(
            db_commands,
            "upgrade",
            "create or upgrade the database schema",
            "Create the database schema, or bring it to the newest revision (Alembic migrations, "
            "in one transaction), and exit. `run` does the same at every start.",
        )
    )
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
    """Load the config, set up logging, then run the command's function with the config and options."""
    function, required = _APP_COMMANDS[name]
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
    try:
        result: Any = function(config, **options)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except ModuleNotFoundError as exc:
        if exc.name not in ("bot.app", "bot.dryrun"):
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
