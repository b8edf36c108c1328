"""The ``groupbridge`` command's arguments and help texts: what each command is for, and the order
of a first run (``FIRST_RUN``). bot.cli parses with it and runs the command."""

from __future__ import annotations

import argparse
import textwrap

DEFAULT_CONFIG = "config.toml"


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100, not {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be from 1 to 100, not {value}")
    return value


def _revision(text: str) -> str:
    if text == "base" or (len(text) == 4 and text.isascii() and text.isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"must be a revision like 0021, or base, not {text!r}")


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
  4. groupbridge group-id REF    only with a group's short code or link: its ID
                                 and a [[groups]] entry for {DEFAULT_CONFIG}
  5. groupbridge run --dry-run   check against VRChat: membership, permissions,
                                 newest audit entries, join requests; no Discord
  6. groupbridge sync            only without discord.guild_ids: register the
                                 slash commands globally (`run` registers them
                                 in the configured servers by itself)
  7. groupbridge run             then, in Discord: /bridge link, /bridge status

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
            "run the bot (first-run step 7); --dry-run to check a setup first (step 5)",
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
    group_id = with_config(
        command(
            commands,
            "group-id",
            "look up a group's ID by its short code or link (first-run step 4)",
            "Print the ID and name of the VRChat group REF names, and a [[groups]] entry ready to "
            "paste into the config file, which takes only group IDs. REF is a group ID, a "
            "vrchat.com group link, a vrc.group link or a short code like ABCDE.1234; a short code "
            "is found with VRChat's group search (a group that is not searchable is found only by "
            "its ID or link). It logs in with the saved session of the first VRChat account (or "
            "the configured password and TOTP secret) and never asks: run `groupbridge login` "
            "first. The config's [[groups]] and [[bindings]] are not checked here, so an entry "
            "still holding a short code does not stop it. Exit status: 0 found, 1 not found or no "
            "VRChat session, 2 REF is not a group reference (nothing is sent).",
        )
    )
    group_id.add_argument(
        "ref",
        metavar="REF",
        help="grp_…, https://vrchat.com/home/group/grp_…, https://vrc.group/ABCDE.1234 or ABCDE.1234",
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
        "Database maintenance: `upgrade` brings the schema to the newest revision (`run` does it by "
        "itself at start), `downgrade` rolls it back before an older version is installed, `copy` "
        "moves everything to a new database (SQLite to PostgreSQL).",
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
    downgrade = with_config(
        command(
            db_commands,
            "downgrade",
            "roll the database schema back, before installing an older version",
            "Roll the schema back to revision --to, undoing the newer migrations (in one "
            "transaction: a failure leaves the database as it was), so that an older GroupBridge can "
            "use it. It first says the current revision and each migration it would undo; what they "
            "added is deleted, so back up the database first (README, Backups). Stop the bot first. "
            "Without --yes it asks you to type the revision; without a terminal it refuses. Then "
            "install the older version. Exit status: 0 done, 1 refused or failed, 2 unknown revision "
            "or no confirmation possible.",
        )
    )
    downgrade.add_argument(
        "--to",
        required=True,
        type=_revision,
        metavar="REV",
        help="the revision to go back to: the newest the older version knows, e.g. 0021; base drops "
        "every table",
    )
    downgrade.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (for scripts; back up first)"
    )
    copy = with_config(
        command(
            db_commands,
            "copy",
            "copy the whole database into a new, empty one (SQLite to PostgreSQL)",
            "Copy every row of the configured database into the empty database at --to, which is "
            "brought to the newest schema first, and exit; then point database.url at it. Stop the "
            "bot first: what it writes during the copy would be missing. A copy that fails leaves "
            "the target empty.",
        )
    )
    copy.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the target, e.g. postgresql+asyncpg://user:password@host/dbname",
    )
    return parser
