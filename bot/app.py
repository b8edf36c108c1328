"""What the CLI's subcommands do once the configuration is known to be good.

Kept apart from `bot.cli` so `groupbridge check-config` works with nothing else importable, and apart
from the layers below so they stay free of process concerns (prompts, exit codes, printing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import discord
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.bot import GroupBridgeBot, Role, install_commands, sync_tree
from bot.config import Config
from bot.config.accounts import AccountLogin, vrchat_accounts
from bot.config.checks import check_database_url, database_password, mask_database_url
from bot.discord_endpoint import pointed_at
from bot.logs import register_secret
from bot.memory import limit_malloc_arenas
from bot.store.copy import CopyError, copy_database, rows_text
from bot.store.migrate import MigrationError, upgrade
from bot.store.process_lock import ProcessLock, ProcessLockError, acquire_process_lock, lock_path
from bot.terminal import NoAnswer, Terminal
from bot.vrchat import AuthError, VRChatClient, VRChatError
from bot.vrchat.two_factor import TWO_FACTOR_TRIES, method_name
from bot.wiring import make_vrchat_client, secret_text

log = logging.getLogger(__name__)


class ConsoleTwoFactor:
    """Asks the person at the terminal for a 2FA code (a TwoFactorPrompt); recovery codes are read
    without echo. The client asks again when VRChat does not accept a code, within the same
    password login, so being asked again means the last code was refused."""

    def __init__(self, terminal: Terminal) -> None:
        self._terminal = terminal
        self._asked = 0
        self._last: str | None = None

    async def __call__(self, methods: list[str]) -> tuple[str, str]:
        offered = [m for m in ("totp", "emailOtp", "otp") if m in methods]
        if not offered:
            raise AuthError(f"VRChat asks for an unsupported two-factor method: {', '.join(methods)}")
        terminal = self._terminal
        if self._last is not None:
            left = TWO_FACTOR_TRIES - self._asked
            terminal.say(
                f"VRChat did not accept that {method_name(self._last)}; try again "
                f"({left} {'try' if left == 1 else 'tries'} left)."
            )
        self._asked += 1
        method = offered[0]
        if len(offered) > 1:
            terminal.say("VRChat asks for two-factor authentication. Choose:")
            for number, name in enumerate(offered, 1):
                terminal.say(f"  {number}. {method_name(name)}")
            choice = await terminal.ask(f"[1-{len(offered)}, default 1]: ")
            if choice.strip().isdigit() and 1 <= int(choice) <= len(offered):
                method = offered[int(choice) - 1]
        self._last = method
        code = await terminal.ask(f"Enter the {method_name(method)}: ", hidden=method == "otp")
        return method, code


async def login_interactive(config: Config, *, fresh: bool = False, account: str | None = None) -> int:
    """`groupbridge login`: log each of the bot's VRChat accounts in once (or only `account`, by its
    username), answering 2FA, and save each session (0600)."""
    every = vrchat_accounts(config)
    chosen = every
    if account is not None:
        chosen = tuple(a for a in every if a.username and a.username.casefold() == account.strip().casefold())
        if not chosen:
            names = ", ".join(a.name for a in every)
            print(f"groupbridge login: no account {account!r} in the config; it has {names}", file=sys.stderr)
            return 2
    terminal = Terminal()
    for login in chosen:
        if len(every) > 1:
            print(f"VRChat account {login.name}:")
        try:
            status = await _login_one(config, login, terminal, fresh=fresh)
        except NoAnswer:
            print(f"groupbridge login: no answer (end of input) for {login.name}.", file=sys.stderr)
            return 1
        if status:
            return status
    return 0


STILL_VALID = (
    "The saved session is still valid ({user_id}); no new login needed. A running bot that stopped "
    "calling VRChat picks it up at its next call."
)


async def _login_one(config: Config, login: AccountLogin, terminal: Terminal, *, fresh: bool) -> int:
    username = login.username or await terminal.ask("VRChat username or e-mail: ")
    password = secret_text(login.password)
    try:
        if not fresh and not password:
            # Without a configured password, only ask for one if the saved session is really gone.
            # Found valid, the session file is stamped as confirmed, which wakes a blocked bot.
            async with make_vrchat_client(config, account=login, username=username) as probe:
                user_id = await _try_saved_session(probe)
            if user_id:
                print(STILL_VALID.format(user_id=user_id))
                return 0
        password = password or await terminal.ask("VRChat password: ", hidden=True)
        if not password:
            print("groupbridge login: no password typed; nothing was changed.", file=sys.stderr)
            return 1
        async with make_vrchat_client(config, account=login, username=username, password=password) as client:
            # --fresh skips the saved session but does not delete it: the file is replaced only when
            # the new login succeeds, so a typo or Ctrl-C leaves the old one in place.
            user_id = await client.login(prompt=ConsoleTwoFactor(terminal), force=fresh)
            if not client.password_logins:  # the configured password was not needed
                print(STILL_VALID.format(user_id=user_id))
                return 0
            me = await client.get_current_user()
    except VRChatError as exc:
        print(f"Login failed: {exc}", file=sys.stderr)
        return 1
    print(f"Logged in as {me.display_name} ({user_id}). Session saved to {login.session_file} (mode 0600).")
    return 0


async def _try_saved_session(client: VRChatClient) -> str | None:
    try:
        return await client.login()
    except AuthError:
        return None


# A damaged database: restarting cannot fix it, so the shipped systemd unit does not restart on it
# (RestartPreventExitStatus=, deploy/groupbridge.service).
EXIT_DATABASE_DAMAGED = 3


def refuse_damaged_database(config: Config) -> int | None:
    """Before anything is sent to VRChat or Discord: one message and EXIT_DATABASE_DAMAGED when the
    SQLite database is damaged, else None."""
    from bot.store.integrity import sqlite_damage

    damage = sqlite_damage(config.database.url)
    if damage is None:
        return None
    print(
        f"Cannot start: the SQLite database {damage.path} is damaged ({damage.error}). A restart "
        "cannot repair it: stop the bot, restore the database from your backup, then start again "
        '(README, Troubleshooting, "The database is damaged"). Nothing was sent to VRChat or Discord.',
        file=sys.stderr,
    )
    return EXIT_DATABASE_DAMAGED


async def db_upgrade(config: Config) -> int:
    if (refused := refuse_damaged_database(config)) is not None:
        return refused
    try:
        await asyncio.to_thread(upgrade, config.database.url)
    except MigrationError as exc:
        print(f"Cannot upgrade: {exc}.", file=sys.stderr)
        return 1
    print("Database is at the newest schema.")
    return 0


def lock_out_the_bot(config: Config, cannot: str) -> ProcessLock | None:
    """The SQLite process lock a running bot holds (None on PostgreSQL); ProcessLockError says
    `cannot` and why."""
    try:
        return acquire_process_lock(config.database.url)
    except ProcessLockError as exc:
        raise ProcessLockError(f"Cannot {cannot}: {exc}. Stop the bot first.") from None


async def db_copy(config: Config, *, to: str) -> int:
    """`groupbridge db copy --to URL`: the configured database, whole, into a new empty one."""
    try:
        check_database_url(to)
    except ValueError as exc:
        print(f"groupbridge db copy: --to {exc}", file=sys.stderr)
        return 2
    if (password := database_password(to)) is not None:
        register_secret(password)
    if (refused := refuse_damaged_database(config)) is not None:
        return refused
    try:
        lock = lock_out_the_bot(config, "copy")  # no bot may write the SQLite file meanwhile
    except ProcessLockError as exc:
        print(exc, file=sys.stderr)
        return 1
    target = mask_database_url(to)
    try:
        report = await copy_database(config.database.url, to)
    except CopyError as exc:
        print(f"Cannot copy: {exc}. Nothing was written to {target}.", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]
        print(f"The copy failed ({reason}); nothing was kept in {target}.", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()
    for table, rows in report.rows.items():
        if rows:
            print(f"  {table}: {rows_text(rows)}")
    print(
        f"Copied {rows_text(report.total)} from {config.database.masked_url} to {target}. Set database.url "
        "in the config file to the new database, then start the bot."
    )
    return 0


ROLES: dict[str, Role] = {"all": "all", "gateway": "gateway", "worker": "worker"}


async def run_bot(config: Config, *, stop: asyncio.Event | None = None, role: str = "all") -> int:
    """Run the bot until SIGINT/SIGTERM (or `stop`): slash commands, cards and the audit-log mirror.

    Several processes can share one PostgreSQL database, split by role rather than by Discord shard:
    the work that grows with the number of groups is polling VRChat and delivering the feed, not
    the gateway, and one gateway session serves up to 2,500 servers before Discord requires
    sharding (not built). So `gateway` connects to Discord's gateway, answers slash commands and
    buttons and syncs the commands, and runs no background work; `worker` never connects to the
    gateway (REST only) and polls, delivers and keeps the join-request cards for the groups and
    channels it holds leases on (bot.leases); `all` (the default) is both in one process.
    Exactly one process per bot token may connect to the gateway, since Discord would deliver each
    interaction to every un-sharded session: a second `gateway` or `all` waits, as a standby, until
    the first one's gateway lease is released or expires. Workers can be added and removed freely.
    On SQLite there is one process, `all`, and a second one on the same file is refused.
    """
    process_role = ROLES.get(role)
    if process_role is None:
        raise ValueError(f"unknown role {role!r}")
    limit_malloc_arenas()  # before any thread allocates (bot.memory)
    if role != "all" and lock_path(config.database.url) is not None:
        print(
            f"Cannot start: --role {role} needs PostgreSQL. SQLite supports one process, which runs "
            "everything (--role all).",
            file=sys.stderr,
        )
        return 2
    try:
        lock = acquire_process_lock(config.database.url)  # before connecting to anything
    except ProcessLockError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        if (refused := refuse_damaged_database(config)) is not None:
            return refused
        stop = stop or _stop_on_signals()
        with _discord_target(config):
            bot = GroupBridgeBot(config, role=process_role)
            token = _token(config)
            session = _rest_only(bot, token, stop) if role == "worker" else bot.start(token)
            return await _run_until(bot, session, stop)
    finally:
        if lock is not None:
            lock.release()


async def _rest_only(bot: discord.Client, token: str, stop: asyncio.Event) -> None:
    """A worker: log in over REST (discord.py then runs setup_hook, which starts the work) and stay
    until stopped, without ever opening a gateway session."""
    await bot.login(token)
    await stop.wait()


async def _run_until(bot: GroupBridgeBot, session: Coroutine[Any, Any, None], stop: asyncio.Event) -> int:
    runner = asyncio.create_task(session, name="discord")
    stopper = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    await bot.close()
    if runner not in done:  # asked to stop: whatever start() was doing is being torn down
        try:
            await asyncio.wait_for(runner, timeout=10)
        except Exception as exc:  # e.g. a login cut short by close(); not a failure of the stop
            log.debug("Discord client ended while stopping: %r", exc)
        log.info("Stopped.")
        return 0
    error = runner.exception()
    if bot.gateway_lost:
        print("Stopped: another process took over the Discord gateway.", file=sys.stderr)
        return 1
    if isinstance(error, VRChatError):
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1
    if isinstance(error, discord.LoginFailure):
        print("Cannot start: Discord rejected the bot token (discord.token).", file=sys.stderr)
        return 1
    if error is not None:
        log.error("The bot stopped with an error", exc_info=error)
        return 1
    return 0


def _token(config: Config) -> str:
    token = secret_text(config.discord.token) or ""
    register_secret(token)
    return token


def _discord_target(config: Config) -> contextlib.AbstractContextManager[object]:
    """Discord itself, or (tests, the demo) a local stand-in named in the config."""
    if not config.discord.api_base_url:
        return contextlib.nullcontext()
    return pointed_at(config.discord.api_base_url, gateway=config.discord.gateway_url)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


class CommandSyncer(GroupBridgeBot):
    """The bot with its commands and nothing else, for `groupbridge sync`: it logs in over REST,
    installs the cogs' commands, syncs them and is done. It never opens VRChat or the database, and
    runs no background work (run_feed is False, so the cogs start none)."""

    async def setup_hook(self) -> None:  # discord.py calls it at the end of login()
        await install_commands(self)
        guild_ids = self.config.discord.guild_ids
        await sync_tree(self.tree, guild_ids, allow_global=True)
        names = ", ".join(f"/{command.name}" for command in self.tree.get_commands())
        where = f"to {len(guild_ids)} server(s)" if guild_ids else "globally (up to an hour to appear)"
        print(f"Synced {names} {where}.")


async def sync_commands(config: Config) -> int:
    """`groupbridge sync`: register the slash commands (configured guilds, else globally) and exit."""
    syncer = CommandSyncer(config, run_feed=False)
    with _discord_target(config):
        try:
            await syncer.login(_token(config))
        except discord.LoginFailure:
            print("Cannot sync: Discord rejected the bot token (discord.token).", file=sys.stderr)
            return 1
        finally:
            await syncer.close()
    return 0
