"""`groupbridge run --dry-run`: the bound groups' feed and join requests printed to the terminal.

For checking a setup before the bot joins a server: it logs in as `run` would (the saved session
first, the password and TOTP secret only when needed) and then only reads. Discord is never
contacted and its token never used; the database, when there is one, is only read for the bindings
(bindings.py); every VRChat request after the login is a GET. With --follow it keeps polling at the
configured interval and prints only what is new.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from rich.console import Console
from rich.text import Text

from bot.config import Config
from bot.config.accounts import vrchat_accounts
from bot.events import EVENT_FAMILIES
from bot.feed.render import render_entry
from bot.requests.cards import request_card
from bot.vrchat import AuthError
from bot.vrchat.permissions import NEEDED_PERMISSIONS, GroupStanding
from bot.vrchat.pool import AccountPool
from bot.vrchat.router import GroupRouter
from bot.wiring import open_account_pool

from .bindings import ShownBinding, read_bindings
from .groups import GroupPass, GroupReader, GroupTarget, Seen, group_label, targets_from
from .session import log_in_accounts
from .terminal import INDENT, embed_text, line

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2

Pause = Callable[[float], Awaitable[None]]
T = TypeVar("T")


def make_console() -> Console:
    # Markup, emoji codes and highlighting off: user text must print as it is (it is also only ever
    # passed as Text). soft_wrap: the terminal wraps, rich must not cut ids and links in two.
    return Console(file=sys.stdout, markup=False, emoji=False, highlight=False, soft_wrap=True)


async def dry_run(
    config: Config,
    *,
    follow: bool = False,
    limit: int = DEFAULT_LIMIT,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
    pause: Pause | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Print each group's newest `limit` audit entries and pending requests; exit status 0, 1 or 2.

    `stop`, `pause` and `clock` are for tests: with --follow the run ends when `stop` is set (by
    SIGINT/SIGTERM when not given), and `pause(seconds)` is the wait between polls.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    out = console or make_console()
    source = config.path or "the configuration"
    bindings = await read_bindings(config)
    targets = targets_from(config, bindings.bindings)
    if not targets:
        print(
            f"groupbridge: nothing to check: {source} has no [[groups]] and no [[bindings]].",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    bound = sum(1 for t in targets if t.bindings)
    database = "the database is only read" if bindings.from_database else "no database is used"
    out.print(
        line(
            ("Dry run", "bold"),
            f" of {source}: {_count(len(targets), 'group')} ({bound} bound). Nothing is sent to Discord, "
            f"{database}, and VRChat is only read.",
        )
    )
    out.print(line("Bindings: ", (bindings.source, "bold"), "."))

    # Every configured account, each group read through the account that would serve it (as `run`
    # decides it, bot.vrchat.pool): a group only a second account is in reads as it will in the bot.
    pool = await open_account_pool(config)
    try:
        logins = zip(vrchat_accounts(config), pool.accounts, strict=True)
        if not await log_in_accounts(logins, out, several=len(pool) > 1):
            return EXIT_FAILURE
        await _assign(pool, [t.group_id for t in targets], out)
        signals = _stop_on_signals() if follow and stop is None else contextlib.nullcontext(stop)
        with signals as stop_event:
            reader = GroupReader(GroupRouter(pool), limit=limit, clock=clock, account_of=_namer(pool))
            polls = Polls(targets, out, stop_event or asyncio.Event())
            try:
                await polls.run(reader, follow, config.feed.poll_interval_seconds, pause)
            except AuthError as exc:  # the session ended mid-run and cannot be renewed unattended
                print(f"Lost the VRChat session: {exc}", file=sys.stderr)
                return EXIT_FAILURE
            return EXIT_FAILURE if polls.any_failing else EXIT_OK
    finally:
        await pool.close()


async def _assign(pool: AccountPool, group_ids: list[str], out: Console) -> None:
    """Which account serves each group (one GET per account and group, none with one account)."""
    if len(pool) > 1:
        out.print(line(f"Asking which of the {len(pool)} VRChat accounts can serve each group."))
        await pool.assign(group_ids)


def _namer(pool: AccountPool) -> Callable[[str], str | None]:
    """The name of the account serving a group, shown only when there is a choice of accounts."""
    if len(pool) == 1:
        return lambda _group_id: None
    return lambda group_id: account.name if (account := pool.serving(group_id)) else None


class Polls:
    """The passes over all groups, and what is printed after each."""

    def __init__(self, targets: Sequence[GroupTarget], out: Console, stop: asyncio.Event) -> None:
        self.targets = targets
        self.out = out
        self.stop = stop
        self.seen = {t.group_id: Seen() for t in targets}
        self.failing: dict[str, bool] = {}
        self.count = 0

    @property
    def any_failing(self) -> bool:
        return any(self.failing.values())

    async def run(self, reader: GroupReader, follow: bool, interval: float, pause: Pause | None) -> None:
        wait = pause or (lambda seconds: _sleep_unless(self.stop, seconds))
        while await self._pass(reader):
            self.count += 1
            if self.count == 1:
                self._print_summary()
                if follow:
                    every = f"polling every {interval:g} s"
                    self.out.print(line(f"Following: {every}; only new entries are shown. Ctrl-C stops."))
            if not follow or self.stop.is_set():
                break
            await wait(interval)
            if self.stop.is_set():
                break
        if follow:
            self.out.print()
            self.out.print(line(f"Stopped following after {_count(self.count, 'poll')}."))

    async def _pass(self, reader: GroupReader) -> bool:
        """One read of every group; False when stopped half way."""
        for target in self.targets:
            seen = self.seen[target.group_id]
            first = self.count == 0
            result = await _until_stopped(reader.read(target, seen), self.stop)
            if result is None:
                return False
            self._print(result, seen, first)
            seen.last_errors = tuple(result.errors)
            self.failing[target.group_id] = result.failed
        return True

    def _print(self, result: GroupPass, seen: Seen, first: bool) -> None:
        """A group's pass. After the first, a group is shown only when something is new or changed."""
        out, target = self.out, result.target
        errors_changed = tuple(result.errors) != seen.last_errors
        new = bool(result.entries or result.requests or result.overflow or result.unreadable)
        news = new or errors_changed or result.group is not None
        if not (first or news):
            return
        out.print()
        out.print(
            line(("━━ ", "bold"), (group_label(seen.group, target), "bold"), "  ", (target.group_id, "dim"))
        )
        if result.group is not None:
            out.print(_membership_line(GroupStanding.of(result.group), result.account))
        if first:
            out.print(_binding_line(target))
        for error in result.errors:
            out.print(line(INDENT, ("✗ ", "bold red"), (error, "red")))
        if errors_changed and not result.errors:
            out.print(line(INDENT, ("✓ readable again", "green")))
        if result.entries_first:
            more = f" ({result.entries_not_shown} older not shown)" if result.entries_not_shown else ""
            shown = len(result.entries)
            heading = f"Audit log: newest {_count(shown, 'entry', 'entries')}, oldest first{more}"
            out.print(line(INDENT, (heading if shown else "Audit log: no entries yet", "bold")))
        if result.overflow:
            out.print(
                line(INDENT, ("More new entries than one page holds: only the newest are shown.", "yellow"))
            )
        for entry in result.entries:
            out.print(embed_text(render_entry(entry), suffix=_channels_text(target, entry.event_type)))
        for unreadable in result.unreadable:
            what = f"Entry {unreadable.id}" if unreadable.id else "An entry without a usable id"
            out.print(
                line(
                    INDENT,
                    (f"✗ {what} could not be read ({unreadable.reason}): ", "yellow"),
                    "the bot sets it aside and posts a notice in its place.",
                )
            )
        if result.requests_first:
            self._print_requests(result, f"Pending join requests: {result.pending}")
        elif result.requests:
            self._print_requests(result, f"New join requests: {len(result.requests)}")

    def _print_requests(self, result: GroupPass, heading: str) -> None:
        channels = result.target.request_channels()
        where = f"→ card in channel {', '.join(map(str, channels))}" if channels else "→ no requests channel"
        self.out.print(line(INDENT, (heading, "bold")))
        for view in result.requests:
            self.out.print(embed_text(request_card(view), suffix=line((where, "magenta"))))
        if result.requests_not_shown:
            self.out.print(line(INDENT, f"… and {result.requests_not_shown} more not shown (see --limit)"))

    def _print_summary(self) -> None:
        failed = sum(1 for t in self.targets if self.failing.get(t.group_id))
        pending = sum(len(s.request_user_ids) for s in self.seen.values())
        summary = line(("Summary: ", "bold"), f"{_count(len(self.targets), 'group')}, ")
        summary.append_text(
            line(("all readable", "green") if not failed else (f"{failed} failed", "bold red"))
        )
        summary.append_text(
            line(f"; {_count(pending, 'pending join request')}; nothing was sent to Discord.")
        )
        self.out.print()
        self.out.print(summary)


# --- printing ---------------------------------------------------------------------------------------


def _membership_line(member: GroupStanding, account: str | None) -> Text:
    who = f"bot account {account}" if account else "bot account"
    if not member.is_member:
        return line(INDENT, (f"{who}: NOT a member (VRChat says: {member.status or 'unknown'})", "red"))
    if member.permissions is None:
        perms = "permissions not reported"
    elif "*" in member.permissions:
        perms = "all permissions (*)"
    else:
        perms = "permissions: " + (", ".join(member.permissions) or "none")
    text = line(INDENT, f"{who}: member · ", perms)
    for permission in member.missing():
        text.append_text(line(" · ", (f"missing {permission} ({NEEDED_PERMISSIONS[permission]})", "yellow")))
    return text


ORIGINS = {
    "config": "from [[bindings]] in the config",
    "command": "made with /bridge link",
    "config, not yet in the database": "from [[bindings]] in the config; the next start adds it",
}


def _binding_line(target: GroupTarget) -> Text:
    if not target.bindings:
        return line(INDENT, ("not bound: in [[groups]] only, so nothing of it would be posted", "yellow"))
    text = line(INDENT, "bound:")
    for binding in target.bindings:
        text.append_text(_one_binding(binding))
    return text


def _one_binding(binding: ShownBinding) -> Text:
    events = "all events" if set(binding.events) >= set(EVENT_FAMILIES) else ", ".join(binding.events)
    cards = (
        f"join-request cards in channel {binding.requests_channel_id}"
        if binding.requests_channel_id
        else "no requests channel"
    )
    text = line("\n", INDENT, "  ", f"feed channel {binding.feed_channel_id} ({events}); {cards}")
    text.append_text(line((f" · {ORIGINS[binding.origin]}", "dim")))
    if binding.paused_reason is not None:
        text.append_text(line("\n", INDENT, "    ", (f"paused: {binding.paused_reason}", "yellow")))
    return text


def _channels_text(target: GroupTarget, event_type: str) -> Text:
    if not target.bindings:
        return line(("→ not bound", "yellow"))
    channels = target.feed_channels(event_type)
    if not channels:
        return line(("→ filtered out by the binding's events", "yellow"))
    return line((f"→ feed channel {', '.join(map(str, channels))}", "magenta"))


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`work`'s result, or None (work cancelled) when `stop` is set first: Ctrl-C must not wait a poll."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[asyncio.Event]:
    """An event SIGINT/SIGTERM set: with --follow, Ctrl-C ends the run with its status, not a traceback."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(sig, event.set)
            installed.append(sig)
    try:
        yield event
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
