"""The bot's start-up steps that need no bot: opening the store with the config applied, the lease
keeper, the feed's poll settings, VRChat's pipeline, and the wait to become the Discord gateway.

bot.bot's setup_hook runs them in order and keeps what they return; each takes the parts it needs, so
the bot class stays its contract (what it carries) and its wiring.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from bot.banbridge.catch_up import now_mark
from bot.banbridge.config_settings import apply_config_settings as apply_config_ban_settings
from bot.config import Config
from bot.config.checks import is_loopback_url
from bot.feed.poller import POLL_FLOOR_SECONDS, PollSettings
from bot.lease_names import GATEWAY_LEASE
from bot.leases import LeaseKeeper, bound_lease_names
from bot.services.pipeline_events import PipelineEvents
from bot.store import Store
from bot.store.ports import PipelineStore
from bot.vrchat import VRChatAPI
from bot.vrchat.pool import AccountPool
from bot.watchdog.settings import apply_declared_alerts
from bot.wiring import apply_declared_rules, config_bindings, config_bindings_text

log = logging.getLogger(__name__)

LOOPBACK_POLL_FLOOR = 0.1
# How often a standby gateway asks for the gateway lock: the failover time after a gateway dies.
GATEWAY_LOCK_POLL = 1.0


async def open_store(config: Config) -> Store:
    """The configured database, upgraded, with what config.toml declares applied over it."""
    store = await Store.open(config.database.url)
    try:
        async with store.startup_lock():  # processes starting together must not race on these
            await store.upgrade()
            synced = await store.apply_config_bindings(config_bindings(config))
            log.debug("Bindings from the config: %s", synced)
            log.info(config_bindings_text(synced, len(await store.list_bindings(source="command"))))
            await apply_declared_rules(store, config)
            for guild_id in await apply_config_ban_settings(store, config):
                await store.move_audit_mark(guild_id, now_mark())  # as /bridge bans does
            await apply_declared_alerts(store, config)
    except BaseException:  # a failed or cancelled start: nothing else holds the store to close it
        await store.close()
        raise
    return store


def poll_settings(config: Config) -> PollSettings:
    feed = config.feed
    # Mirrors the config check: a simulator on loopback (the offline demo) is not VRChat.
    floor = LOOPBACK_POLL_FLOOR if is_loopback_url(config.vrchat.base_url) else POLL_FLOOR_SECONDS
    return PollSettings(
        interval=feed.poll_interval_seconds,
        backfill=feed.backfill,
        backfill_count=feed.backfill_count,
        post_backfill=feed.post_backfill,
        floor=floor,
        quiet_ceiling=feed.quiet_ceiling,
    )


def lease_keeper(
    store: Store,
    config: Config,
    vrchat: VRChatAPI,
    pool: AccountPool | None,
    *,
    member: bool,
    connects_gateway: bool,
) -> LeaseKeeper:
    """`pool`: the accounts this process opened itself when it shares them with others (None alone:
    every account is this process's); `member`: whether it takes leases on groups and accounts."""
    accounts = [a.name for a in pool.accounts] if pool is not None else []
    serving = pool.serving_name if pool is not None else lambda _: None
    return LeaseKeeper(
        store,
        partial(bound_lease_names, store, accounts, serving),
        ttl=config.feed.lease_seconds,
        member=member,
        # SQLite admits one process (bot.store.process_lock): it holds everything, at once.
        exclusive=store.dialect_name == "sqlite",
        # On PostgreSQL the gateway lease is taken when the gateway lock is (become_gateway).
        pinned=(GATEWAY_LEASE,) if connects_gateway and store.gateway_lock() is None else (),
        on_processes=vrchat.share_rate,
    )


def pipeline_events(
    config: Config,
    vrchat: VRChatAPI,
    store: PipelineStore,
    *,
    holds_group: Callable[[str], bool],
) -> PipelineEvents | None:
    """VRChat's pipeline, if the config asks for it and there is one for its base URL."""
    vrc = config.vrchat
    if not vrc.pipeline:
        return None
    if vrc.pipeline_endpoint is None:
        log.info("No VRChat pipeline for base_url %s (set vrchat.pipeline_url): polling only.", vrc.base_url)
        return None
    return PipelineEvents(vrchat, store, vrc.pipeline_endpoint, holds_group=holds_group)


async def become_gateway(
    store: Store,
    leases: LeaseKeeper,
    *,
    closing: Callable[[], bool],
    on_lock: Callable[[Callable[[], Awaitable[None]]], None],
) -> bool:
    """Wait until this process may connect to Discord; False if `closing()` became true first. On
    PostgreSQL, the gateway lock decides in seconds when the gateway dies; then the lease is taken
    over at once. `on_lock` is handed the lock's release, for the bot to call when it closes."""
    lock = store.gateway_lock()
    if lock is None:
        return await leases.wait_for(GATEWAY_LEASE)
    on_lock(lock.release)
    told = False
    while True:
        try:
            if await lock.try_acquire():
                break
        except Exception as exc:  # the database is away: the lease keeper says so too
            log.warning("Could not ask for the gateway lock (%s); trying again.", exc)
        if not told:
            log.warning(
                "Standing by: another process is the Discord gateway. This one takes over within "
                "about %g s of that process stopping.",
                GATEWAY_LOCK_POLL,
            )
            told = True
        if closing():
            return False
        await asyncio.sleep(GATEWAY_LOCK_POLL)
    if told:
        log.info("The gateway process is gone; taking over the Discord gateway.")
    await leases.take_over(GATEWAY_LEASE)
    return True
