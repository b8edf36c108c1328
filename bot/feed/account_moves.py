"""Which of several VRChat accounts serves each group is looked at again while the bot runs
(bot.vrchat.pool): every RECHECK_AFTER seconds for the groups this process polls, and at once when a
group's call is refused or its account's session blocks. A group that moves to another account
does so quietly for the feed (its cursor and cards are per group, in the database), so each move is
told once in the group's feed channels, by the process polling the group, as the session alert is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

import discord

from bot.store.ports import BindingReader
from bot.text import safe_text
from bot.vrchat.pool import AccountPool, Move

from .pacing import message_nonce
from .sender import FeedSender, SendError

log = logging.getLogger(__name__)

TITLE = "VRChat account changed"
NAME_LIMIT = 64  # an account name in the notice


def move_notice(move: Move) -> discord.Embed:
    old, new = (safe_text(name, NAME_LIMIT, single_line=True) for name in (move.old, move.new))
    why = (
        f"the VRChat session of **{old}** is blocked"
        if move.old_blocked
        else f"**{old}** is no longer a member of the group with the permissions the bot needs"
    )
    text = (
        f"GroupBridge now reaches this VRChat group through its account **{new}** instead of "
        f"**{old}**: {why}. The feed and join requests carry on from where they were."
    )
    return discord.Embed(title=TITLE, description=text, colour=discord.Colour.blurple())


class AccountMoves:
    """Runs the pool's periodic recheck and posts a notice for each move of a group held here."""

    def __init__(
        self,
        pool: AccountPool,
        store: BindingReader,
        sender: FeedSender,
        *,
        speaks_for: Callable[[str], bool] = lambda _group_id: True,
    ) -> None:
        self.pool = pool
        self._store = store
        self._sender = sender
        self._speaks_for = speaks_for
        self._pending: list[Move] = []
        self._lock = asyncio.Lock()
        pool.on_move(self._pending.append)

    @property
    def pending(self) -> bool:
        """A move has not been told yet (a local read, no I/O)."""
        return bool(self._pending)

    async def recheck(self, group_ids: Iterable[str]) -> list[Move]:
        """One periodic look at these groups, then the notices of what moved."""
        moves = await self.pool.recheck(group_ids)
        await self.tell()
        return moves

    async def run(self, stop: asyncio.Event, groups: Callable[[], Iterable[str]], every: float) -> None:
        """Every `every` seconds until `stop`, a recheck of `groups()`; errors never end the loop."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
                return
            try:
                await self.recheck(list(groups()))
            except Exception:  # the store is unreachable, or the like: the next round tries again
                log.exception("Looking again at which VRChat account serves each group failed")

    async def tell(self) -> list[int]:
        """Post the notice of each move not told yet in its group's open feed channels; returns them."""
        async with self._lock:  # a recheck and a poll's failed call may both have moves to tell
            moves = list(self._pending)
            self._pending.clear()
            if not moves:
                return []
            bindings = await self._store.list_bindings()
            reached: list[int] = []
            for move in moves:
                if not self._speaks_for(move.group_id):
                    continue
                channels = {
                    b.feed_channel_id for b in bindings if b.group_id == move.group_id and not b.paused
                }
                reached += [c for c in sorted(channels) if await self._post(c, move)]
            return reached

    async def _post(self, channel_id: int, move: Move) -> bool:
        # Unique per move, so Discord's nonce de-duplication never swallows a later one.
        key = f"account-move:{move.group_id}:{move.new}:{time.time_ns()}"
        try:
            await self._sender.send(channel_id, [move_notice(move)], message_nonce(channel_id, [key]))
        except SendError as exc:
            log.warning("Could not post the account-change notice in channel %s: %s", channel_id, exc)
            return False
        return True
