"""Telling the servers when the bot has lost its VRChat session and stopped calling VRChat, and
when it has it back.

Without an alert the only signs are a silent feed and commands answering "session expired"; the
operator who can fix it (with `groupbridge login`) may not be the person who notices. So once per
blocking episode (from the moment the client blocks until a login succeeds again) every feed channel
gets one notice, and when the episode ends each channel that got it gets one "back" notice, so the
alarm is not the last word there. They mention nobody and, like the feed, go through the FeedSender.

With several VRChat accounts (bot.vrchat.pool) only the groups of the account that lost its session
are on hold: the alert names that account (its configured name, never a secret) and goes to the
channels of the groups it serves; an account that loses its session later in the same episode gets an
alert of its own, in its groups' channels, a channel shared with the first account's groups too (the
database keeps which account's alarm each channel heard). With several processes, each
account's notices come from the one process holding it, fenced in the database by its lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass

import discord

from bot.lease_names import account_lease
from bot.store.leases import LeaseFence, LeaseLost, LeaseView
from bot.store.ports import SessionNoticeStore
from bot.text import safe_text
from bot.vrchat import VRChatAPI

from .pacing import message_nonce
from .sender import FeedSender, SendError

log = logging.getLogger(__name__)

TITLE = "VRChat session expired"
TEXT = (
    "GroupBridge has lost its VRChat session and has stopped calling VRChat, so the audit feed, "
    "join-request cards and VRChat commands are on hold. The bot's operator needs to run "
    "`groupbridge login` on the bot's host; the running bot picks up the new session by itself, and "
    "the feed catches up. (With a TOTP secret configured, the bot also tries one new login by itself "
    "per re-login interval.)"
)


BACK_TITLE = "VRChat session is back"
BACK_TEXT = (
    "GroupBridge has a valid VRChat session again and is calling VRChat: the audit feed catches up "
    "from where it stopped, and join-request cards and VRChat commands work again."
)


ACCOUNT_TEXT = (
    "GroupBridge has lost the VRChat session of its account {names} and has stopped calling VRChat "
    "with it, so the audit feed, join-request cards and VRChat commands of the groups it serves are "
    "on hold. The bot's operator needs to run {commands} on the bot's host; the running bot picks up "
    "the new session by itself, and the feed catches up. (With a TOTP secret configured for it, the "
    "bot also tries one new login by itself per re-login interval.)"
)
NAME_LIMIT = 64  # an account name in the alert


def session_alert(accounts: Collection[str] = ()) -> discord.Embed:
    """The alarm; `accounts` names the accounts whose session ended (with several configured)."""
    if not accounts:
        return discord.Embed(title=TITLE, description=TEXT, colour=discord.Colour.red())
    names = [safe_text(name, NAME_LIMIT, single_line=True) for name in sorted(accounts)]
    text = ACCOUNT_TEXT.format(
        names=", ".join(f"**{n}**" for n in names),
        commands=" and ".join(f"`groupbridge login --account {n}`" for n in names),
    )
    return discord.Embed(title=TITLE, description=text, colour=discord.Colour.red())


@dataclass(frozen=True)
class HeldAccount:
    """An account this process calls VRChat with, as the alerts see it."""

    name: str  # "" for a bare client
    blocked: bool
    fence: LeaseFence | None  # its `account:` lease, where accounts have leases (several processes)


def session_back() -> discord.Embed:
    return discord.Embed(title=BACK_TITLE, description=BACK_TEXT, colour=discord.Colour.green())


class SessionAlerts:
    """Posts the notices once per episode; `check()` is cheap (no VRChat call) and safe to call often.

    Each account's notices come from the process holding the account (its `account:` lease,
    bot.accounts): that process alone calls VRChat with it, so it is the one that meets the lost
    session, and it learns first when the session is back. Every notice is claimed in the database
    before it is posted (bot.store.session_notices), fenced by that lease: a process frozen past its
    lease wakes up still seeing the account as its own, and claims nothing. The claims also keep which
    channels heard an episode's alarm: a process restarted during the episode (or taking the account
    over) does not sound it again, and once a poll has gone through it tells them the session is back.
    """

    def __init__(
        self,
        vrchat: VRChatAPI,
        store: SessionNoticeStore,
        sender: FeedSender,
        *,
        leases: LeaseView | None = None,
    ) -> None:
        self._vrchat = vrchat
        self._pool = vrchat.accounts
        self._leases = leases  # None: a lone process, holding every account
        self._store = store
        self._sender = sender
        self._lock = asyncio.Lock()
        self._alerted: set[str] = set()  # the held accounts whose alarm was claimed this episode
        # Held accounts that may have an alarm left open by an earlier life or an earlier holder, and
        # that were looked at once a poll had gone through here: a session that is still expired
        # blocks the client only at its first call, so before that, "not blocked" proves nothing.
        self._settled: set[str] = set()
        self._polled = False
        self.episodes = 0

    def poll_went_through(self) -> None:
        self._polled = True

    def _held(self) -> list[HeldAccount]:
        """The accounts this process calls VRChat with, as its own (in-memory) view has them."""
        if self._pool is None:
            return [HeldAccount("", self._vrchat.session_blocked, None)]
        pool, leases = self._pool, self._leases
        held = [
            HeldAccount(
                account.name,
                account.client.session_blocked,
                leases.fence(account_lease(account.name)) if leases is not None else None,
            )
            for account in pool.accounts
            if pool.held_here(account)
        ]
        names = {a.name for a in held}
        self._alerted &= names  # an account gone to another process: its holder tells the end
        self._settled &= names  # gained again later: looked at again
        return held

    def _due_back(self, account: HeldAccount) -> bool:
        return not account.blocked and (
            account.name in self._alerted or (self._polled and account.name not in self._settled)
        )

    def needs_check(self) -> bool:
        """An episode began or ended since the last check (a local read, no I/O)."""
        return any((a.blocked and a.name not in self._alerted) or self._due_back(a) for a in self._held())

    async def check(self) -> list[int]:
        """Post the alert for each held account whose session is newly blocked, and the "back"
        notice for each whose episode ended; returns the channels it reached."""
        async with self._lock:  # concurrent pollers must not both announce the same episode
            reached: list[int] = []
            for account in self._held():
                if account.blocked and account.name not in self._alerted:
                    reached += await self._alert(account)
                elif self._due_back(account):
                    reached += await self._back(account)
            return reached

    async def _open_channels(self, account: str) -> list[int]:
        """The channels of the groups `account` serves (or may: not decided yet). A paused channel
        answered 403/404 before; it is not probed (see the outbox)."""
        pool = self._pool
        return [
            b.feed_channel_id
            for b in await self._store.list_bindings()
            if not b.paused and (pool is None or pool.serving_name(b.group_id) in (account, None))
        ]

    async def _alert(self, account: HeldAccount) -> list[int]:
        channels = await self._open_channels(account.name)
        try:
            claimed = await self._store.claim_session_alarm(
                channels, account=account.name, fence=account.fence
            )
        except LeaseLost:
            log.info("The session alert of %s is left to the account's new holder.", account.name)
            return []
        if not self._alerted:
            self.episodes += 1
        self._alerted.add(account.name)
        named = (account.name,) if self._pool is not None and len(self._pool) > 1 else ()
        reached = await self._post(claimed, session_alert(named), "session", "the session alert")
        if unreached := [c for c in claimed if c not in reached]:
            # Given back: a channel the alarm never reached gets no "back" notice either.
            await self._store.claim_session_alerts(unreached, account=account.name)
        whose = f" of {account.name}" if named else ""
        log.error(
            "The VRChat session%s is blocked: no VRChat calls with it until `groupbridge login`; "
            "alert posted in %d channel(s).",
            whose,
            len(reached),
        )
        return reached

    async def _back(self, account: HeldAccount) -> list[int]:
        channels = await self._open_channels(account.name)
        try:  # only where the alarm arrived, and each channel from one process: the one that claims it
            back = await self._store.claim_session_alerts(channels, account=account.name, fence=account.fence)
        except LeaseLost:
            log.info("The session-back notice of %s is left to the account's new holder.", account.name)
            return []
        self._alerted.discard(account.name)
        if self._polled:
            self._settled.add(account.name)
        if not back:
            return []
        reached = await self._post(back, session_back(), "session-back", "the session-back notice")
        log.info("The VRChat session is back; notice posted in %d channel(s).", len(reached))
        return reached

    async def _post(self, channels: list[int], embed: discord.Embed, kind: str, what: str) -> list[int]:
        # Unique across restarts, so Discord's nonce de-duplication never swallows a new episode.
        episode = f"{kind}:{time.time_ns()}"
        reached: list[int] = []
        for channel_id in dict.fromkeys(channels):
            try:
                await self._sender.send(channel_id, [embed], message_nonce(channel_id, [episode]))
            except SendError as exc:
                log.warning("Could not post %s in channel %s: %s", what, channel_id, exc)
            else:
                reached.append(channel_id)
        return reached
