"""Crash safety: the real bot (``python -m bot run``), SIGKILLed again and again while audit entries
and join requests stream in, then checked against VRChat's own log.

Where the kills land. Killing from outside at random moments mostly hits the bot asleep between two
polls; the steps that matter take milliseconds. So most lives are armed with a crash point
(``bot.crashpoints``): ``GROUPBRIDGE_CRASH_AT=outbox.after_send:3`` makes that process SIGKILL itself
the third time it has sent a message and not yet marked it sent; the points cover fetching, storing,
packing, sending and marking, and the card flow. The other lives are killed from here after a random
time (during start-up, a drain, a poll or idling). An armed life whose point is not reached in time is
killed by the timer too, and reported as such.

After every kill the feed channel must be a prefix of VRChat's log (nothing twice, nothing skipped,
nothing swapped); at the end, with the stream over and a last clean life, it must be all of it, and the
requests channel must show one card per request: open with its three buttons while the request is
pending, closed exactly once when it was handled.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.crashpoints import ENV_VAR
from bot.sandbox.world import BotProcess, SandboxWorld, WorldSettings
from tests.reliability.cards import Requesters
from tests.reliability.results import ScenarioResult, prefix_problem
from tests.reliability.stream import EntryStream

Say = Callable[[str], None]
TIMED = "timed"
CARD_POINTS = ("cards.after_upsert", "cards.after_post", "cards.after_claim")
# The order kinds are used in; a short run gets the most telling ones first, a long one all of them.
ROTATION = (
    "outbox.after_send",
    "store.after_ingest",
    "cards.after_post",
    "poller.after_fetch",
    TIMED,
    "outbox.after_pack",
    "cards.after_claim",
    "outbox.before_send",
    "outbox.after_mark",
    "cards.after_upsert",
    TIMED,
)


# An armed life normally crashes within a few seconds; on two loaded cores (the other xdist worker busy)
# a start plus four polls took longer than 12 s, and a card claim (a request asked, its card posted, the
# request handled in VRChat, the next card round) longer than 24 s in CI. The window only costs time when
# the point is never reached, so it is wide.
ARMED_PATIENCE = 12
CARD_PATIENCE = 60.0  # seconds for a requester's card to come up before the owner decides it


@dataclass
class CrashOptions:
    entries: int = 2000
    kills: int = 20
    requests: int = 10  # join requests arriving during the run (at least one per card crash point)
    seed: int = 7
    life: float = 4.0  # mean seconds of a timed life; an armed one gets ARMED_PATIENCE times that to crash
    down: float = 1.0  # at most this long between a kill and the restart
    poll_interval: float = 0.5
    timeout: float = 240.0  # for the final catch-up

    @classmethod
    def short(cls) -> CrashOptions:
        """What ``make test`` runs: fetch, store, pack, send, a card's post and claim, a timed kill."""
        return cls(entries=200, kills=7, requests=4)

    def plan(self) -> list[str]:
        return [ROTATION[i % len(ROTATION)] for i in range(self.kills)]


@dataclass
class LifeRecord:
    kind: str
    nth: int
    outcome: str  # "point", "timer", "timer (point not reached)" or "exited <status>"
    feed_after: int  # entries in the channel after the kill


@dataclass
class _Run:
    world: SandboxWorld
    bot: BotProcess
    options: CrashOptions
    rng: random.Random
    result: ScenarioResult
    stream: EntryStream
    people: Requesters
    say: Say
    lives: list[LifeRecord] = field(default_factory=list)
    _log_seen: int = 0

    def new_log(self) -> str:
        text = self.bot.log()
        fresh, self._log_seen = text[self._log_seen :], len(text)
        return fresh

    async def life(self, index: int, kind: str) -> None:
        self.new_log()
        nth = 1 if kind in CARD_POINTS or kind == TIMED else self.rng.randint(1, 4)
        await self.bot.start(env={ENV_VAR: f"{kind}:{nth}"} if kind != TIMED else None)
        self.result.runs += 1
        if kind in ("cards.after_upsert", "cards.after_post"):
            self.people.ask()
        elif kind == "cards.after_claim":
            await self._handle_a_carded_request()
        if kind == TIMED:
            outcome = await self._timed_life()
        else:
            status = await self.bot.wait_exit(self.options.life * ARMED_PATIENCE)
            if status is None:
                await self.bot.kill()
                outcome = "timer (point not reached)"
                tail = "\n".join(self.new_log().splitlines()[-25:])
                self.result.problems.append(f"{kind}:{nth} was not reached; the bot's last lines:\n{tail}")
            elif status == -9 and f"crash point {kind} reached" in self.new_log():
                outcome = "point"
            else:
                outcome = self._unexpected(status, kind)
        feed = self.world.feed_audit_ids()
        self.lives.append(LifeRecord(kind, nth, outcome, len(feed)))
        self.say(f"kill {index + 1}: {kind}:{nth} -> {outcome}; {len(feed)} entries in the channel")
        problem = prefix_problem(self.world.expected_audit_ids(), feed)
        if problem:
            self.result.problems.append(f"after kill {index + 1} ({kind}): {problem}")

    async def _handle_a_carded_request(self) -> None:
        """The owner decides in VRChat a request whose card is up, so the bot has a card to claim;
        with no card up yet, someone asks first and the owner waits for the card."""
        if self.people.handle_in_vrchat() is not None:
            return
        self.people.ask()
        try:
            await self.world.wait_for(
                lambda: self.people.open_card(unclicked=True) is not None,
                "a card to decide",
                CARD_PATIENCE,
                process=self.bot,
            )
        except (TimeoutError, RuntimeError):
            return  # the life ends by the timer or by itself; the outcome says which
        self.people.handle_in_vrchat()

    async def _timed_life(self) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rng.uniform(0.3, 2 * self.options.life)
        if (card := self.people.open_card()) is not None:
            try:
                await self._wait_connected()
                await self.people.click(card)
            except (AssertionError, TimeoutError, RuntimeError) as exc:
                self.result.problems.append(f"a moderator's click went unanswered: {exc}")
        status = await self.bot.wait_exit(max(0.0, deadline - loop.time()))
        if status is not None:
            return self._unexpected(status, TIMED)
        await self.bot.kill()
        return "timer"

    async def _wait_connected(self) -> None:
        """This process's own gateway session (the killed one's is gone with its socket)."""
        gateway = self.world.discord.gateway
        before = gateway.identify_count + gateway.resume_count
        await self.world.wait_for(
            lambda: gateway.identify_count + gateway.resume_count > before,
            "the bot's gateway session",
            20,
            process=self.bot,
        )

    def _unexpected(self, status: int, kind: str) -> str:
        self.result.crashed += 1
        tail = "\n".join(self.new_log().splitlines()[-15:])
        self.result.problems.append(f"the bot exited with {status} during a {kind} life:\n{tail}")
        return f"exited {status}"


async def run_crash_scenario(directory: Path, options: CrashOptions, say: Say = print) -> ScenarioResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    rng = random.Random(options.seed)
    result = ScenarioResult(f"crash: {options.kills} SIGKILLs, {options.entries} entries")
    # Everything VRChat logs must reach the channel, history included: backfill all of it, posted.
    settings = WorldSettings(poll_interval=options.poll_interval, backfill="all", post_backfill=True)
    async with SandboxWorld(directory, settings) as world:
        rate = options.entries / (options.kills * options.life)
        run = _Run(
            world,
            world.bot_process(),
            options,
            rng,
            result,
            EntryStream(world, options.entries, rate, rng),
            Requesters(world, rng),
            say,
        )
        streaming = asyncio.create_task(run.stream.run(), name="entry stream")
        try:
            for index, kind in enumerate(options.plan()):
                await run.life(index, kind)
                await asyncio.sleep(rng.uniform(0, options.down))
                if len(run.people.names) < options.requests and rng.random() < 0.3:
                    run.people.ask()  # arrives while the bot is down
            while len(run.people.names) < options.requests:
                run.people.ask()
            await streaming
            await _final_life(run)
        finally:
            streaming.cancel()
            await run.bot.kill()
        result.details = {
            "lives": [vars(life) for life in run.lives],
            "outcomes": dict(Counter(life.outcome for life in run.lives)),
            "same_millisecond_batches": run.stream.same_ms_batches,
            "requests": len(run.people.names),
            "clicked": len(run.people.clicked),
            "handled_in_vrchat": len(run.people.handled_in_vrchat),
            "vrchat_violations": list(world.sim.violations)[:5],
            "discord_violations": list(world.discord.violations)[:5],
        }
        if world.sim.violations or world.discord.violations:
            result.problems.append("the VRChat simulator or the Discord stand-in saw invalid traffic")
    result.seconds = loop.time() - started
    return result


async def _final_life(run: _Run) -> None:
    """A last clean life: everything must arrive, once, and the cards must settle."""
    world, bot, result = run.world, run.bot, run.result
    run.new_log()
    await bot.start()
    result.runs += 1
    expected = world.expected_audit_ids()
    try:
        await world.wait_for(
            lambda: set(expected) <= set(world.feed_audit_ids()),
            "every entry in the feed channel",
            run.options.timeout,
            process=bot,
        )
        await world.wait_for(lambda: not run.people.problems(), "the cards to settle", 60, process=bot)
    except (TimeoutError, RuntimeError) as exc:
        result.problems.append(str(exc))
    # Room for a late duplicate to show up, if one were coming.
    await asyncio.sleep(run.options.poll_interval * 6)
    result.count(world.expected_audit_ids(), world.feed_audit_ids(), "at the end")
    result.problems += [f"cards: {p}" for p in run.people.problems()]
    if bot.running:
        status = await bot.stop()
        if status != 0:
            result.crashed += 1
            result.problems.append(f"the last life stopped with exit status {status}")
    else:
        run._unexpected(bot.returncode or 0, "final")
