"""Something was done in a VRChat group through the bot: a moderator's command, a decided join
request. Whoever polls the group listens, to look at it at the normal pace again (adaptive polling,
bot.feed.backoff): what the action did shows up in the group's log soon.

A hub with no imports of its own, so the services can say it and the feed can hear it without either
importing the other; the bot connects them (bot.bot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Told the id of a group something was just done in.
ActivityListener = Callable[[str], None]


class GroupActivity:
    def __init__(self) -> None:
        self._listeners: list[ActivityListener] = []

    def subscribe(self, listener: ActivityListener) -> None:
        self._listeners.append(listener)

    def touched(self, group_id: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(group_id)
            except Exception:  # a listener's bug must never fail the command that was done
                log.exception("An activity listener failed for %s", group_id)
