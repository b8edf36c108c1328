"""What the retention loop (feed.service) forgets, and after how long.

Three settings, because the records differ in what they are for:

- feed.retention_days: the mirrored audit log, with the join-request cards decided and shown closed
  and the gaps already announced (a copy of VRChat's log, and the working state around it).
- feed.action_log_retention_days: who did what through the bot. An accountability record, so kept
  forever unless set; a group's records also stay while the poller may still read an entry they
  credit (bot.feed.attribution), and each server's newest link of a group stays (it is where the
  group's standing at link time is read back, bot.services.bindings).
- feed.decided_retention_days: ban prompts decided or lifted and runaway-moderator alerts resolved.
  Their cards already show the outcome in Discord; an open, automatic or in-flight prompt, and an
  alert unresolved, unposted or whose message is behind, stay whatever their age.

Moderator notes are not purged: they are what moderators know about a person, not a log.

Each purge deletes in bounded batches, one transaction each (StoreBase._delete_in_batches), and
only rows no process still works on (claims are 'banning' prompts and 'sending' alerts, never
purged), so several processes may run it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.ports import RetentionStore

# How much newer than an action record the entries a group's poller has read must be before the
# record goes: the poller re-reads five minutes behind what it has (late entries), an entry is
# credited within two minutes of the action, and VRChat's clock is not ours.
CREDIT_MARGIN = timedelta(days=1)
# Actions whose newest record per server and group is read back whatever its age.
KEEP_LATEST_ACTIONS = ("binding.link",)


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """Days each kind of record is kept (0: forever)."""

    entries_days: int = 0
    action_log_days: int = 0
    decided_days: int = 0

    @property
    def purges_anything(self) -> bool:
        return any((self.entries_days, self.action_log_days, self.decided_days))


@dataclass(frozen=True, slots=True)
class Purged:
    entries: int = 0
    request_cards: int = 0
    gaps: int = 0
    actions: int = 0
    ban_prompts: int = 0
    alerts: int = 0

    def describe(self) -> str:
        """The non-zero counts, for the log ('' when nothing went)."""
        counts = (
            (self.entries, "audit entries"),
            (self.request_cards, "closed join-request cards"),
            (self.gaps, "announced gaps"),
            (self.actions, "action-log records"),
            (self.ban_prompts, "decided ban prompts"),
            (self.alerts, "resolved moderator alerts"),
        )
        return ", ".join(f"{count} {what}" for count, what in counts if count)


async def purge_once(store: RetentionStore, settings: RetentionSettings, now: datetime) -> Purged:
    """One round of every purge the settings ask for."""
    entries = cards = gaps = actions = prompts = alerts = 0
    if days := settings.entries_days:
        cutoff = now - timedelta(days=days)
        entries = await store.purge_older_than(days, now=now)
        cards = await store.purge_closed_cards(cutoff)
        gaps = await store.purge_notified_gaps(cutoff)
    if days := settings.action_log_days:
        actions = await store.purge_actions(
            now - timedelta(days=days), credit_margin=CREDIT_MARGIN, keep_latest=KEEP_LATEST_ACTIONS
        )
    if days := settings.decided_days:
        cutoff = now - timedelta(days=days)
        prompts = await store.purge_decided_ban_prompts(cutoff)
        alerts = await store.purge_resolved_alerts(cutoff)
    return Purged(entries, cards, gaps, actions, prompts, alerts)
