"""An offline world for the real bot: the VRChat simulator and the Discord stand-in, seeded with one
community, and ``groupbridge run`` as a child process pointed at both.

The offline demo (``make demo``), the crash and fault suites and the process tests all need the same
thing: the bot exactly as an operator runs it (its own process, its config file, its SQLite file),
with every network edge on 127.0.0.1 where a script can act as VRChat players and Discord moderators
and can see everything the bot sent.

    async with SandboxWorld(Path(tmp)) as world:
        bot = world.bot_process()
        await bot.start()
        await world.wait_for(lambda: len(world.cards()) == 3, "three join-request cards")
        await bot.kill()   # SIGKILL: nothing gets to clean up
        await bot.start()  # the same config, database and session file
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp

from bot.sandbox.discord import (
    DiscordStandIn,
    InteractionExchange,
    StandInMessage,
    button_click,
    slash_command,
)
from bot.sandbox.identity import IdentityRoles, Players, seed_identity_roles
from bot.sandbox.serving import LocalServer
from bot.sandbox.vrchat import SimGroup, SimRole, SimUser, VRChatSimulator

# A token of Discord's shape; the stand-in accepts only this one.
TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.sandbox.offline-world-token"  # noqa: S105 - fake
GUILD_ID = 1_200_000_000_000_000_001
FEED_CHANNEL_ID = 1_300_000_000_000_000_001
REQUESTS_CHANNEL_ID = 1_300_000_000_000_000_002
MOD_ROLE_ID = 1_400_000_000_000_000_001
ADMIN_ID = 1_500_000_000_000_000_001
MOD_ID = 1_500_000_000_000_000_002
MEMBER_ID = 1_500_000_000_000_000_003
# Manage Server, Manage Messages, Kick, Ban, Moderate Members: what a moderator role usually has.
MODERATOR_PERMISSIONS = 0x20 | 0x2000 | 0x2 | 0x4 | (1 << 40)

AUDIT_ID_RE = re.compile(r"gaud_[0-9A-Za-z-]+")

# A realistic mix of what a busy group's log is made of, none of it join requests (those drive
# cards and have scenarios of their own): for bursts and streams of entries.
ROUTINE_EVENT_TYPES = (
    "group.member.role.assign",
    "group.member.role.unassign",
    "group.instance.create",
    "group.instance.close",
    "group.member.user.update",
    "group.invite.create",
    "group.update",
)

BOT_USERNAME = "groupbridge-bot"
BOT_PASSWORD = "sandbox password"  # noqa: S105 - the simulator's own account, not a real secret
USER_AGENT = "GroupBridge-sandbox/0.1 (sandbox@groupbridge.net)"


@dataclass
class Community:
    """What ``seed_community`` created in the simulator."""

    bot: SimUser
    totp_secret: str
    group: SimGroup
    moderator_role: SimRole
    members: list[SimUser]


def seed_community(sim: VRChatSimulator, *, name: str = "Sunset Lounge", members: int = 6) -> Community:
    """A group owned by the bot account (password + TOTP), a moderator role and a few members."""
    state = sim.state
    secret = pyotp.random_base32()
    bot = state.add_user(
        "GroupBridge Bot", username=BOT_USERNAME, password=BOT_PASSWORD, totp_secret=secret, bio="Bridge."
    )
    group = state.add_group(name, short_code="SUNSET", discriminator="0420", owner_id=bot.id)
    role = state.add_role(group.id, "Moderator", moderator=True, description="Keeps the peace")
    people = [state.add_user(n) for n in ("Aiko", "Ben", "Chidi", "Dana", "Emeka", "Fern")[:members]]
    for i, person in enumerate(people):
        state.add_member(group.id, person.id, [role.id] if i == 0 else [])
    return Community(bot, secret, group, role, people)


def populate_guild(standin: DiscordStandIn) -> None:
    """One server: #audit-feed, #join-requests, a Moderator role; an admin, a moderator, a member."""
    standin.add_guild(GUILD_ID, "Sunset Lounge Discord", owner_id=ADMIN_ID)
    standin.add_channel(FEED_CHANNEL_ID, guild_id=GUILD_ID, name="audit-feed")
    standin.add_channel(REQUESTS_CHANNEL_ID, guild_id=GUILD_ID, name="join-requests")
    standin.add_role(GUILD_ID, MOD_ROLE_ID, "Moderator", MODERATOR_PERMISSIONS)
    standin.add_member(GUILD_ID, ADMIN_ID, "admin")
    standin.add_member(GUILD_ID, MOD_ID, "moderator", (MOD_ROLE_ID,))
    standin.add_member(GUILD_ID, MEMBER_ID, "member")


@dataclass
class WorldSettings:
    """Knobs of the world; the defaults are those of the offline demo."""

    poll_interval: float = 1.0  # allowed below the 30 s floor because the simulator is on loopback
    validate: bool = True  # check every VRChat request and response against the OpenAPI spec
    discord_rate_limit: tuple[int, float] = (5, 5.0)  # Discord's real per-channel window
    backfill: str = "none"
    post_backfill: bool = False
    database_url: str | None = None  # default: a new SQLite file in the world's directory
    extra_config: str = ""  # appended to config.toml verbatim (after [[bindings]]: new tables only)
    env: dict[str, str] = field(default_factory=dict)  # extra environment for the bot process
    pipeline: bool = True  # VRChat's pipeline websocket (the simulator's: world.sim.pipeline steers it)


class SandboxWorld(LocalServer):
    """Simulator + stand-in + a config file in ``directory``; see the module docstring."""

    def __init__(self, directory: Path, settings: WorldSettings | None = None) -> None:
        self.directory = directory
        self.settings = settings or WorldSettings()
        self.sim = VRChatSimulator(validate=self.settings.validate)
        self.discord = DiscordStandIn(TOKEN, rate_limit=self.settings.discord_rate_limit)
        self.community: Community
        self.players: Players  # the VRChat side's people (bot.sandbox.identity), once started
        self.config_path = directory / "config.toml"
        self._processes: list[BotProcess] = []
        self.database_path = directory / "groupbridge.db"
        self.session_path = directory / "session.json"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        await self.sim.start(host="127.0.0.1", port=0)
        await self.discord.start(host="127.0.0.1", port=0)
        populate_guild(self.discord)
        self.community = seed_community(self.sim)
        self.players = Players(self.sim, self.community.group.id)
        self.config_path.write_text(self.config_text(), encoding="utf-8")

    def seed_identity(self) -> IdentityRoles:
        """Roles to link and sync on both sides (bot.sandbox.identity); call before the bot starts."""
        return seed_identity_roles(
            self.sim,
            self.discord,
            group_id=self.community.group.id,
            moderator_role=self.community.moderator_role,
            guild_id=GUILD_ID,
        )

    async def close(self) -> None:
        # A scenario that failed half-way must not leave a bot running on a deleted directory.
        for process in self._processes:
            await process.kill()
        await self.discord.close()
        await self.sim.close()

    def config_text(self) -> str:
        s = self.settings
        return f"""\
# Written by bot.sandbox.world: the real bot, pointed at a local VRChat simulator and Discord stand-in.
[vrchat]
username = "{BOT_USERNAME}"
password = "{BOT_PASSWORD}"
totp_secret = "{self.community.totp_secret}"
user_agent = "{USER_AGENT}"
base_url = "{self.sim.base_url}"
session_file = "{self.session_path}"
requests_per_second = 10
burst = 10
pipeline = {str(s.pipeline).lower()}

[discord]
token = "{TOKEN}"
api_base_url = "{self.discord.base_url}"
gateway_url = "{self.discord.gateway_url}"
guild_ids = [{GUILD_ID}]

[database]
url = "{s.database_url or f"sqlite+aiosqlite:///{self.database_path}"}"

[feed]
poll_interval_seconds = {s.poll_interval}
backfill = "{s.backfill}"
post_backfill = {str(s.post_backfill).lower()}

[[groups]]
id = "{self.community.group.id}"

[[bindings]]
group_id = "{self.community.group.id}"
guild_id = {GUILD_ID}
feed_channel_id = {FEED_CHANNEL_ID}
requests_channel_id = {REQUESTS_CHANNEL_ID}
moderator_role_ids = [{MOD_ROLE_ID}]
{s.extra_config}"""

    def bot_process(self, name: str = "bot") -> BotProcess:
        process = BotProcess(self.config_path, self.directory / f"{name}.log", env=self.settings.env)
        self._processes.append(process)
        return process

    # --- what Discord received ---------------------------------------------------------------------------

    def public_messages(self, channel_id: int) -> list[StandInMessage]:
        """What everyone in the channel sees: not the ephemeral replies only one moderator saw."""
        return [m for m in self.discord.messages(channel_id) if not m.ephemeral and not m.deleted]

    def feed_messages(self) -> list[StandInMessage]:
        return self.public_messages(FEED_CHANNEL_ID)

    def feed_audit_ids(self) -> list[str]:
        """Audit-entry ids in the feed channel, in message order (each entry's footer names its id;
        gap notices have none)."""
        ids = []
        for message in self.feed_messages():
            for embed in message.embeds:
                footer = str(embed.get("footer", {}).get("text", "")).replace("\\", "")
                if match := AUDIT_ID_RE.search(footer):
                    ids.append(match.group(0))
        return ids

    def expected_audit_ids(self) -> list[str]:
        """VRChat's log of the world's group oldest first, as the feed must show it: a stable sort of
        the log in append order keeps VRChat's order within one millisecond."""
        log = self.sim.state.audit(self.community.group.id)[::-1]
        return [e.id for e in sorted(log, key=lambda e: e.created_at)]

    def cards(self) -> list[StandInMessage]:
        return [m for m in self.public_messages(REQUESTS_CHANNEL_ID) if m.embeds]

    def card_for(self, display_name: str) -> StandInMessage:
        found = [m for m in self.cards() if display_name in str(m.embeds[0].get("title", ""))]
        if not found:
            raise LookupError(f"no join-request card for {display_name!r}")
        return found[-1]

    # --- acting as a Discord member ------------------------------------------------------------------------

    async def click(self, message: StandInMessage, label: str, who: int = MOD_ID) -> InteractionExchange:
        """A click on the button labelled ``label`` of a stored message, by member ``who``."""
        ids = [
            c["custom_id"]
            for row in message.components or []
            for c in row.get("components", [])
            if c.get("label") == label
        ]
        if not ids:
            raise LookupError(f"no button labelled {label!r} on message {message.id}")
        member = self.discord.member(GUILD_ID, who)
        return await self.discord.dispatch_interaction(button_click(ids[0], message, member=member))

    async def command(
        self, name: str, sub: str, options: dict[str, Any], who: int = MOD_ID
    ) -> InteractionExchange:
        """``/name sub options`` typed by member ``who`` in the feed channel."""
        member = self.discord.member(GUILD_ID, who)
        return await self.discord.dispatch_interaction(
            slash_command(name, options, channel_id=FEED_CHANNEL_ID, member=member, subcommand=sub)
        )

    async def status(self, who: int = ADMIN_ID, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109
        """``/bridge status`` as ``who``; the embed the bot answered with (raises if it sent none)."""
        exchange = await self.command("bridge", "status", {}, who=who)
        await exchange.wait_for(
            lambda x: any(e.data.get("embeds") for e in x.events if e.ok), timeout, "a status embed"
        )
        return next(e.data["embeds"][0] for e in exchange.events if e.ok and e.data.get("embeds"))

    @staticmethod
    async def wait_for(
        predicate: Callable[[], bool],
        what: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - how long to wait, not a call timeout
        *,
        process: BotProcess | None = None,
    ) -> None:
        """Poll ``predicate`` (the bot is another process: nothing here can be awaited directly); fail
        at once if ``process`` exits meanwhile instead of waiting out the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if process is not None and not process.running:
                raise RuntimeError(f"the bot exited ({process.returncode}) while waiting for {what}")
            if loop.time() > deadline:
                raise TimeoutError(f"waited {timeout:g} s for {what}")
            await asyncio.sleep(0.05)


class BotProcess:
    """``python -m bot run -c CONFIG`` as a child process; stderr (the log) goes to ``log_path``.

    A file, not a pipe: a chatty child can never block on a full pipe nobody reads.
    """

    def __init__(self, config_path: Path, log_path: Path, *, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.env = env or {}
        self.starts = 0
        self.kills = 0
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def start(self, *extra_args: str, env: dict[str, str] | None = None) -> None:
        """Start the bot; ``env`` adds to the environment of this start only (a crash point, say)."""
        if self.running:
            raise RuntimeError("the bot process is already running")
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env, **(env or {})}
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "-c",
                str(self.config_path),
                *extra_args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=child_env,
            )
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed, like a power cut."""
        if self.running:
            assert self._proc is not None
            self._proc.kill()
            await self._proc.wait()
            self.kills += 1

    async def wait_exit(self, timeout: float) -> int | None:  # noqa: ASYNC109
        """The exit status once the process has ended by itself, or None if it still runs after
        ``timeout`` seconds (it is left running)."""
        if self._proc is None:
            raise RuntimeError("the bot process was never started")
        try:
            return await asyncio.wait_for(self._proc.wait(), timeout)
        except TimeoutError:
            return None

    async def stop(self, timeout: float = 20.0) -> int:  # noqa: ASYNC109
        """SIGTERM and wait for a clean exit; returns the exit status (killed after ``timeout``)."""
        if self._proc is None:
            raise RuntimeError("the bot process was never started")
        if self._proc.returncode is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._proc.wait(), timeout)
            except TimeoutError:
                await self.kill()
        assert self._proc.returncode is not None
        return self._proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
