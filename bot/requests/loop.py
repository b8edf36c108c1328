"""The card rounds: one card per pending join request in each requests channel, kept in step with
VRChat (what to post and close comes from the service, bot.requests.reconcile; this posts and edits).

Cards follow VRChat two ways: a full round about once a minute (jittered), and, every ~10 s, a look in
the store for `group.request.*` entries the audit-log mirror has just stored (a database query, no
VRChat call); only the groups that had one are reconciled early. A group whose mirror is live here
(bot.feed.service.FeedService.mirror_live) gets its cards that way, so the full round lists its
requests only every feed.request_reconcile_seconds (for requests the log does not show, such as
those from before the bot came); the others are listed at every round (see `_listing_due`).
With several processes, each reconciles only the groups it holds the lease of (bot.leases).
A third way, in seconds: VRChat's pipeline says a group has a new request (bot.services.pipeline_events)
and that group gets its round at once (`refresh_now`; a burst is one round, then one more at most
every LIVE_ROUND_GAP seconds). Rounds of one group never overlap, whoever starts them. A request
told both ways (the notice and the mirrored entry) gets one listing, not two (bot.requests.announced).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot import crashpoints
from bot.desk.views import history_button, with_history
from bot.feed.backoff import QuietSchedule
from bot.feed.pacing import message_nonce
from bot.lease_names import GATEWAY_LEASE, MEMBER, group_lease
from bot.requests.announced import REQUEST_CREATE, UntoldRequests, already_carded
from bot.requests.cards import Closing, close_card, closed_view, is_open_card, request_card
from bot.requests.claims import ALONE, OtherProcesses
from bot.requests.reconcile import CardChange
from bot.requests.views import card_view
from bot.services.common import KeyedLocks
from bot.store import StoredEntry
from bot.store.leases import UNFENCED, LeaseGuard, LeaseLost, lease_guard
from bot.views.reply import NO_MENTIONS
from bot.vrchat import VRChatError

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot
    from bot.services.registry import Services

log = logging.getLogger(__name__)

CARD_POLL_SECONDS = 60.0
FEED_CHECK_SECONDS = 10.0
# Entries reach the mirror after the event (poll interval, VRChat's own lag): look back this far
# behind the last check; entries already seen are skipped by id.
FEED_LOOKBACK = timedelta(minutes=10)
FEED_PAGE = 100
FEED_MAX_PAGES = 5
REQUEST_EVENT_PREFIX = "group.request"
CARD_LOOKBACK = 100  # messages searched for a card whose id a crash kept from being stored
LIVE_ROUND_GAP = 1.0  # seconds between rounds the pipeline asks for: what arrives meanwhile is one round
NO_TENURE = -1  # lease generations start at 1


class CardRounds:
    """The rounds of one bot process: started and stopped with the cog (bot.requests.cog)."""

    def __init__(self, bot: GroupBridgeBot) -> None:
        self.bot = bot
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._feed_checked_at = datetime.now(UTC)
        self._feed_seen: dict[str, datetime] = {}  # request entries already acted on: id -> created_at
        self._rounds: KeyedLocks[str] = KeyedLocks()  # one round per group at a time
        self._asked: set[str] = set()  # groups the pipeline asked a round for
        self._ask = asyncio.Event()
        self._live_task: asyncio.Task[None] | None = None
        # Adaptive polling of the request listing (bot.feed.backoff), only where the pipeline listens.
        self._quiet = QuietSchedule(CARD_POLL_SECONDS, bot.config.feed.quiet_ceiling)
        self._reconcile_at: dict[str, float] = {}  # groups whose mirror is live: their next listing
        self._untold = UntoldRequests()  # new requests an entry's round listed before their notice
        # Per group, the tenure of its lease (see _tenure) this process last did a round in.
        self._tenures: dict[str, int | None] = {}

    async def start(self) -> None:
        self.bot.group_activity.subscribe(self._touched)
        if self.bot.run_feed:
            self._task = asyncio.create_task(self._loop(), name="request cards")
            if self.bot.pipeline is not None:
                self.bot.pipeline.subscribe(self.refresh_now)
                self._live_task = asyncio.create_task(self._live_rounds(), name="live request cards")

    async def stop(self) -> None:
        self._stop.set()
        for task in (self._task, self._live_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _touched(self, group_id: str) -> None:
        """A moderator's action on the group: its requests are listed at the next round (and, where
        only the pipeline paces them, at every round until the group is quiet again)."""
        self._quiet.reset(group_id)
        self._reconcile_at.pop(group_id, None)

    def refresh_now(self, group_id: str, user_id: str | None = None) -> None:
        """A new join request in this group, of `user_id` when the notice named them (VRChat's
        pipeline said so): a card round for it now, unless the mirror's entry of that request has had
        its round already."""
        self._quiet.reset(group_id)
        if self._untold.told(group_id, user_id):
            log.debug("Join-request notice for %s: its request's card is up already.", group_id)
            return
        self._asked.add(group_id)
        self._ask.set()

    async def _live_rounds(self) -> None:
        await self.bot.work_started.wait()
        while not self._stop.is_set():
            await self._ask.wait()
            self._ask.clear()
            groups, self._asked = self._asked, set()
            try:
                await self.sync_cards(groups)
            except Exception:  # the store is unreachable, or the like: polling finds them later
                log.exception("Posting the cards of new join requests failed")
            with contextlib.suppress(TimeoutError):  # what arrives meanwhile waits for the next round
                await asyncio.wait_for(self._stop.wait(), timeout=LIVE_ROUND_GAP)

    async def _loop(self) -> None:
        # Cards need only REST, never the gateway (a worker never connects, and a standby gateway
        # process holds group leases long before it connects), but they need the leases: cogs load
        # before setup_hook takes them, and a first round without them would skip every group.
        await self.bot.work_started.wait()
        # Looking in the mirror more often than it is fed finds nothing new.
        check_seconds = min(FEED_CHECK_SECONDS, self.bot.config.feed.poll_interval_seconds)
        clock = asyncio.get_running_loop().time
        next_sync = clock()
        while not self._stop.is_set():
            if clock() >= next_sync:
                upcoming = CARD_POLL_SECONDS * random.uniform(0.8, 1.2)  # jittered, never on a fixed clock
                try:
                    await self.full_round(upcoming)
                except Exception:  # the store is unreachable, or the like
                    log.exception("Updating join-request cards failed; trying again later")
                next_sync = clock() + upcoming
            else:
                try:
                    await self.check_feed_events()
                except Exception:
                    log.exception("Checking the audit feed for join-request events failed")
            delay = min(check_seconds * random.uniform(0.9, 1.1), max(next_sync - clock(), 0.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def full_round(self, upcoming: float, now: float | None = None) -> int:
        """The groups the mirror announced since the last look, and those whose listing is due."""
        announced = await self._new_request_groups()
        return await self.sync_cards(announced | await self._listing_due(upcoming, now))

    async def _listing_due(self, upcoming: float, now: float | None = None) -> set[str]:
        """The linked groups whose requests this full round lists. A group whose audit log this
        process mirrors live: once per feed.request_reconcile_seconds (±20 %), the mirror announcing
        its new requests meanwhile. The others: every round, except quiet groups whose account's
        pipeline is connected here; those are listed at the last round before their grown wait (at
        most feed.quiet_poll_ceiling_seconds) runs out. `now`: the loop's time unless a test gives one
        (the feed's clock, then)."""
        now = asyncio.get_running_loop().time() if now is None else now
        pipeline, feed = self.bot.pipeline, self.bot.feed
        linked = {b.group_id for b in await self.bot.store.list_bindings()}
        due = set()
        for g in linked:
            # A group just (re)gained is listed at once: its first round closes what the last holder
            # left open (bot.requests.reconcile, CardReconciler._reclose).
            gained = self.bot.holds_group(g) and self._new_tenure(g)
            if feed is not None and feed.mirror_live(g):
                if gained or self._reconcile_at.get(g, now) <= now:
                    due.add(g)
                    reconcile = self.bot.config.feed.request_reconcile_seconds
                    self._reconcile_at[g] = now + reconcile * random.uniform(0.8, 1.2)
            elif (
                gained
                or pipeline is None
                or not pipeline.listening_for(g)
                or self._quiet.due(g, now, upcoming)
            ):
                due.add(g)
        return due

    async def check_feed_events(self) -> bool:
        """Reconcile the groups whose mirrored audit log gained a join-request entry since the last
        check; True if any did. Costs one database query when nothing happened."""
        groups = await self._new_request_groups()
        if groups:
            await self.sync_cards(groups)
        return bool(groups)

    async def _new_request_groups(self) -> set[str]:
        """Linked groups with `group.request.*` entries not seen before; marks those entries seen.
        A new request's entry whose card is up already (the pipeline's round) needs no round."""
        now = datetime.now(UTC)
        since = self._feed_checked_at - FEED_LOOKBACK
        store = self.bot.store
        fresh: dict[str, StoredEntry] = {}
        cursor: str | None = None
        for _ in range(FEED_MAX_PAGES):
            page = await store.search_entries(
                event_types=[REQUEST_EVENT_PREFIX], since=since, limit=FEED_PAGE, before_cursor=cursor
            )
            for entry in page.entries:
                if entry.id not in self._feed_seen:
                    self._feed_seen[entry.id] = entry.created_at
                    fresh[entry.id] = entry
            cursor = page.next_cursor
            if cursor is None:
                break
        self._feed_checked_at = now
        horizon = now - FEED_LOOKBACK  # the next check looks no further back than this
        self._feed_seen = {k: at for k, at in self._feed_seen.items() if at >= horizon}
        if not fresh:
            return set()
        linked = {b.group_id for b in await store.list_bindings()}
        untold = [e for e in fresh.values() if e.group_id in linked and not await already_carded(store, e)]
        self._note_untold(untold)
        return {e.group_id for e in untold}

    def _note_untold(self, entries: Iterable[StoredEntry]) -> None:
        """New requests whose entry's round is about to list them, where the pipeline listens: their
        notices, when they come, need no round of their own. Any other entry of a request ends it."""
        pipeline = self.bot.pipeline
        for entry in sorted(entries, key=lambda e: e.created_at):  # a request's end after its start
            if not entry.target_id:
                continue
            if entry.event_type != REQUEST_CREATE:
                self._untold.resolved(entry.group_id, entry.target_id)
            elif pipeline is not None and pipeline.listening_for(entry.group_id):
                self._untold.listed(entry.group_id, entry.target_id)

    async def sync_cards(self, group_ids: Iterable[str] | None = None) -> int:
        """One round for every linked group (or just `group_ids`): post new cards, close those VRChat
        resolved. A group that fails is logged and the others still get their round."""
        services = self.bot.services
        if group_ids is None:
            group_ids = {b.group_id for b in await self.bot.store.list_bindings()}
        done = 0
        for group_id in sorted(g for g in set(group_ids) if self.bot.holds_group(g)):
            async with self._rounds.hold(group_id):  # two rounds at once would both post a new card
                guard = self._guard(group_id)
                if guard is not None:
                    done += await self._group_round(services, group_id, guard)
        return done

    def _guard(self, group_id: str) -> LeaseGuard | None:
        """The group's lease this round works under (bot.leases), None when this process does not hold
        it. The round asks the database for it before each step that goes out: the lease keeper's view
        is this process's own, and a process frozen past its lease wakes up still believing it."""
        return lease_guard(self.bot.leases, self.bot.store, group_lease(group_id))

    def _tenure(self, group_id: str) -> int | None:
        """The tenure of the group's lease this process is in: the lease's generation, which moves
        each time the lease changes hands; None without leases (a lone process holds it for good)."""
        lease = self.bot.leases.lease(group_lease(group_id)) if self.bot.leases is not None else None
        return lease.generation if lease is not None else None

    def _new_tenure(self, group_id: str) -> bool:
        """No round of the group yet in this tenure of its lease: another process may have held it
        meanwhile, and claimed a card it then had no time to edit."""
        return self._tenures.get(group_id, NO_TENURE) != self._tenure(group_id)

    async def _others(self) -> OtherProcesses:
        """The other live processes (one read of the leases table): every owner of an unexpired lease
        but this process, and when the oldest that can decide a join request (a click, a command, a
        rule) took its member or gateway lease. On SQLite this process is alone, and a claim it is not
        making itself is a dead process's (bot.requests.claims)."""
        leases = self.bot.leases
        if leases is None or leases.exclusive:
            return ALONE
        others = [x for x in await self.bot.store.list_leases() if x.live and x.owner != leases.owner]
        starts = [x.acquired_at for x in others if x.name.startswith(MEMBER) or x.name == GATEWAY_LEASE]
        return OtherProcesses(frozenset(x.owner for x in others), min(starts, default=None))

    async def _group_round(self, services: Services, group_id: str, guard: LeaseGuard) -> int:
        tenure = self._tenure(group_id)
        try:
            changes = await services.requests.reconcile(
                group_id, guard, new_tenure=self._new_tenure(group_id), others=self._others
            )
            self._tenures[group_id] = tenure
            self._quiet.polled(group_id, asyncio.get_running_loop().time(), new=bool(changes))
        except LeaseLost as exc:
            self._lost(group_id, exc)
            return 0
        except VRChatError as exc:
            # Expected trouble (a lost session, a 403, VRChat down): one line per round, as the
            # poller logs it, not a traceback every minute until someone acts.
            log.warning("Updating the join-request cards of %s failed: %s", group_id, exc)
            return 0
        except Exception:
            log.exception("Updating the join-request cards of %s failed; trying again later", group_id)
            return 0
        done = 0
        for change in changes:
            try:
                await self.apply(change, guard)
                done += 1
            except LeaseLost as exc:
                self._lost(group_id, exc)  # what is left is the new holder's round's
                break
            except discord.HTTPException as exc:
                log.warning(
                    "Could not show join request %s in %s: %s", change.user_id, change.channel_id, exc
                )
            except Exception:  # one card's bug or odd data must not cost the others their round
                log.exception("Could not show join request %s in %s", change.user_id, change.channel_id)
        return done

    async def apply(self, change: CardChange, guard: LeaseGuard = UNFENCED) -> None:
        """Post or close one card, only while `guard`'s lease is this process's (LeaseLost if not)."""
        channel = self.bot.get_partial_messageable(change.channel_id)
        if change.kind == "post" and change.request is not None:
            # A card a rule has already decided is posted closed: its History button alone.
            if change.state == "pending":
                buttons = card_view(change.group_id, change.user_id)
                buttons.add_item(history_button(change.group_id, change.user_id))  # bot.desk
            else:
                buttons = closed_view(change.group_id, change.user_id)
            embed = request_card(
                change.request, change.groups, change.rule_note, change.state, change.discord_link
            )
            # bot.desk: the requester's earlier history in one line, and the latest note.
            embed = await with_history(
                self.bot.desk,
                embed,
                change.group_id,
                change.user_id,
                change.channel_id,
                change.request.requested_at,
            )
            await guard.check()
            message = await channel.send(
                embed=embed,
                view=buttons,
                allowed_mentions=NO_MENTIONS,
                # A crash before the message id is stored posts the card again after the restart;
                # with the same nonce Discord hands back the first card instead of showing two.
                nonce=card_nonce(change),
            )
            crashpoints.reached("cards.after_post")
            await self.bot.store.set_card_message(
                change.group_id, change.user_id, change.channel_id, message.id
            )
            if change.state != "pending":  # posted in its closed look
                await self.bot.store.set_card_closed(change.group_id, change.user_id, change.channel_id)
        elif change.kind == "update":
            await guard.check()
            card = await self._card_message(channel, change)
            if card is not None:  # else deleted or not found; closed already is close_card's to see
                await close_card(card, Closing.of_change(change))
            crashpoints.reached("cards.after_close")
            # Closed now, or before, or gone: the start-up pass has nothing left to do for it.
            await self.bot.store.set_card_closed(change.group_id, change.user_id, change.channel_id)

    async def _card_message(
        self, channel: discord.PartialMessageable, change: CardChange
    ) -> discord.Message | None:
        """The card's message by its stored id; without one (a crash came between posting the card
        and storing its id), the bot's open card with this request's footer in recent history."""
        try:
            if change.message_id:
                return await channel.get_partial_message(change.message_id).fetch()
            footer = f"{change.group_id} · {change.user_id}"
            me = self.bot.user.id if self.bot.user else None
            async for message in channel.history(limit=CARD_LOOKBACK):
                card = message.embeds[0] if message.embeds else None
                if message.author.id == me and card and card.footer.text == footer and is_open_card(message):
                    return message
        except discord.NotFound:
            pass  # someone deleted the card (or the channel); nothing to edit
        return None

    def _lost(self, group_id: str, exc: LeaseLost) -> None:
        # A card this round claimed may be left open: whichever process holds the group next, this
        # one included, closes it in its first round (even in the same generation of the lease).
        self._tenures.pop(group_id, None)
        log.info(
            "Join-request cards of %s: left to the process that holds the group now (%s).", group_id, exc
        )


def card_nonce(change: CardChange) -> str:
    """One per card and request: a user who asks again later gets a new card, not the old one back."""
    asked = change.request.requested_at.isoformat() if change.request and change.request.requested_at else ""
    return message_nonce(change.channel_id, [f"card:{change.group_id}:{change.user_id}:{asked}"])
