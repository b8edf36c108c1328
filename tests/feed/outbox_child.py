"""A bot process for the crash tests: drains the outbox once, optionally dying with SIGKILL.

Run as `python -m tests.feed.outbox_child DB_URL DISCORD_BASE TOKEN CRASH_AT MODE` where MODE is
`after-send` (killed between Discord's answer and marking the rows sent), `before-send` (killed after
the rows were packed, before the request), or `none`. CRASH_AT counts messages (1-based).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

import discord

from bot.feed.actions import FeedAction
from bot.feed.outbox import OutboxWorker
from bot.feed.pacing import SlidingWindowPacer
from bot.feed.sender import DiscordFeedSender
from bot.sandbox.discord import pointed_at
from bot.store import Store


class CrashingSender(DiscordFeedSender):
    def __init__(self, client: discord.Client, crash_at: int, mode: str) -> None:
        super().__init__(client)
        self.count, self.crash_at, self.mode = 0, crash_at, mode

    async def send(
        self, channel_id: int, embeds: Sequence[discord.Embed], nonce: str, actions: Sequence[FeedAction] = ()
    ) -> int:
        self.count += 1
        if self.count == self.crash_at and self.mode == "before-send":
            os.kill(os.getpid(), signal.SIGKILL)
        message_id = await super().send(channel_id, embeds, nonce, actions)
        if self.count == self.crash_at and self.mode == "after-send":
            os.kill(os.getpid(), signal.SIGKILL)
        return message_id


async def main(db_url: str, base: str, token: str, crash_at: int, mode: str) -> None:
    store = await Store.open(db_url)
    try:
        with pointed_at(base):
            client = discord.Client(intents=discord.Intents.none())
            await client.login(token)
            try:
                worker = OutboxWorker(
                    store,
                    CrashingSender(client, crash_at, mode),
                    pacer_factory=lambda: SlidingWindowPacer(5, 0.05, margin=0.0),
                )
                await worker.drain_once()
            finally:
                await client.close()
    finally:
        await store.close()


if __name__ == "__main__":
    db, base_url, bot_token, at, how = sys.argv[1:6]
    asyncio.run(main(db, base_url, bot_token, int(at), how))
