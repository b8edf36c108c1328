"""Audit-log entries as Discord embeds: one renderer per event family, every text made inert.

Everything in an audit entry except our own ids is user-controlled (display names, descriptions,
role and post titles, group settings), so all of it goes through `safe_text`: Discord markdown is
escaped, masked-link brackets are escaped, and mention syntax gets a zero-width space so nothing
can ping or link even if a caller forgets ``allowed_mentions``. Lengths are counted in UTF-16 code
units (what a JavaScript client counts; never below a code-point count), and every piece is clipped
well inside Discord's embed limits, so rendering can shorten an entry but never fail on it.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import discord

from bot.events import EVENT_TITLES, OTHER, family_of
from bot.store.types import UNKNOWN_EVENT_TYPE, OutboxItem, SetAside, StoredEntry
from bot.text import clip, plain_line, safe_text, text_units
from bot.vrchat.ids import GROUP_ID_RE, is_user_id, launch_url, parse_location

# Discord's hard limits for one embed.
TITLE_LIMIT: Final = 256
DESCRIPTION_LIMIT: Final = 4096
FIELD_NAME_LIMIT: Final = 256
FIELD_VALUE_LIMIT: Final = 1024
FIELD_COUNT_LIMIT: Final = 25
FOOTER_LIMIT: Final = 2048
AUTHOR_LIMIT: Final = 256
TOTAL_LIMIT: Final = 6000

# Our own, tighter budgets: a feed entry should be glanceable, and the outbox packs several
# embeds into one 6,000-character message, so a single entry stays far below the limit.
DESCRIPTION_CLIP: Final = 1000
NAME_CLIP: Final = 80
VALUE_CLIP: Final = 400
CHANGE_SIDE_CLIP: Final = 150
MAX_CHANGES: Final = 4
MAX_FIELDS: Final = 12
TOTAL_BUDGET: Final = 4000

USER_URL: Final = "https://vrchat.com/home/user/"
GROUP_URL: Final = "https://vrchat.com/home/group/"

FAMILY_COLOURS: Final[Mapping[str, int]] = {
    "requests": 0x3498DB,  # blue
    "members": 0x2ECC71,  # green
    "moderation": 0xE74C3C,  # red
    "roles": 0x9B59B6,  # purple
    "invites": 0x1ABC9C,  # teal
    "posts": 0xF1C40F,  # yellow
    "instances": 0xE67E22,  # orange
    "settings": 0x607D8B,  # blue grey
    "other": 0x95A5A6,  # grey
}
# Shown with the family name as the embed's author line, so the kind of event reads at a glance.
FAMILY_ICONS: Final[Mapping[str, str]] = {
    "requests": "📨",
    "members": "👥",
    "moderation": "🔨",
    "roles": "🎭",
    "invites": "✉️",
    "posts": "📝",
    "instances": "🌐",
    "settings": "⚙️",
    "other": "📄",
}
GAP_COLOUR: Final = 0xD35400

# --- embed pieces ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # already safe
    value: str  # already safe
    inline: bool = True


FamilyRenderer = Callable[[StoredEntry], list[Field]]


def _data(entry: StoredEntry) -> Mapping[str, Any]:
    return entry.data if isinstance(entry.data, Mapping) else {}


def _is_change(value: Any) -> bool:
    return isinstance(value, Mapping) and ("old" in value or "new" in value)


def _plain(entry: StoredEntry, key: str) -> Any:
    """data[key] when it is a plain value (not an {old, new} change), else None."""
    value = _data(entry).get(key)
    return None if _is_change(value) else value


def _id_link(ref: object) -> str:
    """A user or group id as a profile link; anything else (locations, role ids) as inert text."""
    if not isinstance(ref, str) or not ref:
        return safe_text(ref, VALUE_CLIP, single_line=True)
    label = safe_text(ref, NAME_CLIP, single_line=True)
    # Only ids that match the strict patterns reach a URL, so nothing user-made ends up in a link.
    if is_user_id(ref):
        return f"[{label}]({USER_URL}{ref})"
    if GROUP_ID_RE.match(ref):
        return f"[{label}]({GROUP_URL}{ref})"
    return safe_text(ref, VALUE_CLIP, single_line=True)


def _actor_field(entry: StoredEntry) -> Field | None:
    if not entry.actor_id and not entry.actor_display_name:
        return None
    name = safe_text(entry.actor_display_name or entry.actor_id, NAME_CLIP, single_line=True)
    if entry.actor_id and is_user_id(entry.actor_id):
        return Field("Actor", f"[{name}]({USER_URL}{entry.actor_id})")
    if entry.actor_id and entry.actor_display_name and entry.actor_id != entry.actor_display_name:
        # System actors (vrc_admin for vote kicks, vrc_system for purchases) have no profile page.
        return Field("Actor", f"{name} ({safe_text(entry.actor_id, NAME_CLIP, single_line=True)})")
    return Field("Actor", name)


def _optional(name: str, value: Any, *, inline: bool = True, limit: int = VALUE_CLIP) -> list[Field]:
    if value is None or value == "" or value == []:
        return []
    return [Field(name, safe_text(value, limit), inline)]


def _change_fields(entry: StoredEntry) -> list[Field]:
    """{"field": {"old": a, "new": b}} entries as "a → b", the first few keys only."""
    changes = [(str(k), v) for k, v in _data(entry).items() if _is_change(v)]
    fields = []
    for key, change in changes[:MAX_CHANGES]:
        old, new = (safe_text(change.get(side), CHANGE_SIDE_CLIP) for side in ("old", "new"))
        fields.append(Field(safe_text(key, NAME_CLIP, single_line=True), f"{old} → {new}", inline=False))
    if len(changes) > MAX_CHANGES:
        rest = ", ".join(key for key, _ in changes[MAX_CHANGES:])
        fields.append(Field("More changes", safe_text(rest, VALUE_CLIP), inline=False))
    return fields


# --- one renderer per family: the fields only that family's entries carry -------------------------


def _render_requests(entry: StoredEntry) -> list[Field]:
    return []  # actor (the requester or the moderator) and target (the user) say it all


def _render_members(entry: StoredEntry) -> list[Field]:
    return []  # member updates (manager notes, ...) arrive as {old, new} changes


def _render_moderation(entry: StoredEntry) -> list[Field]:
    # Instance kicks and warns carry the instance in data.location; bans carry nothing.
    return _optional("Instance", _plain(entry, "location"), inline=False)


def _render_roles(entry: StoredEntry) -> list[Field]:
    role = _plain(entry, "roleName") or _plain(entry, "name")
    fields = _optional("Role", role)
    if _plain(entry, "isPurchase"):
        fields.append(Field("Source", "purchase"))
    return fields + _optional("Permissions", _plain(entry, "permissions"), inline=False, limit=300)


def _render_invites(entry: StoredEntry) -> list[Field]:
    return []


def _render_posts(entry: StoredEntry) -> list[Field]:
    # A post's targetId is the notification (not_…); the post itself is in data.
    return [
        *_optional("Title", _plain(entry, "title"), inline=False, limit=200),
        *_optional("Text", _plain(entry, "text"), inline=False, limit=300),
        *_optional("Visibility", _plain(entry, "visibility") or _plain(entry, "accessType")),
    ]


def _render_instances(entry: StoredEntry) -> list[Field]:
    # VRChat's instance events target the location; link it the way /vrc instances does.
    location = parse_location(entry.target_id)
    url = launch_url(*location) if location else None
    return [
        *([Field("Instance", f"[Open in VRChat]({url})")] if url else []),
        *_optional("Access", _plain(entry, "groupAccessType")),
        *_optional("Announcement", _plain(entry, "title"), inline=False, limit=200),
        *_optional("Message", _plain(entry, "message"), inline=False, limit=300),
    ]


def _render_settings(entry: StoredEntry) -> list[Field]:
    fields = _optional("Name", _plain(entry, "name"))  # galleries
    for key, label in (("transferTargetId", "New owner"), ("oldOwnerId", "Previous owner")):
        if isinstance(ref := _plain(entry, key), str) and ref:
            fields.append(Field(label, _id_link(ref)))
    return fields


def _render_other(entry: StoredEntry) -> list[Field]:
    # An unknown type: show its plain data verbatim (changes are rendered separately) so a
    # moderator can still tell what happened.
    plain = {k: v for k, v in _data(entry).items() if not _is_change(v)}
    if not plain and entry.data is not None and not isinstance(entry.data, Mapping):
        return _optional("Data", entry.data, inline=False, limit=300)
    return _optional("Data", plain or None, inline=False, limit=300)


FAMILY_RENDERERS: Final[Mapping[str, FamilyRenderer]] = {
    "requests": _render_requests,
    "members": _render_members,
    "moderation": _render_moderation,
    "roles": _render_roles,
    "invites": _render_invites,
    "posts": _render_posts,
    "instances": _render_instances,
    "settings": _render_settings,
    "other": _render_other,
}


# --- assembly -------------------------------------------------------------------------------------


def title_for(event_type: str) -> str:
    known = EVENT_TITLES.get(event_type)
    if known is not None:
        return known
    family = family_of(event_type)
    prefix = "Unrecognised event" if family == OTHER else f"{family.capitalize()} event"
    return clip(f"{prefix}: {safe_text(event_type, 200, single_line=True)}", TITLE_LIMIT)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _utc_text(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _description(entry: StoredEntry) -> str:
    text = safe_text(entry.description, DESCRIPTION_CLIP) if entry.description else ""
    if entry.discord_actor_name or entry.discord_actor_id:
        # Plain name, never <@id>: the feed must not ping the moderator who acted.
        who = entry.discord_actor_name or f"Discord user {entry.discord_actor_id}"
        line = f"by {safe_text(who, NAME_CLIP, single_line=True)} via GroupBridge"
        text = f"{text}\n\n{line}" if text else line
    return text


def _footer(entry: StoredEntry, delayed: bool) -> str:
    parts = [entry.id, entry.event_type]
    if delayed:
        parts.insert(0, f"⏱ delayed, originally {_utc_text(entry.created_at)}")
    return plain_line(" · ".join(str(p) for p in parts), 300)


def _add_fields(embed: discord.Embed, fields: list[Field]) -> None:
    """Add fields in order while they fit the field count and the total budget."""
    shown = 0
    for i, field in enumerate(fields[:MAX_FIELDS]):
        name = clip(field.name or "—", FIELD_NAME_LIMIT)
        value = clip(field.value or "—", min(FIELD_VALUE_LIMIT, VALUE_CLIP * 2))
        if embed_size(embed) + text_units(name) + text_units(value) > TOTAL_BUDGET:
            break
        embed.add_field(name=name, value=value, inline=field.inline)
        shown = i + 1
    if shown < len(fields) and len(embed.fields) < FIELD_COUNT_LIMIT:
        embed.add_field(name="…", value=f"{len(fields) - shown} more not shown", inline=False)


def render_entry(
    entry: StoredEntry, *, delayed: bool = False, group_name: str | None = None
) -> discord.Embed:
    """The feed embed for one audit entry. `delayed` marks an entry posted long after it happened."""
    family = family_of(entry.event_type)
    embed = discord.Embed(
        title=clip(title_for(entry.event_type), TITLE_LIMIT),
        description=_description(entry) or None,
        colour=FAMILY_COLOURS.get(family, FAMILY_COLOURS[OTHER]),
        timestamp=_aware(entry.created_at),
    )
    embed.set_author(name=f"{FAMILY_ICONS.get(family, FAMILY_ICONS[OTHER])} {family.capitalize()}")
    fields: list[Field] = []
    if group_name:
        fields.append(Field("Group", _named_group_link(group_name, entry.group_id)))
    if (actor := _actor_field(entry)) is not None:
        fields.append(actor)
    if entry.target_id:
        fields.append(Field("Target", _id_link(entry.target_id)))
    try:
        fields += FAMILY_RENDERERS.get(family, _render_other)(entry)
    except Exception:  # data shapes are VRChat's and undocumented: fall back, keep the feed going
        fields += _render_other(entry)
    fields += _change_fields(entry)
    embed.set_footer(text=_footer(entry, delayed))
    _add_fields(embed, fields)
    return embed


def render_outbox_item(item: OutboxItem, *, group_name: str | None = None) -> discord.Embed:
    """Adapter for the outbox worker: renders the row's entry, delayed as the row says (or the notice
    that stands in for it, when it was set aside)."""
    if item.set_aside is not None:
        return render_set_aside_notice(item.entry, item.set_aside)
    return render_entry(item.entry, delayed=item.delayed, group_name=group_name)


def _named_group_link(name: str, group_id: str) -> str:
    label = safe_text(name, NAME_CLIP, single_line=True)
    return f"[{label}]({GROUP_URL}{group_id})" if GROUP_ID_RE.match(group_id) else label


def render_gap_notice(group_id: str, start: datetime, end: datetime, reason: str) -> discord.Embed:
    """A visible warning that the audit entries between `start` and `end` could not be fetched."""
    start, end = _aware(start), _aware(end)

    def when(moment: datetime) -> str:  # Discord shows <t:…> in the reader's time zone; UTC as text
        return f"<t:{int(moment.timestamp())}:f> ({_utc_text(moment)})"

    description = (
        f"Audit log entries between {when(start)} and {when(end)} could not be fetched, so they are "
        "missing from this feed. Check VRChat's own audit log for that period.\n\n"
        f"Reason: {safe_text(reason or 'unknown', 500)}"
    )
    embed = discord.Embed(
        title="⚠ Gap in the audit log", description=description, colour=GAP_COLOUR, timestamp=end
    )
    embed.add_field(name="Group", value=_id_link(group_id) or "—", inline=False)
    embed.set_footer(text=plain_line(f"gap · {group_id}", 300))
    return embed


SET_ASIDE_COLOUR: Final = 0xC0392B
_SET_ASIDE_WHY: Final[Mapping[str, str]] = {
    "parse": "could not be read",
    "store": "could not be stored as it is",
    "render": "could not be shown",
    "send": "was refused by Discord",
}


def render_set_aside_notice(entry: StoredEntry, aside: SetAside) -> discord.Embed:
    """The short notice posted in place of an entry that was set aside (bot.store.set_aside).

    Built only from the entry's id, type and time and the reason, each made inert and clipped, so it
    goes out where the entry could not; the footer carries the audit id like any entry's does.
    """
    why = _SET_ASIDE_WHY.get(aside.stage, "could not be posted")
    description = (
        f"This audit log entry {why}, so GroupBridge keeps it in its database with the reason instead "
        "of showing it here. VRChat's own audit log has it as it is.\n\n"
        f"Reason: {safe_text(aside.reason or 'unknown', 300)}"
    )
    embed = discord.Embed(
        title="⚠ Audit entry set aside",
        description=description,
        colour=SET_ASIDE_COLOUR,
        timestamp=_aware(entry.created_at),
    )
    embed.add_field(name="Audit ID", value=safe_text(entry.id, 250, single_line=True), inline=False)
    if entry.event_type and entry.event_type != UNKNOWN_EVENT_TYPE:
        embed.add_field(name="Type", value=safe_text(entry.event_type, 120, single_line=True))
    embed.set_footer(text=plain_line(f"{entry.id} · set aside", 300))
    return embed


def embed_size(embed: discord.Embed) -> int:
    """The characters Discord counts towards the 6,000 total, in UTF-16 units (never undercounts)."""
    parts = [embed.title, embed.description, embed.footer.text, embed.author.name]
    parts += [text for field in embed.fields for text in (field.name, field.value)]
    return sum(text_units(p) for p in parts if p)
