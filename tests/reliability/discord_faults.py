"""Discord faults the stand-in has no switch for: 429 storms and 5xx answers on one channel.

The stand-in only knows 403/404 per channel and its honest rate limit. A 429 storm is made through
its own limiter (so the answer carries the real headers, body and ``Via`` that discord.py reads),
and a 5xx by raising the stand-in's own ``ApiError`` from message creation, so everything else
(validation, nonce de-duplication, the recorded request) still runs as for any other answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.sandbox.discord import DiscordStandIn, StandInMessage
from bot.sandbox.discord.models import RecordedFile
from bot.sandbox.discord.ratelimit import Decision, RateLimiter, bucket_hash
from bot.sandbox.discord.state import ApiError

MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"


@dataclass
class Storm:
    """A fault on one channel's message creation; ``times`` None lasts until cleared."""

    channel_id: int
    status: int
    retry_after: float = 1.0
    times: int | None = None
    after_store: bool = False  # 5xx only: Discord kept the message but the answer was an error
    hits: int = 0

    def take(self) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


class _StormyLimiter(RateLimiter):
    """The stand-in's limiter, plus a forced 429 on the channel a storm names."""

    def __init__(self, faults: DiscordFaults) -> None:
        super().__init__()
        self._faults = faults

    def hit(self, route: str, major: str, limit: int, per: float, now: float) -> Decision:
        storm = self._faults.active(429, major) if route == MESSAGE_ROUTE else None
        if storm is None or not storm.take():
            return super().hit(route, major, limit, per, now)
        self._faults.answered += 1
        after = math.ceil(storm.retry_after * 1000) / 1000
        return Decision(
            allowed=False,
            limit=limit,
            remaining=0,
            reset_at=now + after,
            reset_after=after,
            bucket=bucket_hash(route),
        )


class DiscordFaults:
    """Installed once per stand-in; ``add`` starts a storm, ``clear`` ends them all."""

    def __init__(self, standin: DiscordStandIn) -> None:
        self.storms: list[Storm] = []
        self.answered = 0  # faulty answers given, 429s and 5xx together
        standin.limiter = _StormyLimiter(self)
        state = standin.state
        create = state.create_message

        def create_message(
            channel_id: int, body: dict[str, Any], files: list[RecordedFile]
        ) -> tuple[StandInMessage, bool]:
            storm = self._server_error(channel_id)
            if storm is None:
                return create(channel_id, body, files)
            if storm.after_store:
                create(channel_id, body, files)  # stored, yet the bot hears only the error
            self.answered += 1
            raise ApiError(storm.status, 0, f"{storm.status}: Simulated server error")

        state.create_message = create_message  # type: ignore[method-assign]

    def add(self, storm: Storm) -> Storm:
        self.storms.append(storm)
        return storm

    def clear(self) -> None:
        self.storms.clear()

    def active(self, status: int, channel: str | int) -> Storm | None:
        live = (s for s in self.storms if s.times is None or s.hits < s.times)
        return next((s for s in live if s.status == status and str(s.channel_id) == str(channel)), None)

    def _server_error(self, channel_id: int) -> Storm | None:
        for storm in self.storms:
            if storm.status >= 500 and storm.channel_id == channel_id and storm.take():
                return storm
        return None
