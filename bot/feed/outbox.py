"""Delivering the outbox to Discord: packed, paced, exactly once.

Per channel, rows are sent oldest first, packed into messages of up to 10 embeds / 6,000 characters.
Before a message is sent its rows are marked `sending` with a nonce derived from their entries; after
Discord answers they are marked `sent` with the message id. A crash between the two leaves rows in
`sending`: on the next start they are sent again as the same group with the same nonce, and Discord
(enforce_nonce) returns the message it already has instead of posting a second one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

import discord

from bot import crashpoints
from bot.store import OutboxItem, Store

from .leases import LeaseView, channel_lease, group_lease
from .pacing import SlidingWindowPacer, message_nonce, pack
from .render import embed_size as default_embed_size
from .render import render_gap_notice, render_outbox_item
from .sender import ChannelUnavailable, FeedSender, PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

RenderItem = Callable[[OutboxItem], discord.Embed]
EmbedSize = Callable[[discord.Embed], int]


@dataclass
class DrainResult:
    messages: int = 0
    entries: int = 0
    paused: list[int] = field(default_factory=list)
    failed: int = 0


class OutboxWorker:
    def __init__(
        self,
        store: Store,
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
            if not self._holds(channel_lease(channel_id)):
                return result  # another process delivers this channel
            try:
                await self._resend_in_flight(channel_id, result)
                while True:
                    items = await self.store.pending_for_channel(channel_id, limit=self.batch_limit)
                    if not items:
                        break
                    for message in pack(items, self.render, self.embed_size):
                        ids = [item.entry.id for item in message.items]
                        nonce = message_nonce(channel_id, ids)
                        if not await self._claim(channel_id, message.items, nonce):
                            return result  # the channel (or these rows) went to another process
                        crashpoints.reached("outbox.after_pack")
                        await self._send(channel_id, message.items, message.rendered, nonce, result)
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

    async def _claim(self, channel_id: int, items: Sequence[OutboxItem], nonce: str) -> bool:
        """Claim the rows of one message, and only while this process holds the channel, in the
        database too: a process paused past its lease must not pack what the new holder packs."""
        fence = None
        if self.leases is not None:
            fence = self.leases.fence(channel_lease(channel_id))
            if fence is None:
                return False
        return await self.store.claim_pending([item.id for item in items], nonce, fence=fence)

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
            if not self._holds(group_lease(gap.group_id)):
                continue
            delivered = True
            for binding in await self.store.list_bindings(group_id=gap.group_id):
                if binding.paused:
                    continue
                channel = binding.feed_channel_id
                notice = render_gap_notice(gap.group_id, gap.start, gap.end, gap.reason)
                try:
                    await self._pacer(channel).wait()
                    await self.sender.send(channel, [notice], message_nonce(channel, [f"gap:{gap.id}"]))
                except (ChannelUnavailable, TransientSendError, PermanentSendError) as exc:
                    log.warning("Could not announce gap %s in channel %s: %s", gap.id, channel, exc)
                    delivered = False
            if delivered:
                await self.store.mark_gap_notified([gap.id])

    async def _resend_in_flight(self, channel_id: int, result: DrainResult) -> None:
        """Messages whose delivery was never confirmed (a crash between send and mark).

        Those already in the channel's history are marked sent; the rest go again as the same group
        with the same nonce, which Discord also collapses while it remembers the nonce.
        """
        rows = await self.store.rows_in_flight(channel_id)
        if not rows:
            return
        delivered = await self.sender.find_delivered(channel_id, [item.entry.id for item in rows])
        for nonce, group in groupby(rows, key=lambda item: item.nonce):
            items = list(group)
            message_ids = {delivered.get(item.entry.id) for item in items}
            if len(message_ids) == 1 and None not in message_ids:
                (message_id,) = message_ids
                await self.store.mark_sent([item.id for item in items], message_id)  # type: ignore[arg-type]
                log.info(
                    "Feed channel %s: %d unconfirmed entries were delivered before", channel_id, len(items)
                )
                continue
            if nonce is None:  # cannot happen through mark_packed; be safe and repack them
                nonce = message_nonce(channel_id, [i.entry.id for i in items])
            log.info(
                "Feed channel %s: re-sending %d unconfirmed entries (nonce %s)", channel_id, len(items), nonce
            )
            await self._send(channel_id, items, [self.render(i) for i in items], nonce, result)

    async def _send(
        self,
        channel_id: int,
        items: Sequence[OutboxItem],
        embeds: Sequence[object],
        nonce: str,
        result: DrainResult,
    ) -> None:
        await self._pacer(channel_id).wait()
        row_ids = [item.id for item in items]
        crashpoints.reached("outbox.before_send")
        try:
            message_id = await self.sender.send(channel_id, embeds, nonce)  # type: ignore[arg-type]
        except PermanentSendError as exc:
            # Discord will never take this message (a rendering bug); keep it visible in status.
            log.error("Feed channel %s refused entries %s: %s", channel_id, [i.entry.id for i in items], exc)
            await self.store.mark_failed(row_ids, str(exc), give_up=True)
            result.failed += len(row_ids)
            return
        crashpoints.reached("outbox.after_send")
        await self.store.mark_sent(row_ids, message_id)
        crashpoints.reached("outbox.after_mark")
        result.messages += 1
        result.entries += len(row_ids)

    async def run(self, stop: asyncio.Event, wake: asyncio.Event, *, idle: float = 5.0) -> None:
        """Drain until `stop`; sleep `idle` seconds or until `wake` (set by the poller after an ingest)."""
        while not stop.is_set():
            # Cleared before the drain: rows queued while it runs wake the next one at once, rather
            # than waiting out the idle time.
            wake.clear()
            try:
                await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Outbox delivery failed; trying again shortly")
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
