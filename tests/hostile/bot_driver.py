"""Driving the real bot's slash commands with generated options, and what to look at afterwards.

`COMMANDS` is read from the bot's own command tree, built offline (no network) by the same
`install_commands` the bot runs, so a command added later is covered without touching these tests.
`Harness` wraps a connected bot for one test: it sends one command, cancels any "are you sure?"
prompt, waits until discord.py has finished with the command, and records what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
from discord import AppCommandOptionType, app_commands

from bot.bot import GroupBridgeBot
from bot.sandbox.discord import DiscordStandIn, InteractionExchange
from tests.discord.conftest import click, command, components, offline_command_tree
from tests.fixtures.discord_gateway import (
    ADMIN_ID,
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ROLE_ID,
    REQUESTS_CHANNEL_ID,
)
from tests.fixtures.snapshots import HEARTBEAT_TABLES
from tests.fixtures.vrchat_sim import SeededSim

DISCORD_OPTION_MAX = 6000  # Discord refuses longer string option values itself
SETTLE_SECONDS = 10.0


@dataclass(frozen=True)
class Option:
    name: str
    kind: AppCommandOptionType
    required: bool
    choices: tuple[str | int | float, ...]
    min_value: int | float | None
    max_value: int | float | None
    autocomplete: bool

    def __repr__(self) -> str:
        return f"{self.name}:{self.kind.name}"

    @property
    def free_text(self) -> bool:
        """A string option the user types freely (one with choices only offers those)."""
        return self.kind is AppCommandOptionType.string and not self.choices


@dataclass(frozen=True)
class CommandSpec:
    qualified_name: str
    options: tuple[Option, ...]

    def __repr__(self) -> str:
        return f"/{self.qualified_name}"

    @property
    def top(self) -> str:
        return self.qualified_name.split()[0]

    @property
    def sub(self) -> str | None:
        return " ".join(self.qualified_name.split()[1:]) or None

    @property
    def text_options(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.free_text)


def spec_of(cmd: app_commands.Command[Any, ..., Any]) -> CommandSpec:
    options = tuple(
        Option(
            p.display_name,
            p.type,
            p.required,
            tuple(c.value for c in p.choices),
            p.min_value,
            p.max_value,
            bool(p.autocomplete),
        )
        for p in cmd.parameters
    )
    return CommandSpec(cmd.qualified_name, options)


def command_specs(tree: app_commands.CommandTree) -> list[CommandSpec]:
    return sorted(
        (spec_of(c) for c in tree.walk_commands() if isinstance(c, app_commands.Command)),
        key=lambda s: s.qualified_name,
    )


COMMANDS = command_specs(offline_command_tree())
TEXT_COMMANDS = [s for s in COMMANDS if s.text_options]


# Mentions the bot writes itself: the moderator role in a refusal, the linked channels, timestamps.
OWN_TOKENS = (
    re.compile(rf"<@&{MOD_ROLE_ID}>"),
    re.compile(rf"<#(?:{FEED_CHANNEL_ID}|{REQUESTS_CHANNEL_ID})>"),
    re.compile(r"<t:-?\d+(?::[tTdDfFR])?>"),
)


@dataclass
class Outcome:
    exchanges: list[InteractionExchange]
    failed: bool  # discord.py's own verdict: the command raised (the funnel answered)
    writes: list[str]  # non-GET VRChat requests during the command
    db_changed: bool
    errors: list[str]  # ERROR log records (discord.py's handler errors, the funnel's "bug" reports)

    @property
    def bodies(self) -> list[tuple[str, dict[str, Any]]]:
        """Every message the bot sent or edited for the command (modals and deferrals are not messages)."""
        return [
            (event.kind, event.data)
            for exchange in self.exchanges
            for event in exchange.events
            if event.kind in ("callback", "followup", "edit")
            and event.ok
            and ("content" in event.data or "embeds" in event.data)
        ]

    @property
    def first_text(self) -> str:
        return next((body.get("content") or "" for _, body in self.bodies), "")


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


class Harness:
    def __init__(
        self, bot: GroupBridgeBot, standin: DiscordStandIn, seeded: SeededSim, db_path: Path
    ) -> None:
        self.bot, self.standin, self.seeded, self.db_path = bot, standin, seeded, db_path
        self.interactions: dict[int, discord.Interaction] = {}
        self.seen: dict[int, asyncio.Event] = {}
        self.completed: dict[int, asyncio.Event] = {}
        self.bot.add_listener(self._on_interaction, "on_interaction")
        self.bot.add_listener(self._on_completion, "on_app_command_completion")

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "<the bot on the stand-ins>"

    @staticmethod
    def _event(events: dict[int, asyncio.Event], interaction_id: int) -> asyncio.Event:
        return events.setdefault(interaction_id, asyncio.Event())

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        self.interactions[interaction.id] = interaction
        self._event(self.seen, interaction.id).set()

    async def _on_completion(self, interaction: discord.Interaction, _command: object) -> None:
        self._event(self.completed, interaction.id).set()

    def db_snapshot(self) -> dict[str, list[str]]:
        """Every row of every table, read over a connection of its own."""
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:  # `with connect()` never closes
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {
                t: sorted(map(repr, db.execute(f'SELECT * FROM "{t}"')))  # noqa: S608
                for t in tables
                if t not in HEARTBEAT_TABLES
            }

    def vrchat_writes(self) -> list[str]:
        """Requests that could change something in VRChat; a session check or re-login changes nothing."""
        requests = self.seeded.sim.requests
        return [
            f"{r.method} {r.path}" for r in requests if r.method != "GET" and not r.path.startswith("/auth")
        ]

    @contextmanager
    def error_log(self) -> Iterator[_Errors]:
        handler = _Errors()
        loggers = [logging.getLogger(name) for name in ("discord", "bot")]
        for logger in loggers:
            logger.addHandler(handler)
        try:
            yield handler
        finally:
            for logger in loggers:
                logger.removeHandler(handler)

    async def cancel_prompts(self, exchange: InteractionExchange) -> list[InteractionExchange]:
        """Answer "Cancel" to a confirmation the command is waiting on, so it ends here."""
        clicks = []
        for event in list(exchange.events):
            message = event.message
            for item in components(message) if message is not None else []:
                if item.get("label") == "Cancel":
                    answer = await click(self.standin, item["custom_id"], message, who=ADMIN_ID)
                    await answer.wait(timeout=SETTLE_SECONDS)
                    clicks.append(answer)
        return clicks

    async def _settle(self, exchange: InteractionExchange) -> bool:
        """Until discord.py is done with the command; True when it failed (an error was reported)."""
        async with asyncio.timeout(SETTLE_SECONDS):
            await self._event(self.seen, exchange.id).wait()
            interaction = self.interactions[exchange.id]
            if interaction.command_failed:  # set before the funnel answers, so final by now
                return True
            await self._event(self.completed, exchange.id).wait()
        return interaction.command_failed

    async def run(self, spec: CommandSpec, options: dict[str, Any]) -> Outcome:
        before_db, before_writes = self.db_snapshot(), len(self.vrchat_writes())
        with self.error_log() as errors:
            exchange = await command(self.standin, spec.top, spec.sub or "", options, who=ADMIN_ID)
            clicks = await self.cancel_prompts(exchange)
            failed = await self._settle(exchange)
        return Outcome(
            [exchange, *clicks],
            failed,
            self.vrchat_writes()[before_writes:],
            self.db_snapshot() != before_db,
            errors.lines,
        )

    def fill(self, option: Option) -> Any:
        """A valid value for a required option that is not free text (a channel, a number, ...)."""
        state = self.standin.state
        if option.choices:
            return option.choices[0]
        if option.kind is AppCommandOptionType.channel:
            return state.channel(FEED_CHANNEL_ID)
        if option.kind in (AppCommandOptionType.integer, AppCommandOptionType.number):
            return option.min_value if option.min_value is not None else 1
        if option.kind is AppCommandOptionType.boolean:
            return False
        if option.kind in (AppCommandOptionType.user, AppCommandOptionType.mentionable):
            return self.standin.member(GUILD_ID, ADMIN_ID)
        if option.kind is AppCommandOptionType.role:
            return state.guilds[GUILD_ID].roles[MOD_ROLE_ID]
        raise AssertionError(f"no filler for a required {option.kind.name} option {option.name!r}")
