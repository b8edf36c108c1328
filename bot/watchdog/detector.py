"""Which actor is on a runaway: pure functions over mirrored audit entries, no Discord, no database.

An *episode* is one actor's burst: it starts when, within `window`, the actor did more kicks (or
bans, or role removals) than the binding allows, and it lasts as long as the actor keeps acting
with less than `window` between two counted entries. A burst therefore alerts once, however many
entries it has; only after the actor has been quiet for a whole window can a new episode begin.

The bot's own actions done for a Discord moderator are the moderator's: the mirror credits them
(bot.feed.attribution), and such an entry counts against that Discord moderator, not the bot account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from bot.events import ACTION_EVENT_TYPES
from bot.store import StoredEntry

#: What is counted, per kind: the audit event types VRChat writes for it.
COUNTED_TYPES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "kicks": ("group.member.remove", "group.instance.kick"),
        "bans": ACTION_EVENT_TYPES["member.ban"],
        "role_removals": ("group.member.role.unassign",),
    }
)
KINDS: Final[tuple[str, ...]] = tuple(COUNTED_TYPES)
KIND_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {"kicks": "kicks", "bans": "bans", "role_removals": "role removals"}
)
_KIND_OF: Final[Mapping[str, str]] = {t: kind for kind, types in COUNTED_TYPES.items() for t in types}


def counted_types() -> list[str]:
    return sorted(_KIND_OF)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """More than `limits[kind]` of a kind within `window` starts an episode."""

    window: timedelta
    limits: Mapping[str, int]

    def exceeded(self, counts: Mapping[str, int]) -> bool:
        return any(counts.get(kind, 0) > limit for kind, limit in self.limits.items())


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an entry is counted against: a VRChat account, or the Discord moderator the bot acted for."""

    key: str
    vrchat_id: str | None
    discord_id: int | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Counted:
    entry_id: str
    created_at: datetime
    kind: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class KnownEpisode:
    """The actor's latest stored episode (what new entries may extend)."""

    started_at: datetime
    last_entry_at: datetime
    entry_ids: tuple[str, ...]
    counts: Mapping[str, int]
    # The store keeps only the first ids of a long episode: then an entry up to last_entry_at that
    # is not among them may have been counted already, and is not counted again.
    ids_complete: bool = True


@dataclass
class Episode:
    actor: Actor
    started_at: datetime
    last_entry_at: datetime
    counts: Counter[str] = field(default_factory=Counter)
    entry_ids: list[str] = field(default_factory=list)
    new: bool = True
    changed: bool = True

    def add(self, item: Counted) -> None:
        self.entry_ids.append(item.entry_id)
        self.counts[item.kind] += 1
        self.last_entry_at = max(self.last_entry_at, item.created_at)
        self.changed = True


def actor_of(entry: StoredEntry) -> Actor | None:
    """Whom the entry counts against; None for an entry with no actor at all."""
    if entry.discord_actor_id is not None:
        return Actor(
            f"discord:{entry.discord_actor_id}", None, entry.discord_actor_id, entry.discord_actor_name
        )
    if entry.actor_id:
        return Actor(f"vrchat:{entry.actor_id}", entry.actor_id, None, entry.actor_display_name)
    return None


def counted(entries: Iterable[StoredEntry]) -> list[Counted]:
    """The entries that count, as (entry, kind, actor), oldest first."""
    out: list[Counted] = []
    for entry in entries:
        kind = _KIND_OF.get(entry.event_type)
        actor = actor_of(entry)
        if kind is not None and actor is not None:
            out.append(Counted(entry.id, entry.created_at, kind, actor))
    return sorted(out, key=lambda c: (c.created_at, c.entry_id))


def detect_actor(
    items: Sequence[Counted], known: KnownEpisode | None, thresholds: Thresholds
) -> list[Episode]:
    """One actor's episodes among `items` (oldest first): new ones, and `known` if they extend it.

    Idempotent: entries already in `known`, and entries older than its start (judged before it
    began), change nothing, so running it again over the same entries after a crash adds nothing.
    """
    window = thresholds.window
    episodes: list[Episode] = []
    current: Episode | None = None
    if known is not None:
        current = Episode(
            actor=items[0].actor if items else Actor("", None, None, None),
            started_at=known.started_at,
            last_entry_at=known.last_entry_at,
            counts=Counter(known.counts),
            entry_ids=list(known.entry_ids),
            new=False,
            changed=False,
        )
    seen = set(known.entry_ids) if known is not None else set()
    chain: list[Counted] = []  # entries since the last quiet window, not in an episode (yet)
    for item in items:
        if item.entry_id in seen:
            continue
        seen.add(item.entry_id)
        if known is not None and item.created_at < known.started_at:
            continue
        if known is not None and not known.ids_complete and item.created_at <= known.last_entry_at:
            continue
        if current is not None and item.created_at - current.last_entry_at < window:
            current.add(item)
            continue
        if current is not None:
            if current.changed:
                episodes.append(current)
            current = None
        if chain and item.created_at - chain[-1].created_at >= window:
            chain = []
        chain.append(item)
        inside = [c for c in chain if item.created_at - c.created_at < window]
        counts = Counter(c.kind for c in inside)
        if thresholds.exceeded(counts):
            current = Episode(item.actor, inside[0].created_at, item.created_at)
            for c in inside:
                current.add(c)
            chain = []
    if current is not None and current.changed:
        episodes.append(current)
    return episodes


def detect(
    items: Sequence[Counted], known: Mapping[str, KnownEpisode], thresholds: Thresholds
) -> list[Episode]:
    """Every actor's episodes among `items` (see detect_actor), actors in key order."""
    by_actor: dict[str, list[Counted]] = {}
    for item in items:
        by_actor.setdefault(item.actor.key, []).append(item)
    found: list[Episode] = []
    for key in sorted(by_actor):
        mine = by_actor[key]
        for episode in detect_actor(mine, known.get(key), thresholds):
            if not episode.new:
                episode.actor = mine[0].actor
            found.append(episode)
    return found
