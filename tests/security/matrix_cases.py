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
from tests.security.conftest import GROUP_MOD_ID, SPARE_FEED_ID, Role, World

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


MATRIX_WORLD = "wrld_4432ea9b-729c-46e3-8eaf-846aa0a37fdd"


async def _matrix_role(world: World, store: Store) -> None:
    """An ordinary (non-management) role to give and take."""
    state = world.seeded.sim.state
    if not any(r.name == "Matrix Role" for r in state.group(world.group_id).roles.values()):  # type: ignore[union-attr]
        state.add_role(world.group_id, "Matrix Role")


async def _matrix_world(world: World, store: Store) -> None:
    state = world.seeded.sim.state
    if MATRIX_WORLD not in state.worlds:
        state.add_world("Matrix World", world_id=MATRIX_WORLD)


_NOTES: dict[int, int] = {}  # world -> the note its moderator wrote (prepare runs before options)


async def _moderators_note(world: World, store: Store) -> None:
    note = await store.add_note(
        guild_id=GUILD_ID,
        group_id=world.group_id,
        vrchat_user_id=world.seeded.requester.id,
        text="matrix",
        author_discord_id=GROUP_MOD_ID,
        author_name="group moderator",
    )
    _NOTES[id(world)] = note.id


def _note_of(world: World) -> str:
    return str(_NOTES[id(world)])


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
    "bridge alerts set": CommandCase(ADMINS, lambda w: {"max_bans": 3, **_group(w)}, "are on"),
    "bridge alerts show": CommandCase(ADMINS, _group, "Alerts on runaway moderators for Test Group"),
    "bridge alerts off": CommandCase(ADMINS, _group, "are off"),
    "rolesync map": CommandCase(
        ADMINS,
        lambda w: {
            "vrchat_role": "Moderator",
            "discord_role": w.standin.state.guilds[GUILD_ID].roles[MOD_ROLE_ID],
            "direction": "vrchat_to_discord",
            **_group(w),
        },
        "Mapped VRChat role Moderator",
    ),
    "rolesync list": CommandCase(ADMINS, _group, "Role sync"),
    "rolesync diff": CommandCase(ADMINS, _group, "Role sync dry run"),
    "rolesync membership": CommandCase(ADMINS, _group, "No membership role"),
    "rolesync mode": CommandCase(ADMINS, lambda w: {"mode": "shadow", **_group(w)}, "shadow mode"),
    "rolesync unmap": CommandCase(ADMINS, lambda w: {"role": "Moderator", **_group(w)}, "Unmapped"),
    "vrc profile show": CommandCase(ADMINS, lambda w: {}, "Bot profile"),
    "vrc profile set": CommandCase(ADMINS, lambda w: {"pronouns": "they/them"}, "profile was updated"),
    "vrc requests": CommandCase(MODERATORS, _group, "Pending join requests"),
    "vrc invite": CommandCase(
        MODERATORS, lambda w: {"user": w.seeded.outsider.id, **_group(w)}, "Invited Dave to Test Group"
    ),
    "vrc post": CommandCase(MODERATORS, _group, None, modal=True),
    "vrc posts": CommandCase(MODERATORS, _group, "Recent posts"),
    # Member roles (bot/cogs/member_roles.py): before /vrc kick removes Bob.
    "vrc role add": CommandCase(
        MODERATORS,
        lambda w: {"user": w.seeded.member.id, "role": "Matrix Role", **_group(w)},
        "Gave Bob the role Matrix Role",
        prepare=_matrix_role,
    ),
    "vrc roles": CommandCase(MODERATORS, lambda w: {"user": w.seeded.member.id, **_group(w)}, "Roles of Bob"),
    "vrc role remove": CommandCase(
        MODERATORS,
        lambda w: {"user": w.seeded.member.id, "role": "Matrix Role", **_group(w)},
        "Took the role Matrix Role from Bob",
    ),
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
    "vrc note": CommandCase(
        MODERATORS, lambda w: {"user": w.seeded.requester.id, "text": "matrix", **_group(w)}, "Noted about"
    ),
    # A note the binding's moderator wrote: theirs to change, and any admin's.
    "vrc note-edit": CommandCase(
        MODERATORS,
        lambda w: {"note": _note_of(w), "text": "matrix, edited"},
        "changed",
        prepare=_moderators_note,
    ),
    "vrc note-delete": CommandCase(
        MODERATORS, lambda w: {"note": _note_of(w)}, "Deleted the note", prepare=_moderators_note
    ),
    "vrc history": CommandCase(
        MODERATORS, lambda w: {"user": w.seeded.requester.id, **_group(w)}, "History in Test Group"
    ),
    "vrc user": CommandCase(SERVER_MODERATORS, lambda w: {"user": w.seeded.requester.id}, "Account age"),
    "vrc instances": CommandCase(SERVER_MODERATORS, lambda w: {}, "Test World"),
    # Group instances (bot/instances/): after /vrc instances has listed the seeded one.
    "vrc instance open": CommandCase(
        MODERATORS,
        lambda w: {"world": MATRIX_WORLD, **_group(w)},
        "Open a members only instance",
        confirm="Open",
        done="Opened the group instance of Matrix World",
        prepare=_matrix_world,
    ),
    "vrc instance close": CommandCase(
        MODERATORS,
        lambda w: {"instance": w.seeded.instance.location, **_group(w)},
        "Close the group instance",
        confirm="Close",
        done="Closed the group instance",
    ),
    "link start": CommandCase(ANYONE_IN_A_SERVER, lambda w: {"user": w.seeded.outsider.id}, "Your link code"),
    "link status": CommandCase(ANYONE_IN_A_SERVER, lambda w: {}, "not linked to a VRChat account"),
    "unlink": CommandCase(ANYONE_IN_A_SERVER, lambda w: {}, "not linked to a VRChat account"),
    "whois member": CommandCase(
        SERVER_MODERATORS, lambda w: {"member": w.standin.member(GUILD_ID, MEMBER_ID)}, "is not linked"
    ),
    "whois vrchat": CommandCase(
        SERVER_MODERATORS, lambda w: {"user": w.seeded.outsider.id}, "is not linked to a Discord account"
    ),
    "bridge bans": CommandCase(ADMINS, lambda w: {"mode": "prompt", **_group(w)}, "**prompt**"),
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
    # tests/security/test_banbridge_matrix.py: the card a Discord ban of a linked member brings.
    "BanPromptButton": ItemCase(MODERATORS, "Discord-ban cards", actions=("confirm", "dismiss")),
    # bot.desk (tests/security/test_desk_matrix.py): the History button on join-request cards and the
    # feed's action panel, and the pager of a history reply.
    "HistoryButton": ItemCase(MODERATORS, "History on cards and the feed's action panel"),
    "FeedActionSelect": ItemCase(MODERATORS, "the select under a feed message: opens the panel"),
    "UserActionButton": ItemCase(
        MODERATORS, "the feed panel's Ban/Kick/Unban", actions=("ban", "kick", "unban")
    ),
    "HistoryPageButton": ItemCase(OPENER, "/vrc history paging: ◂ Prev and Next ▸ (restart-safe)"),
    # tests/security/test_instances_matrix.py: the Close button under an age-gate report.
    "CloseButton": ItemCase(MODERATORS, "Close under an age-gate report (then a confirmation)"),
    # A runaway-moderator alert's buttons: Manage Server in the alert's server (tests/security/
    # test_alerts_matrix.py); a moderator the alert may be about must not silence or strip anyone.
    "KillSwitchButton": ItemCase(ADMINS, "the kill switch, behind a confirmation"),
    "DismissButton": ItemCase(ADMINS, "Dismiss an alert"),
}


def is_refusal(text: str) -> bool:
    return any(marker in text for marker in REFUSALS)
