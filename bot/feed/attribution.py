"""Which Discord moderator caused an audit entry the bot account wrote.

VRChat records the bot account as the actor of everything done through GroupBridge. The action log
knows who clicked; an entry of the matching type, on the same target, by the bot account, within a
short window of the action, is credited to that moderator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from bot.events import ACTION_EVENT_TYPES
from bot.store import ActionRecord, AuditEntryIn
from bot.store.ports import ActionReader

WINDOW = timedelta(minutes=2)


def credit(
    entries: Sequence[AuditEntryIn], actions: Sequence[ActionRecord], bot_user_id: str | None
) -> list[AuditEntryIn]:
    """Entries with discord_actor_* filled where a successful action explains them.

    Each action explains at most one entry and each entry takes at most one action, closest pairs
    first, so two quick bans of the same user are credited to the right two moderators.
    """
    pairs = sorted(
        (abs(action.created_at - entry.created_at), index, n)
        for index, entry in enumerate(entries)
        if bot_user_id and entry.actor_id == bot_user_id and entry.discord_actor_id is None
        for n, action in enumerate(actions)
        if action.outcome == "ok"
        and action.target_id
        and action.target_id == entry.target_id
        and entry.event_type in ACTION_EVENT_TYPES.get(action.action, ())
        and abs(action.created_at - entry.created_at) <= WINDOW
    )
    credited = list(entries)
    used_entries: set[int] = set()
    used_actions: set[int] = set()
    for _, index, n in pairs:
        if index in used_entries or n in used_actions:
            continue
        used_entries.add(index)
        used_actions.add(n)
        action = actions[n]
        credited[index] = dataclasses.replace(
            entries[index],
            discord_actor_id=action.discord_user_id,
            discord_actor_name=action.discord_user_name,
        )
    return credited


async def credit_from_store(
    store: ActionReader, group_id: str, entries: Sequence[AuditEntryIn], bot_user_id: str | None
) -> list[AuditEntryIn]:
    """`credit` with the actions the store logged around the entries' time span."""
    if not entries or not bot_user_id:
        return list(entries)
    since = min(e.created_at for e in entries) - WINDOW
    until = max(e.created_at for e in entries) + WINDOW
    actions = await store.list_actions(group_id=group_id, since=since, until=until, limit=1000)
    return credit(entries, actions, bot_user_id)
