"""The faults, one case each: how to cause it, when it has bitten, what `/bridge status` must then
say, and how it ends. The runner (faults.py) does the rest the same way for every case.

VRChat faults hit only the poller's call (``GET /groups/{id}/auditLogs``), so what the status says
about them cannot come from some other loop's trouble. Discord faults hit the feed channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.vrchat import Fault
from bot.sandbox.world import ADMIN_ID, FEED_CHANNEL_ID, BotProcess, SandboxWorld
from tests.reliability.discord_faults import DiscordFaults, Storm

AUDIT = r"^/groups/[^/]+/auditLogs$"
REQUEST_TIMEOUT = 1.5  # the bot's VRChat timeout in these worlds, so that a timeout costs seconds
CLOUDFLARE_502 = (
    "<!DOCTYPE html><html><head><title>vrchat.com | 502: Bad gateway</title></head>"
    "<body><h1>Bad gateway</h1><p>Cloudflare Ray ID: 8a1b2c3d4e5f6a7b</p></body></html>"
)
CHALLENGE_PAGE = "<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"
# A page of the log as VRChat would start to send it; the fault cuts it off after 200 bytes.
LONG_PAGE = '{"results": [' + ", ".join(['{"id": "gaud_x", "eventType": "group.update"}'] * 40) + "]}"
REFUSED = "database or disk is full (injected)"
TRIGGER = (
    "CREATE TRIGGER reliability_refuse_insert BEFORE INSERT ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
)


@dataclass
class Bench:
    """One world, its bot, and the handles a case needs."""

    world: SandboxWorld
    bot: BotProcess
    discord: DiscordFaults
    faults: list[Fault] = field(default_factory=list)
    storms: list[Storm] = field(default_factory=list)
    lock: sqlite3.Connection | None = None
    marks: dict[str, int] = field(default_factory=dict)

    def vrchat(self, **kwargs: Any) -> None:
        self.faults.append(self.world.sim.faults.add(Fault(method="GET", path=AUDIT, **kwargs)))

    def hits(self) -> int:
        return sum(f.hits for f in self.faults) + sum(s.hits for s in self.storms)

    async def clear(self) -> None:
        self.world.sim.faults.clear()
        self.discord.clear()
        self.faults.clear()
        self.storms.clear()

    def sql(self, statement: str) -> None:
        # closing(): `with connect()` alone only commits; 3.13 warns about the unclosed connection.
        with contextlib.closing(
            sqlite3.connect(self.world.database_path, timeout=15, isolation_level=None)
        ) as conn:
            conn.execute(statement)


Action = Callable[[Bench], Awaitable[None]]


@dataclass(frozen=True)
class FaultCase:
    name: str
    inject: Action
    bitten: Callable[[Bench], bool]  # the fault has done its damage a few times: look now
    says: Callable[[list[str]], bool]  # over the status lines that speak of trouble (see faults.py)
    said: str  # what `says` looks for, in words, for the report
    clear: Action = Bench.clear
    hold: float = 0.0  # keep the fault on at least this long (seconds from its injection)


def mentions(*words: str) -> Callable[[list[str]], bool]:
    return lambda lines: any(all(w.lower() in line.lower() for w in words) for line in lines)


def mentions_any(*phrases: str) -> Callable[[list[str]], bool]:
    return lambda lines: any(p.lower() in line.lower() for p in phrases for line in lines)


def hit(n: int) -> Callable[[Bench], bool]:
    return lambda bench: bench.hits() >= n


def vrchat_case(
    name: str, bites: int, says: Callable[[list[str]], bool], said: str, **fault: Any
) -> FaultCase:
    async def inject(bench: Bench) -> None:
        bench.vrchat(**fault)

    return FaultCase(name, inject, hit(bites), says, said)


async def expire(bench: Bench) -> None:
    bench.marks["logins"] = bench.world.sim.password_logins
    bench.world.sim.expire_sessions()


async def restart(bench: Bench) -> None:
    """What the operator does for a session the bot may not renew by itself: `groupbridge login`
    and a restart (with a TOTP secret configured, the start logs in by itself)."""
    await bench.clear()
    if await bench.bot.stop() != 0:
        raise RuntimeError(f"the bot did not stop cleanly:\n{bench.bot.log()[-2000:]}")
    await bench.bot.start()


async def storm(bench: Bench, **kwargs: Any) -> None:
    bench.storms.append(bench.discord.add(Storm(FEED_CHANNEL_ID, **kwargs)))


async def forbid(bench: Bench) -> None:
    bench.world.discord.set_channel_error(FEED_CHANNEL_ID, 403)


async def allow_and_resume(bench: Bench) -> None:
    bench.world.discord.set_channel_error(FEED_CHANNEL_ID, None)
    channel = bench.world.discord.state.channels[FEED_CHANNEL_ID]
    exchange = await bench.world.command("bridge", "resume", {"channel": channel}, who=ADMIN_ID)
    await exchange.wait(timeout=15)


async def drop_gateway(bench: Bench) -> None:
    gateway = bench.world.discord.gateway
    bench.marks["connections"] = gateway.identify_count + gateway.resume_count
    await gateway.drop()


def reconnected(bench: Bench) -> bool:
    gateway = bench.world.discord.gateway
    return gateway.identify_count + gateway.resume_count > bench.marks["connections"]


async def lock_database(bench: Bench) -> None:
    conn = sqlite3.connect(
        bench.world.database_path, timeout=15, isolation_level=None, check_same_thread=False
    )
    # In a thread: if the bot is mid-write, BEGIN EXCLUSIVE waits for it, and this loop must not.
    await asyncio.to_thread(conn.execute, "BEGIN EXCLUSIVE")
    bench.lock = conn


async def unlock_database(bench: Bench) -> None:
    if bench.lock is not None:
        bench.lock.execute("ROLLBACK")
        bench.lock.close()
        bench.lock = None


async def refuse_writes(bench: Bench) -> None:
    await asyncio.to_thread(bench.sql, TRIGGER)


async def accept_writes(bench: Bench) -> None:
    await asyncio.to_thread(bench.sql, "DROP TRIGGER reliability_refuse_insert")


def _healthy(lines: list[str]) -> bool:
    return not any(line.startswith(("last error", "recent")) for line in lines)


VRCHAT: list[FaultCase] = [
    # First, while nothing has gone wrong yet: slow but correct answers are no error.
    vrchat_case("very slow answers (1 s each)", 3, _healthy, "nothing wrong", delay=1.0),
    FaultCase(
        "session expired, renewed by itself",
        expire,
        lambda b: b.world.sim.password_logins > b.marks["logins"],
        mentions("vrchat session", "ok ("),
        "session OK",
    ),
    vrchat_case(
        "429 with Retry-After",
        3,
        mentions("vrchat rate limit"),
        "VRChat rate limit",
        status=429,
        retry_after=1,
    ),
    vrchat_case("429 without Retry-After", 3, mentions("vrchat rate limit"), "VRChat rate limit", status=429),
    vrchat_case("500", 2, mentions("answered 500"), "answered 500", status=500),
    vrchat_case(
        "502 Cloudflare HTML page",
        4,
        mentions("502", "html page"),
        "502 HTML page",
        status=502,
        body=CLOUDFLARE_502,
    ),
    vrchat_case("503", 4, mentions("answered 503"), "answered 503", status=503),
    vrchat_case("timeouts", 4, mentions("timed out"), "timed out", delay=REQUEST_TIMEOUT * 2),
    vrchat_case(
        "malformed JSON",
        2,
        mentions("non-json", "where json was expected"),
        "non-JSON body",
        body='{"results": [',
    ),
    vrchat_case(
        "HTML page instead of JSON", 2, mentions("html page", "where json"), "HTML page", body=CHALLENGE_PAGE
    ),
    vrchat_case(
        "truncated body", 4, mentions("connection lost"), "connection lost", body=LONG_PAGE, truncate=200
    ),
    # Last: the second expiry within the re-login interval blocks the session until an operator acts.
    FaultCase(
        "session expired again, re-login refused",
        expire,
        lambda b: b.world.sim.password_logins >= b.marks["logins"],
        mentions("groupbridge login"),
        "run groupbridge login",
        clear=restart,
    ),
    # VRChat refuses a call now and then for other reasons than a lost session: one GET /auth says
    # the session is fine, and the bot neither logs in again nor stops. After the restart above, so
    # that its session check (at most one a minute) cannot delay noticing the expiries.
    vrchat_case(
        "401 on the poll, session still valid",
        3,
        mentions("only this call was refused"),
        "only this call was refused",
        status=401,
    ),
]

DISCORD: list[FaultCase] = [
    FaultCase("gateway disconnect", drop_gateway, reconnected, _healthy, "nothing wrong, once reconnected"),
    FaultCase(
        "429 storm on the feed channel",
        lambda b: storm(b, status=429, retry_after=0.5),
        hit(6),
        mentions_any("responded with 429", "answered 429"),
        "429",
    ),
    FaultCase(
        "500 on the feed channel (message kept)",
        lambda b: storm(b, status=500, after_store=True),
        hit(5),
        mentions("answered 500"),
        "answered 500",
    ),
    FaultCase(
        "403 on the feed channel",
        forbid,
        lambda b: True,
        mentions("paused"),
        "paused",
        clear=allow_and_resume,
    ),
]

DATABASE: list[FaultCase] = [
    # Longer than the bot's busy timeout (10 s): its writes do fail, not only wait.
    FaultCase(
        "SQLite locked by another process",
        lock_database,
        lambda b: True,
        mentions("locked"),
        "locked",
        clear=unlock_database,
        hold=12.0,
    ),
    FaultCase(
        "a failing write",
        refuse_writes,
        lambda b: True,
        mentions("disk is full"),
        REFUSED,
        clear=accept_writes,
    ),
]

FAMILIES: dict[str, list[FaultCase]] = {"VRChat": VRCHAT, "Discord": DISCORD, "database": DATABASE}
