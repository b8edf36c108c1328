"""Which users a feed message lets moderators act on: one select under the message, "Act on a user in
this message", with an option per user an entry is about (a join, leave, removal, ban, unban or join
request). Picking one opens a private panel with the actions that fit (bot.desk.actions).

A pure function of the message's entries, as the embeds are: the outbox sends exactly the same
message again after a crash (same nonce, same embeds, same select). Discord's limits hold by
construction: one action row, at most 10 options (a message carries at most 10 entries), each value
at most 89 characters, labels and descriptions clipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from bot.events import EVENT_TITLES
from bot.store.types import OutboxItem
from bot.text import plain_label
from bot.vrchat.ids import GROUP_ID_RE, is_user_id

FEED_ACTIONS_ID: Final = "gb:fa"  # the select's custom_id; the values say whom and what
PLACEHOLDER: Final = "Act on a user in this message"

#: Event type -> what happened to the user, as the panel decides which actions fit.
USER_EVENT_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "group.member.join": "join",
        "group.member.leave": "leave",
        "group.member.remove": "kick",
        "group.user.ban": "ban",
        "group.member.user.ban": "ban",
        "group.user.unban": "unban",
        "group.member.user.unban": "unban",
        "group.request.create": "request",
        "group.request.accept": "join",
        "group.request.reject": "request",
        "group.request.block": "request",
        "group.request.withdraw": "request",
    }
)
KINDS: Final = frozenset(USER_EVENT_KINDS.values())
# Entries the user causes themselves: without a target, the actor is whom they are about. For the
# rest the actor is a moderator, never the user to act on.
_OWN_DOING: Final = frozenset(
    {"group.member.join", "group.member.leave", "group.request.create", "group.request.withdraw"}
)


@dataclass(frozen=True, slots=True)
class FeedAction:
    """One option of the select: `value` is "<kind>:<grp_…>:<usr_…>"."""

    label: str
    value: str
    description: str


def action_value(kind: str, group_id: str, user_id: str) -> str:
    return f"{kind}:{group_id}:{user_id}"


def _user_of(event_type: str, actor_id: str | None, target_id: str | None) -> str | None:
    """The user the entry is about: its target, or (asking, joining, leaving) the actor themselves."""
    candidates = (target_id, actor_id) if event_type in _OWN_DOING else (target_id,)
    for candidate in candidates:
        if candidate and is_user_id(candidate):
            return candidate
    return None


def feed_actions(items: Sequence[OutboxItem]) -> list[FeedAction]:
    """The options for one feed message: one per user, from the newest entry about them in it, in the
    order the entries are shown. Set-aside entries offer nothing (their data could not be trusted)."""
    latest: dict[str, FeedAction] = {}
    for item in items:
        entry = item.entry
        kind = USER_EVENT_KINDS.get(entry.event_type)
        if kind is None or item.set_aside is not None or not GROUP_ID_RE.match(entry.group_id):
            continue
        user_id = _user_of(entry.event_type, entry.actor_id, entry.target_id)
        if user_id is None:
            continue
        own = entry.actor_id == user_id and entry.actor_display_name
        name = entry.actor_display_name if own else user_id
        latest.pop(f"{entry.group_id}:{user_id}", None)  # a later entry about them moves them down
        latest[f"{entry.group_id}:{user_id}"] = FeedAction(
            label=plain_label(f"{EVENT_TITLES.get(entry.event_type, kind)}: {name}"),
            value=action_value(kind, entry.group_id, user_id),
            description=plain_label(user_id),
        )
    return list(latest.values())
