"""Faults: the real bot as a process, one fault after another, each while entries keep arriving.

For every case (fault_cases.py): inject it, add entries, wait until the fault has bitten a few times,
check the process is alive, ask `/bridge status` as the admin until it names the problem, keep the
fault on for its hold time, clear it, add more entries, and wait until every entry VRChat has is in
the feed channel, once and in order. Each family (VRChat, Discord, database) has its own world and
bot, and the families run side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bot.sandbox.world import SandboxWorld, WorldSettings
from tests.reliability.discord_faults import DiscordFaults
from tests.reliability.fault_cases import FAMILIES, REQUEST_TIMEOUT, Bench, FaultCase
from tests.reliability.results import ScenarioResult, prefix_problem

Say = Callable[[str], None]
ENTRIES_DURING = 6
ENTRIES_AFTER = 4
WAIT = 45.0  # for each thing that must happen; generous for a busy CI machine


def trouble_lines(embed: dict[str, Any]) -> list[str]:
    """The lines of a status embed that speak of trouble, each prefixed with what it is about."""
    lines = []
    for item in embed.get("fields", []):
        name, value = str(item.get("name", "")), str(item.get("value", "")).replace("\\", "")
        if name == "VRChat session":
            lines.append(f"vrchat session: {value}")
        elif name == "Database":
            lines.append(f"database: {value}")
        elif name == "Paused feed channel":
            lines.append(f"paused: {value}")
        elif name.startswith("Recent problems"):
            lines.append(f"recent: {value.splitlines()[0]}")  # the newest: older ones are earlier cases'
        else:
            lines += [line for line in value.splitlines() if line.startswith("last error")]
    return lines


class FamilyRun:
    def __init__(self, world: SandboxWorld, result: ScenarioResult, say: Say) -> None:
        self.world = world
        self.result = result
        self.say = say
        self.bench = Bench(world, world.bot_process(), DiscordFaults(world.discord))
        self.added = 0

    def add_entries(self, count: int) -> None:
        state, community = self.world.sim.state, self.world.community
        for _ in range(count):
            self.added += 1
            state.add_audit_entry(
                community.group.id,
                "group.update",
                community.bot.id,
                community.group.id,
                f"{self.result.scenario}: entry {self.added}",
            )

    async def delivered(self, where: str) -> None:
        expected = self.world.expected_audit_ids()
        try:
            await self.world.wait_for(lambda: set(expected) <= set(self.world.feed_audit_ids()), where, WAIT)
        except TimeoutError:
            self.result.problems.append(f"{where}: not every entry reached the channel within {WAIT:g} s")
        problem = prefix_problem(self.world.expected_audit_ids(), self.world.feed_audit_ids())
        if problem:
            self.result.problems.append(f"{where}: {problem}")

    def alive(self, where: str) -> bool:
        bot = self.bench.bot
        if bot.running:
            return True
        self.result.crashed += 1
        tail = "\n".join(bot.log().splitlines()[-20:])
        self.result.problems.append(f"{where}: the bot exited ({bot.returncode}):\n{tail}")
        return False

    async def status_saying(self, case: FaultCase) -> list[str]:
        """Ask for the status until it says what the case expects; the last answer otherwise."""
        loop = asyncio.get_running_loop()
        deadline, lines = loop.time() + WAIT, ["(no answer)"]
        while loop.time() < deadline:
            try:
                lines = trouble_lines(await self.world.status(timeout=10))
            except AssertionError as exc:  # unanswered: a bot stuck on its database would do this
                lines = [f"(no answer: {exc})"]
            if case.says(lines):
                return lines
            await asyncio.sleep(0.5)
        self.result.problems.append(f"{case.name}: /bridge status never said {case.said!r}; it said {lines}")
        return lines

    async def case(self, case: FaultCase) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.result.runs += 1
        await case.inject(self.bench)
        self.add_entries(ENTRIES_DURING)
        try:
            await self.world.wait_for(lambda: case.bitten(self.bench), f"{case.name} to bite", WAIT)
        except TimeoutError as exc:
            self.result.problems.append(f"{case.name}: {exc}")
        said = await self.status_saying(case) if self.alive(case.name) else []
        await asyncio.sleep(max(0.0, started + case.hold - loop.time()))
        self.alive(f"{case.name}, before clearing")
        await case.clear(self.bench)
        self.add_entries(ENTRIES_AFTER)
        await self.delivered(f"after {case.name}")
        self.say(f"{self.result.scenario} / {case.name}: status said {said}")
        return {"case": case.name, "status": said, "seconds": round(loop.time() - started, 1)}


async def run_family(
    directory: Path, family: str, cases: Iterable[FaultCase], say: Say = print
) -> ScenarioResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = ScenarioResult(f"faults: {family}")
    settings = WorldSettings(
        poll_interval=0.5,
        backfill="all",
        post_backfill=True,
        env={"GROUPBRIDGE_VRCHAT__REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT)},
    )
    async with SandboxWorld(directory, settings) as world:
        run = FamilyRun(world, result, say)
        bot = run.bench.bot
        reports: list[dict[str, Any]] = []
        await bot.start()
        try:
            run.add_entries(ENTRIES_AFTER)
            await run.delivered("before any fault")
            for case in cases:
                try:
                    reports.append(await run.case(case))
                except Exception as exc:  # a broken case must not hide the others' findings
                    result.problems.append(f"{case.name}: {type(exc).__name__}: {exc}")
                if not run.alive(f"after {case.name}"):
                    break
            await asyncio.sleep(settings.poll_interval * 6)  # room for a late duplicate
            result.count(world.expected_audit_ids(), world.feed_audit_ids(), "at the end")
            if run.alive("at the end") and (status := await bot.stop()) != 0:
                result.crashed += 1
                result.problems.append(f"the bot stopped with exit status {status}")
        finally:
            await run.bench.clear()
            if run.bench.lock is not None:
                run.bench.lock.close()
            await bot.kill()
        result.details = {
            "cases": reports,
            "vrchat_violations": list(world.sim.violations)[:5],
            "discord_violations": list(world.discord.violations)[:5],
        }
    result.seconds = loop.time() - started
    return result


async def run_faults(
    directory: Path, families: Iterable[str] = tuple(FAMILIES), say: Say = print
) -> list[ScenarioResult]:
    """Every family side by side, each in its own world (and its own subdirectory)."""
    return list(
        await asyncio.gather(
            *(run_family(directory / name.lower(), name, FAMILIES[name], say) for name in families)
        )
    )
