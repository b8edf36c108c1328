"""A fleet of `groupbridge run` processes on one PostgreSQL database, for the scale test and benchmark.

The sandbox world (bot.sandbox.world) seeds one community; `build_world` adds groups until there
are `groups`, each bound to a feed channel of its own. Each process gets its own User-Agent suffix
(through the environment, which wins over config.toml), so every request the VRChat simulator
records says which process sent it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.sandbox.world import (
    AUDIT_ID_RE,
    FEED_CHANNEL_ID,
    GUILD_ID,
    USER_AGENT,
    BotProcess,
    SandboxWorld,
    WorldSettings,
)
from bot.store import Store
from bot.store.leases import Lease

FEED_BASE = 1_330_000_000_000_000_000  # feed channel of added group i: FEED_BASE + i
_ACQUIRED = re.compile(r"Leases acquired: (.*)$", re.MULTILINE)


@dataclass
class Fleet:
    world: SandboxWorld
    channels: dict[str, int]  # group id -> its feed channel
    processes: dict[str, BotProcess] = field(default_factory=dict)  # by label

    @property
    def groups(self) -> list[str]:
        return list(self.channels)

    async def start(self, label: str, role: str, *, source_address: str | None = None) -> BotProcess:
        """`source_address`: where this process's VRChat requests leave from, as if on a host of its own
        (an address on 127.0.0.0/8; the simulator ties each session to the address that logged in)."""
        env = {
            **self.world.settings.env,
            "GROUPBRIDGE_VRCHAT__USER_AGENT": f"{USER_AGENT} {label}",
            # "Leases acquired: name#generation ..." (which process held each lease when) is a DEBUG line.
            "GROUPBRIDGE_LOGGING__LEVEL": "DEBUG",
        }
        if source_address is not None:
            env["GROUPBRIDGE_VRCHAT__SOURCE_ADDRESS"] = source_address
        process = BotProcess(self.world.config_path, self.world.directory / f"{label}.log", env=env)
        await process.start("--role", role)
        self.processes[label] = process
        return process

    def label_of_owner(self, owner: str) -> str | None:
        """Lease owners are host:pid:random."""
        pid = owner.split(":")[-2] if owner.count(":") >= 2 else ""
        return next((k for k, p in self.processes.items() if str(p.pid) == pid), None)

    def sender(self, user_agent: str) -> str | None:
        return next((k for k in self.processes if user_agent.endswith(f" {k}")), None)

    def polls(self, group_id: str, since: float = 0.0) -> list[tuple[float, str | None]]:
        """(monotonic time, process label) of each audit-log request for the group."""
        return [
            (r.at, self.sender(r.headers.get("User-Agent", "")))
            for r in self.world.sim.requests_to("GET", rf"/groups/{group_id}/auditLogs$")
            if r.at >= since
        ]

    def delivered(self, channel_id: int) -> list[str]:
        ids = []
        for message in self.world.public_messages(channel_id):
            for embed in message.embeds:
                footer = str(embed.get("footer", {}).get("text", "")).replace("\\", "")
                if match := AUDIT_ID_RE.search(footer):
                    ids.append(match.group(0))
        return ids

    def acquisitions(self) -> dict[tuple[str, int], list[str]]:
        """(lease, generation) -> the processes whose log says they acquired it."""
        found: dict[tuple[str, int], list[str]] = {}
        for label, process in self.processes.items():
            for line in _ACQUIRED.findall(process.log()):
                for token in line.split():
                    name, _, generation = token.rpartition("#")
                    found.setdefault((name, int(generation)), []).append(label)
        return found

    async def stop_all(self) -> None:
        for process in self.processes.values():
            if process.running:
                await process.stop()


async def build_world(
    directory: Path, settings: WorldSettings, groups: int, *, channel_limit: int | None = None
) -> Fleet:
    """A started world with `groups` bound groups (the community's first), config written."""
    world = SandboxWorld(directory, settings)
    await world.start()
    state, bot_id = world.sim.state, world.community.bot.id
    channels = {world.community.group.id: FEED_CHANNEL_ID}
    extra = []
    for i in range(1, groups):
        group = state.add_group(f"Scale {i}", short_code=f"SC{i:03d}", owner_id=bot_id)
        extra.append(bind_to_new_channel(world, channels, group.id, FEED_BASE + i, f"feed-{i}"))
    world.settings.extra_config += "".join(extra)
    world.config_path.write_text(world.config_text(), encoding="utf-8")
    return Fleet(world, channels)


def bind_to_new_channel(
    world: SandboxWorld, channels: dict[str, int], group_id: str, channel: int, name: str
) -> str:
    """A new feed channel for the group (recorded in `channels`); the config text that binds them."""
    world.discord.add_channel(channel, guild_id=GUILD_ID, name=name)
    channels[group_id] = channel
    return (
        f'\n[[groups]]\nid = "{group_id}"\n\n[[bindings]]\ngroup_id = "{group_id}"\n'
        f"guild_id = {GUILD_ID}\nfeed_channel_id = {channel}\n"
    )


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float,  # noqa: ASYNC109 - how long to wait, not a call timeout
    processes: Iterable[BotProcess] = (),
) -> None:
    """Until `check()` is true; fails at once if one of `processes` exits meanwhile."""
    watched = list(processes)
    async with asyncio.timeout(timeout):
        while not await check():
            for process in watched:
                if not process.running:
                    raise RuntimeError(
                        f"a bot process exited ({process.returncode}) while waiting for {what}"
                    )
            await asyncio.sleep(0.1)


def collapse(labels: Iterable[str | None]) -> list[str | None]:
    """Each stretch of one label collapsed to one item."""
    return [label for label, _ in itertools.groupby(labels)]


def is_subsequence(short: Sequence[str | None], long: Sequence[str | None]) -> bool:
    rest = iter(long)
    return all(item in rest for item in short)


def owners(leases: Iterable[Lease], prefix: str) -> dict[str, str]:
    """Live leases of one kind: name -> owner."""
    return {x.name: x.owner for x in leases if x.name.startswith(prefix) and x.live}


async def shares(store: Store, fleet: Fleet, prefix: str) -> dict[str | None, int]:
    """How many live leases of one kind each process holds."""
    counts: dict[str | None, int] = {}
    for owner in owners(await store.list_leases(), prefix).values():
        label = fleet.label_of_owner(owner)
        counts[label] = counts.get(label, 0) + 1
    return counts
