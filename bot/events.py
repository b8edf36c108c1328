"""The one event taxonomy: which friendly family each VRChat group audit-log event type belongs to.

VRChat types ``eventType`` as a free string (spec schema GroupAuditLogEntryType), so this table is
an observation, not a contract: new types appear, and older community references spell some types
differently (``group.member.user.ban`` vs the ``group.user.ban`` VRChat actually sends). Config
bindings, ``Binding.wants`` and the feed renderer all use this module, so a family means the same
thing everywhere. Pure data and string functions: no imports from discord, the store or the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: Family name -> what it covers, in the order they are listed to operators.
FAMILY_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "requests": "join requests and their outcome (accepted, rejected, blocked, withdrawn)",
        "members": "members joining, leaving, being removed, and member profile updates",
        "moderation": "bans and unbans, instance kicks and instance warnings",
        "roles": "roles created, changed or deleted, and roles assigned to or removed from members",
        "invites": "group invites sent or cancelled",
        "posts": "posts, announcements and calendar events",
        "instances": "group instances opened, closed, updated, and instance announcements",
        "settings": "group settings, galleries and ownership transfers",
        "other": "anything not covered above, including event types VRChat adds later",
    }
)

#: The friendly family names a binding can subscribe to (config ``[[bindings]] events``).
EVENT_FAMILIES: Final[tuple[str, ...]] = tuple(FAMILY_DESCRIPTIONS)

#: Family for event types this project does not know.
OTHER: Final = "other"

#: Every event type known to occur: (family, title in words). Sources: the VRChat OpenAPI spec
#: (examples group.update, group.role.update, group.member.remove, group.instance.kick), the per-type
#: audit log schemas of the community vrchatapi SDKs, and community tools that logged live audit data.
_TABLE: Final[Mapping[str, tuple[str, str]]] = {
    # requests
    "group.request.create": ("requests", "Join request received"),
    "group.request.accept": ("requests", "Join request accepted"),
    "group.request.reject": ("requests", "Join request rejected"),
    "group.request.block": ("requests", "Join request blocked"),
    "group.request.unblock": ("requests", "Join request unblocked"),
    "group.request.withdraw": ("requests", "Join request withdrawn"),
    # members
    "group.member.join": ("members", "Member joined"),
    "group.member.leave": ("members", "Member left"),
    # A kick from the group. Listed under members (as config.example.toml documents), not moderation.
    "group.member.remove": ("members", "Member removed"),
    "group.member.update": ("members", "Member updated"),
    "group.member.user.update": ("members", "Member updated"),
    # moderation
    "group.user.ban": ("moderation", "User banned"),
    "group.user.unban": ("moderation", "User unbanned"),
    # The spelling in the spec's old example and community references; live logs use group.user.*.
    "group.member.user.ban": ("moderation", "User banned"),
    "group.member.user.unban": ("moderation", "User unbanned"),
    "group.instance.kick": ("moderation", "User kicked from an instance"),
    "group.instance.warn": ("moderation", "User warned in an instance"),
    # roles
    "group.role.create": ("roles", "Role created"),
    "group.role.update": ("roles", "Role updated"),
    "group.role.delete": ("roles", "Role deleted"),
    "group.member.role.assign": ("roles", "Role assigned"),
    "group.member.role.unassign": ("roles", "Role removed"),
    # invites
    "group.invite.create": ("invites", "User invited"),
    "group.invite.cancel": ("invites", "Invite cancelled"),
    # posts
    "group.post.create": ("posts", "Post published"),
    "group.post.update": ("posts", "Post edited"),
    "group.post.delete": ("posts", "Post deleted"),
    "group.announcement": ("posts", "Announcement posted"),
    "group.announcement.create": ("posts", "Announcement posted"),
    "group.announcement.delete": ("posts", "Announcement deleted"),
    "group.calendarEvent.create": ("posts", "Calendar event created"),
    "group.calendarEvent.delete": ("posts", "Calendar event deleted"),
    # instances
    "group.instance.create": ("instances", "Group instance opened"),
    "group.instance.close": ("instances", "Group instance closed"),
    "group.instance.update": ("instances", "Group instance updated"),
    "group.instance.announcement": ("instances", "Instance announcement"),
    # settings
    "group.create": ("settings", "Group created"),
    "group.update": ("settings", "Group settings changed"),
    "group.gallery.create": ("settings", "Gallery created"),
    "group.gallery.update": ("settings", "Gallery updated"),
    "group.gallery.delete": ("settings", "Gallery deleted"),
    "group.transfer.start": ("settings", "Ownership transfer started"),
    "group.transfer.accept": ("settings", "Ownership transfer accepted"),
}

KNOWN_EVENT_TYPES: Final[Mapping[str, str]] = MappingProxyType({t: fam for t, (fam, _) in _TABLE.items()})
#: What happened, in words, for feed titles ("User banned").
EVENT_TITLES: Final[Mapping[str, str]] = MappingProxyType({t: title for t, (_, title) in _TABLE.items()})

# Families for unknown types under a known prefix (group.instance.open, group.invite.accept, ...).
# Checked longest first, so group.member.role.* lands in roles before group.member.* in members.
_PREFIX_FAMILIES: Final[tuple[tuple[str, str], ...]] = tuple(
    sorted(
        {
            "group.request.": "requests",
            "group.member.role.": "roles",
            "group.member.user.": "members",
            "group.member.": "members",
            "group.user.": "moderation",
            "group.role.": "roles",
            "group.invite.": "invites",
            "group.post.": "posts",
            "group.announcement.": "posts",
            "group.calendarevent.": "posts",
            "group.instance.": "instances",
            "group.gallery.": "settings",
            "group.transfer.": "settings",
        }.items(),
        key=lambda item: len(item[0]),
        reverse=True,
    )
)

# VRChat's own strings are case-sensitive (calendarEvent), but a differently-cased copy of a known
# type is still that type; matching ignores case so a spelling drift does not drop it to "other".
_KNOWN_FOLDED: Final[Mapping[str, str]] = {t.casefold(): f for t, f in KNOWN_EVENT_TYPES.items()}


def family_of(event_type: str) -> str:
    """The friendly family of an audit event type; "other" for anything unrecognised. Never raises."""
    if not isinstance(event_type, str):  # defensive: the value comes straight from JSON
        return OTHER
    folded = event_type.strip().casefold()
    known = _KNOWN_FOLDED.get(folded)
    if known is not None:
        return known
    for prefix, family in _PREFIX_FAMILIES:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            return family
    return OTHER


def is_family(name: str) -> bool:
    return name in FAMILY_DESCRIPTIONS


#: Actions moderators take through the bot (the action log's `action`) -> the audit event types VRChat
#: writes for them. Used to show "by <Discord moderator> via GroupBridge" on the matching feed entry.
ACTION_EVENT_TYPES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "request.accept": ("group.request.accept", "group.member.join"),
        "request.reject": ("group.request.reject",),
        "request.block": ("group.request.block", "group.request.reject"),
        "invite": ("group.invite.create",),
        "invite.cancel": ("group.invite.cancel",),
        "post.create": ("group.post.create", "group.announcement.create"),
        "post.delete": ("group.post.delete", "group.announcement.delete"),
        "member.kick": ("group.member.remove",),
        "member.ban": ("group.user.ban", "group.member.user.ban"),
        "member.unban": ("group.user.unban", "group.member.user.unban"),
        "member.role.add": ("group.member.role.assign",),
        "member.role.remove": ("group.member.role.unassign",),
        # An instance's entries name its location (worldId:instanceId) as the target.
        "instance.open": ("group.instance.create",),
        "instance.close": ("group.instance.close",),
        # The runaway-moderator kill switch (bot.watchdog): one entry per role it removes.
        "alert.kill_switch": ("group.member.role.unassign",),
        # Role sync (bot.roles) writing to VRChat: credited to "role sync".
        "role.assign": ("group.member.role.assign",),
        "role.unassign": ("group.member.role.unassign",),
    }
)

#: `/vrc stats`: what each counted series is made of, in legend order -> (label, event types). Kept
#: here, beside the families, so "a ban" means the same types in the feed, the search and the chart.
#: A block is a rejection that also bars the user, so it counts as one; bot.requests.reconcile and the
#: simulator take group.request.block as a block's whole record (were a reject logged with it, it would
#: count twice).
STAT_CATEGORIES: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = MappingProxyType(
    {
        "joins": ("Joins", ("group.member.join",)),
        "leaves": ("Leaves", ("group.member.leave",)),
        "accepted": ("Requests accepted", ("group.request.accept",)),
        "rejected": ("Requests rejected", ("group.request.reject", "group.request.block")),
        "bans": ("Bans", ACTION_EVENT_TYPES["member.ban"]),
    }
)
