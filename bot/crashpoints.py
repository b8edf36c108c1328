"""Named crash points for the reliability suite; a no-op unless ``GROUPBRIDGE_CRASH_AT`` is set.

A test that kills the bot from outside at a random moment mostly hits it while it sleeps between
polls. To kill it between two particular steps (entries fetched but not stored; a message sent but
not marked sent), the bot calls ``reached("outbox.after_send")`` at those places, and

    GROUPBRIDGE_CRASH_AT=outbox.after_send:7 groupbridge run ...

makes the process SIGKILL itself the 7th time it gets there: no handler, no ``finally``, no flush,
exactly what a power cut does at that line. Without the variable ``reached`` returns at once.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "GROUPBRIDGE_CRASH_AT"

# Every point the code reaches; a name outside this set in the variable is a typo in a test, and the
# bot refuses to start rather than run a whole scenario that can never crash where it was meant to.
POINTS: tuple[str, ...] = (
    "poller.after_fetch",  # a page of VRChat's log is in memory, nothing of it stored
    "store.after_ingest",  # entries, outbox rows and cursor committed; the poller has not heard back
    "outbox.after_pack",  # rows marked `sending` with their nonce; nothing sent yet
    "outbox.before_send",  # paced, about to call Discord
    "outbox.after_send",  # Discord has the message; the rows still say `sending`
    "outbox.after_mark",  # the rows say `sent`
    "cards.after_upsert",  # a card row exists for a new request; no message posted yet
    "cards.after_post",  # the card is in the channel; its message id is not stored yet
    "cards.after_claim",  # a request that left VRChat's list is claimed; its card not edited yet
    "cards.after_close",  # a handled card's message is closed; the row does not say so yet
    "requests.after_claim",  # a moderator's decision is claimed in the store; VRChat not asked yet
    "banbridge.after_store",  # a Discord ban's prompts are stored; no card posted, nothing banned
    "banbridge.after_post",  # the ban card is in the channel; its message id is not stored yet
    "watchdog.after_detect",  # a runaway-moderator alert is recorded; nothing posted yet
    "watchdog.after_send",  # the alert is in the channel; the row still says `sending`
    "roles.after_journal",  # a role write is journalled; not sent yet
    "roles.after_write",  # the role write is done; its journal row is not settled yet
)


def parse(value: str | None) -> tuple[str, int] | None:
    """``"point:n"`` (``n`` defaults to 1) as (point, n); None for an unset or empty variable."""
    if not value or not value.strip():
        return None
    name, _, count = value.strip().partition(":")
    if name not in POINTS:
        raise ValueError(f"{ENV_VAR}: unknown crash point {name!r}; known: {', '.join(POINTS)}")
    times = int(count) if count else 1
    if times < 1:
        raise ValueError(f"{ENV_VAR}: the count must be at least 1, not {times}")
    return name, times


_target = parse(os.environ.get(ENV_VAR))
_seen = 0


def reached(point: str) -> None:
    """Die here with SIGKILL if this is the armed point's n-th visit; otherwise do nothing."""
    global _seen
    if _target is None or point != _target[0]:
        return
    _seen += 1
    if _seen == _target[1]:
        # Straight to the file descriptor: a buffered logging handler would never flush it.
        os.write(2, f"crash point {point} reached ({_seen}x): SIGKILL\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)
