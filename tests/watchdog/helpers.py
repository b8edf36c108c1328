"""A runaway moderator in the simulator, the mirror catching up, and alerts turned on."""

from __future__ import annotations

from dataclasses import replace

from bot.bot import GroupBridgeBot
from bot.feed.poller import AuditPoller
from bot.store import Store
from bot.store.moderator_alerts import AlertSettingsRecord
from bot.watchdog.loop import WatchdogLoop
from bot.watchdog.settings import default_record
from tests.fixtures.vrchat_sim import SeededSim


async def turn_on(store: Store, group_id: str, **changes: object) -> AlertSettingsRecord:
    """Alerts on for every binding of the group: the defaults with `changes` (max_bans=3, …)."""
    record = None
    for binding in await store.list_bindings(group_id=group_id):
        record = replace(default_record(binding.id), **changes)  # type: ignore[arg-type]
        await store.put_alert_settings(record)
    assert record is not None
    return record


def ban_spree(seeded: SeededSim, actor_id: str, count: int, prefix: str = "Victim") -> list[str]:
    """`actor_id` bans `count` fresh members in the game (the simulator writes the audit entries)."""
    state, group = seeded.sim.state, seeded.group.id
    banned = []
    for n in range(count):
        victim = state.add_user(f"{prefix} {n}")
        state.add_member(group, victim.id)
        state.ban(group, victim.id, actor_id)
        banned.append(victim.id)
    return banned


async def mirror(bot: GroupBridgeBot, group_id: str) -> None:
    """One poll of the group's audit log into the store, as the feed does."""
    await AuditPoller(bot.vrchat, bot.store, group_id).poll_once()


class _Cog:
    def __init__(self, loop: WatchdogLoop) -> None:
        self.loop = loop


def watchdog(bot: GroupBridgeBot) -> _Cog:
    """The cog's loop (discord.py loads the cog module afresh, so its class is not the one imported
    here; the loop's module is shared)."""
    loop = getattr(bot.get_cog("Watchdog"), "loop", None)
    assert isinstance(loop, WatchdogLoop)
    return _Cog(loop)
