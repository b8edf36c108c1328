"""The watchdog loop: count after each ingest, and post each alert exactly once.

The feed service tells the loop which group just stored new entries (FeedService.subscribe_ingest);
a sweep every SWEEP_SECONDS covers every group this process holds anyway (a missed notice, a start).
A check records new episodes before anything is posted (bot.watchdog.service); delivery then follows
the outbox (bot.feed.outbox): the row is claimed as 'sending' with a nonce derived from the alert,
sent with that nonce (discord.py sets enforce_nonce), then marked 'sent'. After a crash a 'pending'
alert is posted, and a 'sending' one is looked for in the channel first (its buttons carry its id)
and otherwise posted again with the same nonce, which Discord collapses into the first message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot import crashpoints
from bot.lease_names import group_lease
from bot.store.leases import LeaseGuard, LeaseLost, lease_guard
from bot.store.moderator_alerts import ModeratorAlert
from bot.views.durable_post import custom_ids, find_own_message, has_footer, row_nonce, send_once
from bot.views.reply import NO_MENTIONS

from .render import FOOTER_PREFIX, alert_embed, allowed_mentions, content
from .views import alert_id_in, alert_view

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0
HISTORY_LOOKBACK = 50  # messages searched for an alert a crash kept from being marked sent


def alert_nonce(alert: ModeratorAlert) -> str:
    return row_nonce(alert.channel_id, f"alert:{alert.id}")


class WatchdogLoop:
    def __init__(self, bot: GroupBridgeBot) -> None:
        self.bot = bot
        self._asked: set[str] = set()
        self._ask = asyncio.Event()

    def notify(self, group_id: str) -> None:
        """New entries of this group are stored: count them soon."""
        self._asked.add(group_id)
        self._ask.set()

    async def run(self, stop: asyncio.Event) -> None:
        await self.bot.work_started.wait()  # the leases say which groups are ours
        if self.bot.feed is not None:
            self.bot.feed.subscribe_ingest(self.notify)
        sweep = True
        while not stop.is_set():
            groups = None if sweep else self._take()
            try:
                await self.run_once(groups)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is unreachable, or the like: the next round tries again
                log.exception("The runaway-moderator watchdog failed; trying again shortly")
            waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._ask.wait())}
            done, _ = await asyncio.wait(waits, timeout=SWEEP_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            sweep = not done

    def _take(self) -> set[str]:
        self._ask.clear()
        groups, self._asked = self._asked, set()
        return groups

    async def run_once(self, groups: Iterable[str] | None = None) -> list[int]:
        """Check these groups (every bound group when None) that this process holds, then deliver
        what is undelivered; returns the ids of the alerts recorded now."""
        if groups is None:
            groups = {b.group_id for b in await self.bot.store.list_bindings()}
        recorded: list[int] = []
        for group_id in sorted(g for g in groups if self.bot.holds_group(g)):
            try:
                recorded += await self.bot.watchdog.check_group(group_id)
            except Exception:
                log.exception("Counting the moderators' actions in %s failed", group_id)
        if recorded:
            crashpoints.reached("watchdog.after_detect")
        await self.deliver_all()
        await self.refresh_all()
        return recorded

    async def deliver_all(self) -> int:
        posted = 0
        for alert in await self.bot.store.undelivered_alerts():
            if self.bot.holds_group(alert.group_id):
                posted += await self.deliver(alert)
        return posted

    async def _still_ours(self, alert: ModeratorAlert) -> LeaseGuard | None:
        """The database, not this process's own view, says whether the group is still ours: a process
        frozen past its lease wakes up believing it is, and must neither remove a moderator's roles in
        VRChat nor post (or edit) the alert the new holder now delivers."""
        guard = lease_guard(self.bot.leases, self.bot.store, group_lease(alert.group_id))
        if guard is None:
            return None
        try:
            await guard.check()
        except LeaseLost as exc:
            log.info(
                "Runaway-moderator alert %s: left to the process that holds its group now (%s).",
                alert.id,
                exc,
            )
            return None
        return guard

    async def deliver(self, alert: ModeratorAlert) -> int:
        store = self.bot.store
        guard = await self._still_ours(alert)
        if guard is None:
            return 0
        if alert.state == "sending":
            found = await self._find_posted(alert)
            if found is not None:
                await store.mark_alert_sent(alert.id, found)
                return 0
        elif alert.attempts == 0 and alert.resolution is None:
            # Before the first post, so the alert says what the automatic kill switch did; claimed in
            # the store, so a restart never applies it twice.
            await self.bot.watchdog.auto_kill(alert.id)
            alert = await store.get_alert(alert.id) or alert
        nonce = alert_nonce(alert)
        if not await store.claim_alert(alert.id, nonce, fence=guard.fence):
            return 0
        record = (await store.alert_settings([alert.binding_id])).get(alert.binding_id)
        ping = record.ping_role_id if record is not None else None
        try:
            message = await send_once(
                self.bot,
                alert.channel_id,
                content=content(alert, ping),
                embed=alert_embed(alert, record),
                allowed_mentions=allowed_mentions(ping),
                nonce=nonce,
                view=alert_view(alert),
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            log.error("Could not post runaway-moderator alert %s in %s: %s", alert.id, alert.channel_id, exc)
            await store.mark_alert_failed(alert.id, f"{exc.status} {exc.text}", give_up=True)
            return 0
        except discord.HTTPException as exc:
            give_up = 400 <= exc.status < 500 and exc.status != 429
            log.warning("Posting runaway-moderator alert %s failed: %s", alert.id, exc)
            await store.mark_alert_failed(alert.id, f"{exc.status} {exc.text}", give_up=give_up)
            return 0
        except (aiohttp.ClientError, TimeoutError) as exc:
            await store.mark_alert_failed(alert.id, f"network error: {type(exc).__name__}")
            return 0
        crashpoints.reached("watchdog.after_send")
        await store.mark_alert_sent(alert.id, message.id, shown_revision=alert.revision)
        return 1

    async def refresh_all(self) -> int:
        """Edit the posted alerts whose episode grew since (the same burst went on): the counts and
        entries a moderator reads are the episode's, not the first minute's."""
        edited = 0
        for alert in await self.bot.store.alerts_behind():
            if self.bot.holds_group(alert.group_id):
                edited += await self.refresh(alert)
        return edited

    async def refresh(self, alert: ModeratorAlert) -> int:
        store = self.bot.store
        if alert.message_id is None or await self._still_ours(alert) is None:
            return 0
        record = (await store.alert_settings([alert.binding_id])).get(alert.binding_id)
        message = self.bot.get_partial_messageable(alert.channel_id).get_partial_message(alert.message_id)
        try:
            # The content (and its one ping) stays as posted: an edit pings nobody again.
            await message.edit(
                embed=alert_embed(alert, record), view=alert_view(alert), allowed_mentions=NO_MENTIONS
            )
            # A Dismiss or kill switch may have been decided while this edit was on its way, and its
            # own edit may have come first: read again, and show the decision if one came.
            fresh = await store.get_alert(alert.id)
            if fresh is not None and fresh.resolution != alert.resolution:
                await message.edit(
                    embed=alert_embed(fresh, record), view=alert_view(fresh), allowed_mentions=NO_MENTIONS
                )
        except (discord.Forbidden, discord.NotFound) as exc:
            log.warning(
                "Could not update runaway-moderator alert %s in %s: %s", alert.id, alert.channel_id, exc
            )
            await store.mark_alert_shown(alert.id, alert.revision)  # nothing more can be shown there
            return 0
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Updating runaway-moderator alert %s failed; trying again later: %s", alert.id, exc)
            return 0
        await store.mark_alert_shown(alert.id, alert.revision)
        return 1

    async def _find_posted(self, alert: ModeratorAlert) -> int | None:
        """The message of an alert a crash kept from being marked sent, if the channel has it
        (Discord collapses a repeated nonce only for a few minutes)."""

        def names_alert(message: discord.Message) -> bool:
            return has_footer(message, f"{FOOTER_PREFIX}{alert.id}") or any(
                alert_id_in(custom_id) == alert.id for custom_id in custom_ids(message)
            )

        with contextlib.suppress(discord.HTTPException, aiohttp.ClientError, TimeoutError):
            return await find_own_message(self.bot, alert.channel_id, names_alert, lookback=HISTORY_LOOKBACK)
        return None
