"""What a join-request card and the `linked_in_server` rule know about a requester's Discord link.

No Discord here: whether someone is in a server is asked through `MemberLookup`, which the bot
implements with Discord's REST API (bot.links.members). Fail closed: a lookup that fails gives
"unknown", never "not in this server", so a rule holds the request instead of deciding on a guess.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.store.ports import LinkLookup

log = logging.getLogger(__name__)

LinkState = Literal["in_server", "not_in_server", "not_linked", "unknown"]
MEMBER_TIMEOUT = 10.0  # seconds for one "is this Discord user in that server" lookup


class MemberLookup(Protocol):
    async def in_guild(self, guild_id: int, user_id: int) -> bool:
        """Whether the Discord user is a member of the server; raises when that cannot be found out."""
        ...


@dataclass(frozen=True, slots=True)
class DiscordLink:
    """A requester as one server sees them: `discord_user_id` only when they are in that server."""

    state: LinkState
    discord_user_id: int | None = None


NOT_LINKED = DiscordLink("not_linked")
UNKNOWN = DiscordLink("unknown")


def card_line(link: DiscordLink) -> str:
    """The card's "Discord" field. A member of another server is not named: the card's server has no
    business knowing who they are elsewhere."""
    if link.state == "in_server" and link.discord_user_id is not None:
        return f"<@{link.discord_user_id}> (in this server)"
    if link.state == "not_in_server":
        return "linked, not in this server"
    if link.state == "not_linked":
        return "not linked"
    return "linked, but whether they are in this server could not be checked"


async def _membership(members: MemberLookup, guild_id: int, user_id: int) -> DiscordLink:
    try:
        inside = await asyncio.wait_for(members.in_guild(guild_id, user_id), timeout=MEMBER_TIMEOUT)
    except Exception as exc:  # Discord down, a timeout, a bug: unknown, and the rules hold
        log.info("could not check whether %s is in server %s: %s", user_id, guild_id, exc)
        return UNKNOWN
    return DiscordLink("in_server", user_id) if inside else DiscordLink("not_in_server")


async def discord_links(
    store: LinkLookup, members: MemberLookup | None, wanted: Collection[tuple[str, int]]
) -> dict[tuple[str, int], DiscordLink]:
    """For each (VRChat user ID, Discord server ID): the requester's link as that server sees it.
    Without a member lookup (a process with no Discord client), linked requesters are "unknown"."""
    try:
        links = await store.links_of_vrchat({user_id for user_id, _ in wanted})
    except Exception:  # the store is away: nothing is known, nothing is decided on it
        log.exception("could not read the Discord links of join requesters")
        return dict.fromkeys(wanted, UNKNOWN)
    out: dict[tuple[str, int], DiscordLink] = {}
    for user_id, guild_id in wanted:
        link = links.get(user_id)
        if link is None:
            out[(user_id, guild_id)] = NOT_LINKED
        elif members is None:
            out[(user_id, guild_id)] = UNKNOWN
        else:
            out[(user_id, guild_id)] = await _membership(members, guild_id, link.discord_user_id)
    return out
