"""The Discord bot: a thin class whose setup_hook builds everything once, and what it carries.

One aiohttp session each for VRChat (inside each VRChatClient) and Discord (discord.py's own), one store,
one Services container; cogs are discovered under bot/cogs/ and loaded as discord.py extensions, with
the cogs of the feature packages by name (bot.features; the bot imports none of them: they import
this module, for its type). Mentions are disabled for every
message the bot sends. Cogs and views type their handlers `Interaction` (below), which is
`discord.Interaction[GroupBridgeBot]`: `interaction.client` is this class, with the attributes declared
on it.

The role (see bot.app.run_bot) decides what the process runs: "gateway" answers commands and buttons
and runs no background work; "worker" never connects to the gateway and runs the mirror and the
join-request cards for the groups and channels it holds leases on (bot.leases); "all" does both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, TypeAlias

import discord
from discord import app_commands
from discord.ext import commands

from bot.accounts.holding import AccountHolding
from bot.activity import GroupActivity, WakeRelay
from bot.banbridge.service import BanBridgeService
from bot.cogs._status import RecentProblems
from bot.config import Config
from bot.desk.service import DeskService
from bot.features import CommandGroups, StatusContributor, load_features, make_groups
from bot.feed.outbox import OutboxWorker
from bot.feed.retention import RetentionSettings
from bot.feed.sender import DiscordFeedSender
from bot.feed.service import FeedService
from bot.instances.service import InstanceService
from bot.lease_names import GATEWAY_LEASE
from bot.leases import LeaseKeeper, new_owner_id
from bot.links.members import DiscordMembers
from bot.links.service import LinkService
from bot.roles.discord_side import DiscordRoleAccess
from bot.roles.service import RoleSyncService
from bot.roles.sync import RoleSyncEngine
from bot.services.pipeline_events import PipelineEvents
from bot.services.processes import ProcessReporter
from bot.services.registry import Services
from bot.startup import become_gateway, lease_keeper, open_store, pipeline_events, poll_settings
from bot.store import Store
from bot.views.errors import GroupBridgeTree
from bot.vrchat import VRChatAPI
from bot.vrchat.pool import AccountPool
from bot.vrchat.router import GroupRouter
from bot.watchdog.service import WatchdogService
from bot.wiring import log_in_every_account, open_account_pool

log = logging.getLogger(__name__)

Role = Literal["all", "gateway", "worker"]


def bot_intents(members: bool = False) -> discord.Intents:
    """Guilds only: channels and roles for permission checks; no message content, no member list.
    Whatever client the bot's token drives uses these, even one that never opens the gateway:
    discord.py warns about its cache without the guilds intent."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.moderation = True  # GUILD_BAN_ADD / REMOVE, not privileged (bot.banbridge)
    intents.members = members  # [discord] server_members_intent: role sync sees Discord changes live
    return intents


class GroupBridgeBot(commands.Bot):
    """What the cogs, views and buttons may use. `vrchat`, `store` and `services` are set by
    setup_hook, before the gateway connects: no command or button can run without them."""

    config: Config
    role: Role
    # The slash-command groups the cogs fill (see install_commands).
    groups: CommandGroups
    # Whether this process runs background work: the audit-log mirror and the join-request cards.
    run_feed: bool
    vrchat: VRChatAPI
    store: Store
    services: Services
    links: LinkService  # verified Discord ↔ VRChat links (bot.links)
    desk: DeskService  # a user's history and moderators' notes (bot.desk)
    watchdog: WatchdogService  # alerts on runaway moderators (bot.watchdog)
    instances: InstanceService  # opening and closing group instances (bot.instances)
    ban_bridge: BanBridgeService  # Discord bans that reach VRChat (bot.banbridge)
    role_sync: RoleSyncService  # VRChat group roles ↔ Discord roles (bot.roles)
    feed: FeedService | None
    leases: LeaseKeeper | None
    # VRChat's pipeline: join requests in seconds where this process runs their groups.
    pipeline: PipelineEvents | None
    # Another process took the gateway lease: this one stepped down (bot.app exits 1).
    gateway_lost: bool
    # Set once setup_hook has started the leases and the mirror: work that needs them waits.
    work_started: asyncio.Event
    # Told of every action taken on a group through the bot; the feed listens (bot.activity).
    group_activity: GroupActivity
    # The features' parts of /bridge status, registered as they load (bot.features.StatusContributor).
    status_contributors: list[StatusContributor]
    # The latest warnings for /bridge status, while that command's extension (bot.cogs.bridge) is loaded.
    recent_problems: RecentProblems | None
    # This process's line in the process table, which /bridge status reads (bot.services.processes).
    processes: ProcessReporter | None
    # Carries moderators' commands to the process polling the group (several processes only).
    wakes: WakeRelay | None

    def __init__(
        self,
        config: Config,
        vrchat: VRChatAPI | None = None,
        store: Store | None = None,
        *,
        run_feed: bool = True,
        guild_ready_timeout: float = 2.0,
        role: Role = "all",
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # unused: the bot has slash commands only
            intents=bot_intents(config.discord.server_members_intent),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=GroupBridgeTree,
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.config = config
        # Built in setup_hook unless given (tests inject them); what the bot built, it closes.
        self._given_vrchat, self._given_store = vrchat, store
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.role = role
        self.groups = make_groups()
        self.run_feed = run_feed and role != "gateway"
        self.feed = None
        self.leases = None
        self.pipeline = None
        self.gateway_lost = False
        self.work_started = asyncio.Event()
        self.group_activity = GroupActivity()
        self.status_contributors = []
        self.recent_problems = None
        self.processes = None
        self.wakes = None
        self._stepping_down: asyncio.Task[None] | None = None
        # Set when close() begins: the leases it gives back are then a clean stop, not a loss.
        self._closing = False
        self._starting: asyncio.Task[None] | None = None
        # The accounts this process opened itself; with several processes each is used by the holder
        # of its lease only (bot.accounts), else all of them here.
        self._pool: AccountPool | None = None
        self._holding: AccountHolding | None = None

    @property
    def connects_gateway(self) -> bool:
        return self.role != "worker"

    def holds_group(self, group_id: str) -> bool:
        """Whether this process runs the group's background work (always, without leases)."""
        return self.feed is None or self.feed.holds_group(group_id)

    async def _open_vrchat(self) -> VRChatAPI:
        if self._given_vrchat is not None:
            return self._given_vrchat
        self._pool = pool = await open_account_pool(self.config)
        self._closers.append(pool.close)
        return GroupRouter(pool)

    @property
    def _alone(self) -> bool:
        return self.store.dialect_name == "sqlite"  # one process only (bot.store.process_lock)

    def _hold_accounts(self, leases: LeaseKeeper) -> None:
        """Several processes: each account is used from the process holding its lease; others hand
        their calls for it to that process (bot.accounts)."""
        if self._pool is not None and not self._alone:
            self._holding = AccountHolding(self._pool, leases, self.store)
            self._closers.append(self._holding.stop)

    async def _open_store(self) -> Store:
        if self._given_store is not None:
            return self._given_store
        store = await open_store(self.config)
        self._closers.append(store.close)
        return store

    async def setup_hook(self) -> None:
        """Start everything, in a task of its own that close() cancels and waits for: a stop during
        the start (SIGTERM while VRChat answers, say) must not leave the start to carry on after
        close() and open a store or start loops that nothing closes any more."""
        if self._closing:  # stopped while logging in to Discord, before this began
            raise RuntimeError("stopped while starting")
        self._starting = asyncio.create_task(self._start(), name="start")
        try:
            await self._starting
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._closing and current is not None and not current.cancelling():
                raise RuntimeError("stopped while starting") from None
            raise

    async def _start(self) -> None:
        self.vrchat = await self._open_vrchat()
        self.store = await self._open_store()
        if self._pool is not None and self._alone:  # else each account on gaining its lease
            await log_in_every_account(self._pool, self.config.group_ids)
        members = DiscordMembers(self)
        self.services = Services(
            self.vrchat,
            self.store,
            self.config,
            members=members,
            activity=self.group_activity,
            claimer=lambda: self.leases.owner if self.leases is not None else None,
        )
        self.links = LinkService(
            self.vrchat,
            self.store,
            self.services.lookups,
            self.services.actions,
            members=members,
        )
        self.desk = DeskService(self.store, self.services.access, self.services.actions)
        access, actions = self.services.access, self.services.actions
        self.watchdog = WatchdogService(self.vrchat, self.store, access, actions)
        self.instances = InstanceService(self.vrchat, self.store, access, actions)
        self.ban_bridge = BanBridgeService(self.vrchat, self.store, access, actions)
        engine = RoleSyncEngine(
            self.vrchat, self.store, DiscordRoleAccess(self, list_members=self.intents.members)
        )
        self.role_sync = RoleSyncService(self.vrchat, self.store, access, actions, engine)
        self.pipeline = self._pipeline()  # before the cogs load: the card loop listens to it
        await install_commands(self)
        if self.run_feed or self.role == "gateway":
            self.leases = self._lease_keeper()
            if self.connects_gateway:
                self.leases.subscribe(self._watch_gateway_lease)
            self._hold_accounts(self.leases)
        if self.run_feed:
            self.feed = FeedService(
                self.vrchat,
                self.store,
                OutboxWorker(self.store, DiscordFeedSender(self), leases=self.leases),
                poll_settings(self.config),
                retention=RetentionSettings(
                    entries_days=self.config.feed.retention_days,
                    action_log_days=self.config.feed.action_log_retention_days,
                    decided_days=self.config.feed.decided_retention_days,
                ),
                leases=self.leases,
            )
        if not self._alone:  # rows other processes write for this one wake it at once
            await self.store.wake_bus.start()
            self._closers.append(self.store.wake_bus.stop)
        if self._holding is not None:
            await self._holding.start()
        if self.leases is not None:
            await self.leases.start()
        if self.feed is not None:
            self.group_activity.subscribe(
                self.feed.mark_active
            )  # a moderator's command: the usual pace again
            await self.feed.start()
            bound = len(await self.feed.bound_groups())
            others = f" (of {bound}; other processes run the rest)" if bound > len(self.feed.pollers) else ""
            log.info("Audit-log mirror running for %d group(s)%s.", len(self.feed.pollers), others)
        if self.pipeline is not None:
            if self.feed is not None:
                feed = self.feed  # an active group is polled soon
                self.pipeline.subscribe(lambda group_id, _requester: feed.wake(group_id))
            if self.leases is not None:
                self.leases.subscribe(self.pipeline.on_leases)
            await self.pipeline.start()
        self.work_started.set()
        await self._start_sharing()
        # Discord would hand every interaction to each un-sharded session: one gateway at a time.
        if self.connects_gateway and self.leases and not await self._become_gateway(self.leases):
            raise RuntimeError("stopped while waiting to become the gateway")
        if self.config.discord.sync_commands_on_start and self.connects_gateway:
            await self.sync_commands()

    async def _start_sharing(self) -> None:
        """Its state for /bridge status and, with several processes, moderators' commands to them."""
        alone = self._alone
        if not alone:  # first: once this process shows in the table, commands for it are heard
            self.wakes = WakeRelay(self.group_activity, self.store, watched=self._polled_groups)
            await self.wakes.start()
        leases = self.leases
        self.processes = ProcessReporter(
            self.store,
            self.vrchat,
            owner=leases.owner if leases is not None else new_owner_id(),
            role=self.role,
            polled=self._polled_groups,
            standby=lambda: self.connects_gateway and leases is not None and not leases.holds(GATEWAY_LEASE),
            pipeline=self.pipeline,
            alone=alone,
        )
        await self.processes.start()

    def _polled_groups(self) -> tuple[str, ...]:
        return tuple(self.feed.pollers) if self.feed is not None else ()

    async def _become_gateway(self, leases: LeaseKeeper) -> bool:
        return await become_gateway(
            self.store, leases, closing=lambda: self._closing, on_lock=self._closers.append
        )

    async def _watch_gateway_lease(self, gained: frozenset[str], lost: frozenset[str]) -> None:
        """Another process holds the gateway now (ours lapsed: the database was away too long): step
        down at once, or every interaction would reach two processes. Exit 1, so a supervisor restarts
        this process as a standby."""
        if GATEWAY_LEASE in lost and not self.gateway_lost and not self._closing:
            if self.leases is not None and self.leases.exclusive:
                # SQLite: no other process can use this database (bot.store.process_lock), so a lease
                # that lapsed while the file was locked is not another gateway: it comes back with the
                # next renewal, and stepping down would only stop a bot nobody replaces.
                log.warning("The gateway lease lapsed while the database was busy; keeping the gateway.")
                return
            self.gateway_lost = True
            log.error("Lost the gateway lease to another process; disconnecting from Discord.")
            self._stepping_down = asyncio.create_task(self.close(), name="gateway lost")

    def _lease_keeper(self) -> LeaseKeeper:
        return lease_keeper(
            self.store,
            self.config,
            self.vrchat,
            self._pool if not self._alone else None,  # alone: every account is this process's
            member=self.run_feed,
            connects_gateway=self.connects_gateway,
        )

    def _pipeline(self) -> PipelineEvents | None:
        if not self.run_feed:
            return None
        return pipeline_events(
            self.config,
            self.vrchat,
            self.store,
            holds_group=self.holds_group,
        )

    async def sync_commands(self, *, allow_global: bool = False) -> list[int]:
        return await sync_tree(self.tree, self.config.discord.guild_ids, allow_global=allow_global)

    async def close(self) -> None:
        self._closing = True
        starting = self._starting
        if starting is not None and not starting.done() and starting is not asyncio.current_task():
            starting.cancel()  # what it opened so far is registered below and closed with the rest
            await asyncio.wait({starting})
        if self.wakes is not None:
            await self.wakes.stop()
        if self.processes is not None:
            await self.processes.stop()
        if self.pipeline is not None:
            await self.pipeline.stop()
        if self.feed is not None:
            await self.feed.stop()
        await super().close()  # unloads the cogs: the card loop ends
        if self.leases is not None:  # released only once none of their work runs
            await self.leases.stop()
        while self._closers:
            await self._closers.pop()()


# What the cogs' and views' handlers receive (slash commands, autocomplete, buttons): an interaction
# whose `client` is this bot, with the attributes declared above.
Interaction: TypeAlias = discord.Interaction[GroupBridgeBot]


async def install_commands(bot: GroupBridgeBot) -> None:
    """Load the cogs and feature packages into the bot's command groups, and the groups onto the tree."""
    await load_features(bot, bot.groups)


async def sync_tree(
    tree: app_commands.CommandTree, guild_ids: Sequence[int], *, allow_global: bool
) -> list[int]:
    """Sync to the configured guilds: instant there. A global sync (no guilds configured) happens only
    when asked for (`groupbridge sync`), never on every start."""
    if not guild_ids:
        if allow_global:
            await tree.sync()
            log.info("Slash commands synced globally (they can take up to an hour to appear).")
        else:
            log.info("No discord.guild_ids configured: run `groupbridge sync` to register the commands.")
        return []
    for guild_id in guild_ids:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        await tree.sync(guild=guild)
    log.info("Slash commands synced to %d guild(s).", len(guild_ids))
    return list(guild_ids)
