"""Who may use what: the classification every registered command and component must have.

A command or component the bot registers without an entry here fails the matrix test, so a new one
has to be classified (and thereby checked) before it can ship. Each command entry also says how to
use it for real, so an "allowed" cell proves the command got past its permission check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.services.access import GUILD_ONLY
from bot.store import Store
from tests.fixtures.discord_gateway import FEED_CHANNEL_ID, GUILD_ID, MEMBER_ID, MOD_ROLE_ID
from tests.security.conftest import SPARE_FEED_ID, Role, World

ADMINS: frozenset[Role] = frozenset({"admin"})
# Moderators of the binding the command names, and anyone with Manage Server.
MODERATORS: frozenset[Role] = frozenset({"admin", "moderator"})
# Lookups that name no group (`/vrc user`, `/vrc instances`) serve whoever moderates any of this
# server's bindings: they are per server, not per group.
SERVER_MODERATORS: frozenset[Role] = frozenset({"admin", "moderator", "other_moderator"})
# Linking one's own account: anyone in a server with the bot (never in a DM).
ANYONE_IN_A_SERVER: frozenset[Role] = frozenset({"admin", "moderator", "other_moderator", "member"})
# Components on an ephemeral reply: only the person who opened it, and only while still allowed.
# In the matrix the opener is always the admin.
OPENER: frozenset[Role] = frozenset({"admin"})

# What a refusal says; one of these must appear in every refused cell's reply.
REFUSALS = (
    GUILD_ONLY,
    "Only members with the Manage Server permission",
    "You need one of the moderator roles",
    "No moderator roles are set",
    "You need a moderator role of one of the groups",
    "You can only change the settings of the server you are in",
    "Only the moderator who",
    # The Verify button under a link code serves only the Discord user the code was issued to.
    "This code was issued to another Discord account",
    # A channel option cannot be resolved in a DM: discord.py refuses before the command runs.
    "That is not a valid channel here",
)

Options = Callable[[World], dict[str, Any]]
Prepare = Callable[[World, Store], Awaitable[None]]


@dataclass(frozen=True)
class CommandCase:
    allowed: frozenset[Role]
    options: Options
    marker: str | None  # text of the allowed answer (None: any non-refusal; a modal for /vrc post)
    confirm: str | None = None  # label of the confirmation button the allowed flow goes through
    done: str | None = None  # text of the confirmed outcome
    prepare: Prepare | None = None
    optional: bool = False  # may not be registered yet (built by others in parallel)
    modal: bool = False


def _channel(world: World, channel_id: int) -> Any:
    return world.standin.state.channels[channel_id]


async def _pause_feed(world: World, store: Store) -> None:
    await store.pause_binding(channel_id=FEED_CHANNEL_ID, reason="Missing Permissions (matrix)")


def _group(world: World) -> dict[str, Any]:
    return {"group": world.group_id}


# Insertion order is the order the cells run in, one fresh world per role: ban before unban, adding
# before listing and removing, and unlinking last (it takes a binding away from later cells).
EXPECTED_COMMANDS: dict[str, CommandCase] = {
    "bridge status": CommandCase(ADMINS, lambda w: {}, "GroupBridge status"),
    "bridge link": CommandCase(
        ADMINS, lambda w: {"group": w.group_id, "feed": _channel(w, SPARE_FEED_ID)}, "Linked Test Group"
    ),
    "bridge events": CommandCase(
        ADMINS, lambda w: {"group": w.group_id, "families": "moderation,members"}, "The feed now shows"
    ),
    "bridge resume": CommandCase(
        ADMINS, lambda w: {"channel": _channel(w, FEED_CHANNEL_ID)}, "Resumed", prepare=_pause_feed
    ),
    "bridge watchlist add": CommandCase(
        ADMINS, lambda w: {"watched": w.other_group.id, "note": "matrix", **_group(w)}, "Added"
    ),
    "bridge watchlist list": CommandCase(ADMINS, _group, "Watchlist for Test Group"),
    "bridge watchlist remove": CommandCase(
        ADMINS, lambda w: {"watched": w.other_group.id, **_group(w)}, "Removed from"
    ),
    "bridge rules add": CommandCase(
        ADMINS, lambda w: {"condition": "age_verified", "outcome": "hold", **_group(w)}, "Added rule #1"
    ),
    "bridge rules list": CommandCase(ADMINS, _group, "Join-request rules for Test Group"),
    "bridge rules shadow": CommandCase(ADMINS, lambda w: {"on": True, **_group(w)}, "Shadow mode is on"),
    "bridge rules remove": CommandCase(ADMINS, lambda w: {"number": 1, **_group(w)}, "Removed rule #1"),
    "bridge roles map": CommandCase(
        ADMINS,
        lambda w: {
            "vrchat_role": "Moderator",
            "discord_role": w.standin.state.guilds[GUILD_ID].roles[MOD_ROLE_ID],
            "direction": "vrchat_to_discord",
            **_group(w),
        },
        "Mapped VRChat role Moderator",
    ),
    "bridge roles list": CommandCase(ADMINS, _group, "Role sync"),
    "bridge roles diff": CommandCase(ADMINS, _group, "Role sync dry run"),
    "bridge roles membership": CommandCase(ADMINS, _group, "No membership role"),
    "bridge roles mode": CommandCase(ADMINS, lambda w: {"mode": "shadow", **_group(w)}, "shadow mode"),
    "bridge roles unmap": CommandCase(ADMINS, lambda w: {"role": "Moderator", **_group(w)}, "Unmapped"),
    "vrc profile show": CommandCase(ADMINS, lambda w: {}, "Bot profile"),
    "vrc profile set": CommandCase(ADMINS, lambda w: {"pronouns": "they/them"}, "profile was updated"),
    "vrc requests": CommandCase(MODERATORS, _group, "Pending join requests"),
    "vrc invite": CommandCase(
        MODERATORS, lambda w: {"user": w.seeded.outsider.id, **_group(w)}, "Invited Dave to Test Group"
    ),
    "vrc post": CommandCase(MODERATORS, _group, None, modal=True),
    "vrc posts": CommandCase(MODERATORS, _group, "Recent posts"),
    "vrc kick": CommandCase(
        MODERATORS,
        lambda w: {"user": w.seeded.member.id, "reason": "matrix", **_group(w)},
        "Kick usr",
        confirm="Kick",
        done="Removed Bob from Test Group",
    ),
    "vrc ban": CommandCase(
        MODERATORS,
        lambda w: {"user": w.seeded.outsider.id, "reason": "matrix", **_group(w)},
        "Ban usr",
        confirm="Ban",
        done="Banned Dave",
    ),
    "vrc unban": CommandCase(
        MODERATORS,
        lambda w: {"user": w.seeded.outsider.id, **_group(w)},
        "Unban usr",
        confirm="Unban",
        done="Dave",
    ),
    "vrc stats": CommandCase(MODERATORS, _group, "Test Group", optional=True),
    "audit search": CommandCase(MODERATORS, _group, "Audit log"),
    "vrc user": CommandCase(SERVER_MODERATORS, lambda w: {"user": w.seeded.requester.id}, "Account age"),
    "vrc instances": CommandCase(SERVER_MODERATORS, lambda w: {}, "Test World"),
    "link start": CommandCase(ANYONE_IN_A_SERVER, lambda w: {"user": w.seeded.outsider.id}, "Your link code"),
    "link status": CommandCase(ANYONE_IN_A_SERVER, lambda w: {}, "not linked to a VRChat account"),
    "unlink": CommandCase(ANYONE_IN_A_SERVER, lambda w: {}, "not linked to a VRChat account"),
    "whois member": CommandCase(
        SERVER_MODERATORS, lambda w: {"member": w.standin.member(GUILD_ID, MEMBER_ID)}, "is not linked"
    ),
    "whois vrchat": CommandCase(
        SERVER_MODERATORS, lambda w: {"user": w.seeded.outsider.id}, "is not linked to a Discord account"
    ),
    "bridge unlink": CommandCase(ADMINS, lambda w: {"group": w.other_group.id}, "Unlinked"),
}


@dataclass(frozen=True)
class ItemCase:
    """A component: restart-safe (DynamicItem, keyed by class) or on a reply (View.item, keyed so)."""

    allowed: frozenset[Role]
    note: str = ""
    actions: tuple[str, ...] = field(default=())


EXPECTED_ITEMS: dict[str, ItemCase] = {
    "RequestButton": ItemCase(MODERATORS, "join-request card buttons", actions=("accept", "reject", "block")),
    "Confirm.confirm": ItemCase(OPENER, "the confirmation of /vrc kick|ban|unban, posts, blocks"),
    # Cancelling changes nothing, so its opener may do it from wherever the click comes.
    "Confirm.cancel": ItemCase(OPENER | {"dm"}),
    "Pager.older": ItemCase(OPENER, "/audit search paging"),
    "GroupPager.previous_page": ItemCase(OPENER, "/vrc user paging"),
    "GroupPager.next_page": ItemCase(OPENER),
    "DeletePost.pick": ItemCase(OPENER, "/vrc posts: delete one"),
    # In the matrix the code is the admin's (tests/security/test_links_matrix.py).
    "VerifyButton": ItemCase(OPENER, "Verify under a link code: only whom the code was issued to"),
}


def is_refusal(text: str) -> bool:
    return any(marker in text for marker in REFUSALS)
