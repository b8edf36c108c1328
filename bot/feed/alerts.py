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
alert of its own, in its groups' channels that have not heard one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection

import discord

from bot.store.ports import SessionNoticeStore
from bot.text import safe_text
from bot.vrchat import VRChatAPI
from bot.vrchat.router import GroupRouter

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


def blocked_accounts(vrchat: VRChatAPI) -> frozenset[str]:
    """The names of the accounts whose session is blocked, when there are several to tell apart (a
    lone account, or a bare client, is the bot's only one: the alert then names none)."""
    if isinstance(vrchat, GroupRouter) and len(vrchat.pool) > 1:
        return frozenset(a.name for a in vrchat.pool.accounts if a.client.session_blocked)
    return frozenset()


def held_by(vrchat: VRChatAPI, accounts: Collection[str], group_id: str) -> bool:
    """The group is on hold because of these accounts: one of them serves it (or, not yet decided,
    it may be any of them). With no names, every group."""
    if not accounts or not isinstance(vrchat, GroupRouter):
        return True
    serving = vrchat.pool.serving(group_id)
    return serving is None or serving.name in accounts


def session_back() -> discord.Embed:
    return discord.Embed(title=BACK_TITLE, description=BACK_TEXT, colour=discord.Colour.green())


class SessionAlerts:
    """Posts the notices once per episode; `check()` is cheap (no VRChat call) and safe to call often.

    The channels that heard an episode's alarm are kept in the database (bot.store.session_notices):
    a process restarted during the episode does not sound it again, and once a poll has gone through
    after the restart it tells those channels the session is back.
    """

    def __init__(
        self,
        vrchat: VRChatAPI,
        store: SessionNoticeStore,
        sender: FeedSender,
        *,
        speaks_for: Callable[[str], bool] = lambda _group_id: True,
    ) -> None:
        self._vrchat = vrchat
        # With several processes the notice for a group's channels comes from the process polling
        # that group: it is the one that meets the lost session, and there is one per group.
        self._speaks_for = speaks_for
        self._store = store
        self._sender = sender
        self._lock = asyncio.Lock()
        self._alerted = False
        self._named: frozenset[str] = frozenset()  # the accounts this episode's alerts named
        # Until a poll has gone through in this process, an alarm an earlier life left open is not
        # known to be over: a session that is still expired blocks the client only at its first call.
        self._left_open_checked = False
        self._polled = False
        self.episodes = 0

    def poll_went_through(self) -> None:
        self._polled = True

    def needs_check(self) -> bool:
        """An episode began or ended since the last check (a local read, no I/O)."""
        blocked = self._vrchat.session_blocked
        if blocked and not blocked_accounts(self._vrchat) <= self._named:
            return True  # another account lost its session
        return blocked != self._alerted or (self._polled and not blocked and not self._left_open_checked)

    async def check(self) -> list[int]:
        """Post the alert if a new episode began, or the "back" notice if one ended; returns the
        channels it reached."""
        async with self._lock:  # concurrent pollers must not both announce the same episode
            blocked = self._vrchat.session_blocked
            if blocked:
                newly = blocked_accounts(self._vrchat) - self._named
                return await self._alert(newly) if newly or not self._alerted else []
            if self._alerted or (self._polled and not self._left_open_checked):
                return await self._back()
            return []

    async def _my_open_channels(self, accounts: Collection[str] = ()) -> list[int]:
        # A paused channel answered 403/404 before; it is not probed (see the outbox).
        bindings = await self._store.list_bindings()
        return [
            b.feed_channel_id
            for b in bindings
            if not b.paused and self._speaks_for(b.group_id) and held_by(self._vrchat, accounts, b.group_id)
        ]

    async def _alert(self, accounts: frozenset[str]) -> list[int]:
        if not self._alerted:
            self.episodes += 1
        self._alerted = True
        self._named |= accounts
        heard = await self._store.session_alerted_channels()
        mine = [c for c in await self._my_open_channels(accounts) if c not in heard]
        reached = await self._post(mine, session_alert(accounts), "session", "the session alert")
        await self._store.record_session_alert(reached)
        whose = f" of {', '.join(sorted(accounts))}" if accounts else ""
        log.error(
            "The VRChat session%s is blocked: no VRChat calls with it until `groupbridge login`; "
            "alert posted in %d channel(s).",
            whose,
            len(reached),
        )
        return reached

    async def _back(self) -> list[int]:
        self._alerted = False
        self._named = frozenset()
        self._left_open_checked = self._polled
        # Only where the alarm arrived, and each channel from one process: the one that claims it.
        back = await self._store.claim_session_alerts(await self._my_open_channels())
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
