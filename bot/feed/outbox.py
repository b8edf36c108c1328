"""Delivering the outbox to Discord: packed, paced, exactly once.

Per channel, rows are sent oldest first, packed into messages of up to 10 embeds / 6,000 characters.
Before a message is sent its rows are marked `sending` with a nonce derived from their entries; after
Discord answers they are marked `sent` with the message id. A crash between the two leaves rows in
`sending`: on the next start they are sent again as the same group with the same nonce, and Discord
(enforce_nonce) returns the message it already has instead of posting a second one. With several
processes, a message is claimed, and sent, only while the database still gives this process the
channel's lease: one frozen past it leaves what it claimed to the new holder, which sends it once.

One entry never holds up its channel: a set-aside entry (bot.store.set_aside) goes out as a short
notice with its audit id, an entry the renderer fails on is set aside, and a message Discord refuses
(400) is sent again in halves until the entry it refuses is found and set aside.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import groupby

import discord

from bot import crashpoints
from bot.lease_names import channel_lease, group_lease
from bot.store import OutboxItem, SetAside, SetAsideStage
from bot.store.leases import LeaseGuard, LeaseLost, LeaseView, lease_guard
from bot.store.ports import OutboxStore

from .actions import feed_actions
from .pacing import SlidingWindowPacer, message_nonce, pack
from .render import embed_size as default_embed_size
from .render import render_gap_notice, render_outbox_item, render_set_aside_notice
from .sender import ChannelUnavailable, FeedSender, PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

RenderItem = Callable[[OutboxItem], discord.Embed]
EmbedSize = Callable[[discord.Embed], int]


def _rendered(embeds: Mapping[int, discord.Embed], item: OutboxItem) -> discord.Embed:
    return embeds[item.id]


@dataclass
class DrainResult:
    messages: int = 0
    entries: int = 0
    paused: list[int] = field(default_factory=list)
    failed: int = 0


class OutboxWorker:
    def __init__(
        self,
        store: OutboxStore,
        sender: FeedSender,
        *,
        render: RenderItem = render_outbox_item,
        embed_size: EmbedSize = default_embed_size,
        batch_limit: int = 100,
        pacer_factory: Callable[[], SlidingWindowPacer] = SlidingWindowPacer,
        leases: LeaseView | None = None,
    ) -> None:
        self.store = store
        self.leases = leases  # None: deliver every channel (a lone process)
        self.sender = sender
        self.render = render
        self.embed_size = embed_size
        self.batch_limit = batch_limit
        self._pacer_factory = pacer_factory
        self._pacers: dict[int, SlidingWindowPacer] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def _pacer(self, channel_id: int) -> SlidingWindowPacer:
        if channel_id not in self._pacers:
            self._pacers[channel_id] = self._pacer_factory()
        return self._pacers[channel_id]

    async def drain_once(self) -> DrainResult:
        """Deliver everything deliverable now: gap notices, unconfirmed messages, then pending rows."""
        await self._announce_gaps()
        channels = sorted(
            c
            for c in set(await self.store.in_flight_channels()) | set(await self.store.pending_channels())
            if self._holds(channel_lease(c))
        )
        results = await asyncio.gather(*(self.drain_channel(c) for c in channels))
        total = DrainResult()
        for result in results:
            total.messages += result.messages
            total.entries += result.entries
            total.failed += result.failed
            total.paused += result.paused
        return total

    async def drain_channel(self, channel_id: int) -> DrainResult:
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        async with lock:  # one sender per channel keeps the order
            result = DrainResult()
            bindings = await self.store.list_bindings(channel_id=channel_id)
            if bindings and all(b.paused for b in bindings):
                return result  # paused after a 403/404: wait for /bridge to resume it, do not probe
            # The channel's lease as this drain starts: asked of the database before each message goes
            # out, since a process frozen past its lease wakes up still believing it holds it.
            guard = lease_guard(self.leases, self.store, channel_lease(channel_id))
            if guard is None:
                return result  # another process delivers this channel
            try:
                await self._resend_in_flight(channel_id, result, guard)
                while True:
                    items = await self.store.pending_for_channel(channel_id, limit=self.batch_limit)
                    if not items:
                        break
                    embeds = {item.id: await self._embed(item) for item in items}
                    for message in pack(items, partial(_rendered, embeds), self.embed_size):
                        ids = [item.entry.id for item in message.items]
                        nonce = message_nonce(channel_id, ids)
                        if not await self._claim(channel_id, message.items, nonce, guard):
                            return result  # the channel (or these rows) went to another process
                        crashpoints.reached("outbox.after_pack")
                        await self._send(channel_id, message.items, message.rendered, nonce, result, guard)
            except LeaseLost as exc:
                # What this drain claimed stays `sending` with its nonce: the new holder sends it once.
                log.info("Feed channel %s: left to the process that holds it now (%s).", channel_id, exc)
            except ChannelUnavailable as exc:
                reason = str(exc)
                await self.store.pause_binding(channel_id=channel_id, reason=reason)
                result.paused.append(channel_id)
                log.warning("Feed channel %s paused: %s", channel_id, reason)
            except TransientSendError as exc:
                log.warning("Feed channel %s: %s; will retry with the same nonce", channel_id, exc)
            return result

    def _holds(self, lease: str) -> bool:
        return self.leases is None or self.leases.holds(lease)

    async def _claim(
        self, channel_id: int, items: Sequence[OutboxItem], nonce: str, guard: LeaseGuard
    ) -> bool:
        """Claim the rows of one message, and only while this process holds the channel, in the
        database too: a process paused past its lease must not pack what the new holder packs."""
        if not self._holds(channel_lease(channel_id)):
            return False  # given back meanwhile (quiesce waits for this drain to stop)
        return await self.store.claim_pending([item.id for item in items], nonce, fence=guard.fence)

    async def quiesce(self, channel_ids: Iterable[int]) -> None:
        """Return once no delivery to these channels is under way (their leases are being given up;
        a drain stops at its next message once the lease is no longer held)."""
        for channel_id in channel_ids:
            lock = self._locks.get(channel_id)
            if lock is not None:
                async with lock:
                    pass

    async def _announce_gaps(self) -> None:
        """A visible notice in every feed channel of the group for each range that could not be fetched;
        announced by the process holding the group, whose poller recorded the gap."""
        for gap in await self.store.unnotified_gaps():
            guard = lease_guard(self.leases, self.store, group_lease(gap.group_id))
            if guard is None:
                continue
            delivered = True
            for binding in await self.store.list_bindings(group_id=gap.group_id):
                if binding.paused:
                    continue
                channel = binding.feed_channel_id
                notice = render_gap_notice(gap.group_id, gap.start, gap.end, gap.reason)
                try:
                    await self._pacer(channel).wait()
                    await guard.check()
                    await self.sender.send(channel, [notice], message_nonce(channel, [f"gap:{gap.id}"]))
                except LeaseLost as exc:
                    log.info(
                        "Gap %s of %s: left to the process that holds the group now (%s).",
                        gap.id,
                        gap.group_id,
                        exc,
                    )
                    delivered = False
                    break
                except (ChannelUnavailable, TransientSendError, PermanentSendError) as exc:
                    log.warning("Could not announce gap %s in channel %s: %s", gap.id, channel, exc)
                    delivered = False
            if delivered:
                await self.store.mark_gap_notified([gap.id])

    async def _resend_in_flight(self, channel_id: int, result: DrainResult, guard: LeaseGuard) -> None:
        """Messages whose delivery was never confirmed (a crash between send and mark).

        Those already in the channel's history are marked sent; the rest go again as the same group
        with the same nonce, which Discord also collapses while it remembers the nonce.
        """
        rows = await self.store.rows_in_flight(channel_id)
        if not rows:
            return
        await guard.check()
        delivered = await self.sender.find_delivered(channel_id, [item.entry.id for item in rows])
        for nonce, group in groupby(rows, key=lambda item: item.nonce):
            items = list(group)
            message_ids = {delivered.get(item.entry.id) for item in items}
            message_id = message_ids.pop() if len(message_ids) == 1 else None  # all in one message
            if message_id is not None:
                await self.store.mark_sent([item.id for item in items], message_id)
                log.info(
                    "Feed channel %s: %d unconfirmed entries were delivered before", channel_id, len(items)
                )
                continue
            if nonce is None:  # cannot happen through mark_packed; be safe and repack them
                nonce = message_nonce(channel_id, [i.entry.id for i in items])
            log.info(
                "Feed channel %s: re-sending %d unconfirmed entries (nonce %s)", channel_id, len(items), nonce
            )
            await self._send(channel_id, items, [await self._embed(i) for i in items], nonce, result, guard)

    async def _send(
        self,
        channel_id: int,
        items: Sequence[OutboxItem],
        embeds: Sequence[discord.Embed],
        nonce: str,
        result: DrainResult,
        guard: LeaseGuard,
    ) -> None:
        await self._pacer(channel_id).wait()
        row_ids = [item.id for item in items]
        crashpoints.reached("outbox.before_send")
        # Claimed under the lease, but the pacer's wait (or a freeze) may have outlasted it: the rows
        # stay `sending`, and the channel's new holder sends them with the same nonce.
        await guard.check()
        try:
            # The select under the message comes from its rows alone, as the embeds do: a resend
            # after a crash is the same message.
            message_id = await self.sender.send(channel_id, embeds, nonce, feed_actions(items))
        except PermanentSendError as exc:
            await self._refused(channel_id, items, embeds, exc, result, guard)
            return
        crashpoints.reached("outbox.after_send")
        await self.store.mark_sent(row_ids, message_id)
        crashpoints.reached("outbox.after_mark")
        result.messages += 1
        result.entries += len(row_ids)

    # -- entries that cannot be shown or sent -----------------------------------------------------

    async def _embed(self, item: OutboxItem) -> discord.Embed:
        """The item's embed: the notice for a set-aside entry; an entry the renderer fails on is set
        aside (stage "render") and gets the notice too, so it never holds up its channel."""
        if item.set_aside is not None:
            return render_set_aside_notice(item.entry, item.set_aside)
        try:
            return self.render(item)
        except Exception as exc:
            log.exception("Could not render audit entry %s; setting it aside", item.entry.id)
            aside = await self._set_aside(
                item, "render", f"could not be rendered: {type(exc).__name__}: {exc}"
            )
            return render_set_aside_notice(item.entry, aside)

    async def _set_aside(self, item: OutboxItem, stage: SetAsideStage, reason: str) -> SetAside:
        await self.store.set_aside(item.entry.id, item.entry.group_id, stage, reason)
        return SetAside(item.entry.id, item.entry.group_id, stage, reason, None, datetime.now(UTC))

    async def _refused(
        self,
        channel_id: int,
        items: Sequence[OutboxItem],
        embeds: Sequence[discord.Embed],
        error: PermanentSendError,
        result: DrainResult,
        guard: LeaseGuard,
    ) -> None:
        """Discord answered 400 for this message: find the entry it refuses and set it aside.

        A message of several entries is sent again in two halves (recursively), each re-marked with
        its own nonce before it goes out, so a crash in between resends exactly what was in flight;
        the others are posted once, in order. A single refused entry is set aside and its notice
        sent in its place; a refused notice (nothing of the entry is left to blame) is given up on.
        """
        if len(items) > 1:
            log.warning(
                "Feed channel %s refused a message of %d entries (%s); sending them in parts",
                channel_id,
                len(items),
                error,
            )
            middle = len(items) // 2
            for part in (slice(None, middle), slice(middle, None)):
                part_items, part_embeds = items[part], embeds[part]
                nonce = message_nonce(channel_id, [i.entry.id for i in part_items])
                await self.store.mark_packed([i.id for i in part_items], nonce)
                await self._send(channel_id, part_items, part_embeds, nonce, result, guard)
            return
        (item,) = items
        if item.set_aside is None:
            log.error(
                "Feed channel %s refused audit entry %s; setting it aside: %s",
                channel_id,
                item.entry.id,
                error,
            )
            aside = await self._set_aside(item, "send", f"Discord refused it: {error}")
            item = dataclasses.replace(item, set_aside=aside)
            nonce = message_nonce(channel_id, [f"aside:{item.entry.id}"])
            await self.store.mark_packed([item.id], nonce)
            notice = [render_set_aside_notice(item.entry, aside)]
            await self._send(channel_id, [item], notice, nonce, result, guard)
            return
        log.error("Feed channel %s refused the notice for %s: %s", channel_id, item.entry.id, error)
        await self.store.mark_failed([item.id], str(error), give_up=True)
        result.failed += 1

    async def run(
        self, stop: asyncio.Event, wake: asyncio.Event, *, idle: float = 5.0, idle_cap: float | None = None
    ) -> None:
        """Drain until `stop`; sleep `idle` seconds or until `wake` (set by the poller after an ingest).
        With `idle_cap`, each drain that delivered nothing doubles the sleep, up to the cap, and one
        that delivered something (or failed) brings it back to `idle`."""
        pause = idle
        while not stop.is_set():
            # Cleared before the drain: rows queued while it runs wake the next one at once, rather
            # than waiting out the idle time.
            wake.clear()
            busy = True
            try:
                result = await self.drain_once()
                busy = bool(result.messages or result.failed or result.paused)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Outbox delivery failed; trying again shortly")
            pause = idle if busy or idle_cap is None else min(pause * 2, idle_cap)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            await asyncio.wait(waiters, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
