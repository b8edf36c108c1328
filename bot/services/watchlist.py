"""Watchlists: per binding, VRChat groups whose members' join requests get flagged on the card.

Admins only (Manage Server), and private to the binding: a server never sees, changes or is flagged
by another server's list, even for the same VRChat group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace

from bot.requests.model import SUMMARY_NAMES, UNAVAILABLE, GroupSummary, WatchHit
from bot.requests.reconcile import CardChange
from bot.services.access import Access
from bot.services.common import ActionLog, Actor, InvalidInput, NotFoundError
from bot.services.group_refs import group_id_of, group_ref
from bot.store import Binding, DuplicateWatchError, WatchEntry
from bot.store.ports import WatchlistReader, Watchlists
from bot.store.watchlist import NOTE_MAX
from bot.vrchat import Forbidden, VRChatAPI, VRChatError
from bot.vrchat.models import UserGroup

log = logging.getLogger(__name__)

MAX_ENTRIES = 100
GROUPS_TIMEOUT = 15.0  # seconds for GET /users/{id}/groups when a card is posted


class WatchlistService:
    def __init__(self, client: VRChatAPI, store: Watchlists, access: Access, actions: ActionLog) -> None:
        self._client = client
        self._store = store
        self._access = access
        self._actions = actions

    async def add(
        self, actor: Actor, guild_id: int, group: str | None, watched: str, note: str = ""
    ) -> WatchEntry:
        ref = group_ref(watched)
        note = " ".join(note.split())
        if len(note) > NOTE_MAX:
            raise InvalidInput(f"A note is at most {NOTE_MAX} characters (this one has {len(note)}).")
        binding = await self._access.admin_binding(actor, guild_id, group)
        watched_id = await group_id_of(self._client, ref)  # a short code: VRChat's search, only now
        if len(await self._store.list_watch([binding.id])) >= MAX_ENTRIES:
            raise InvalidInput(f"A watchlist holds at most {MAX_ENTRIES} groups; remove one first.")
        try:
            entry = await self._store.add_watch(binding.id, watched_id, note, actor.user_id)
        except DuplicateWatchError:
            raise InvalidInput(f"{watched_id} is already on this server's watchlist.") from None
        await self._actions.record(
            actor, binding.group_id, "watchlist.add", target_id=watched_id, details={"note": note}
        )
        return entry

    async def remove(self, actor: Actor, guild_id: int, group: str | None, watched: str) -> None:
        ref = group_ref(watched)
        binding = await self._access.admin_binding(actor, guild_id, group)
        watched_id = await group_id_of(self._client, ref)
        if not await self._store.remove_watch(binding.id, watched_id):
            raise NotFoundError(f"{watched_id} is not on this server's watchlist.")
        await self._actions.record(actor, binding.group_id, "watchlist.remove", target_id=watched_id)

    async def list(self, actor: Actor, guild_id: int, group: str | None) -> tuple[Binding, list[WatchEntry]]:
        binding = await self._access.admin_binding(actor, guild_id, group)
        return binding, await self._store.list_watch([binding.id])


async def user_groups(client: VRChatAPI, user_id: str) -> list[UserGroup] | None:
    """The requester's groups, or None when VRChat could not say (error, timeout). Never raises."""
    try:
        return await asyncio.wait_for(client.list_user_groups(user_id), timeout=GROUPS_TIMEOUT)
    except Forbidden:
        return []  # a hidden list reads the same as an empty one
    except (VRChatError, TimeoutError) as exc:
        log.info("could not list the groups of %s for a card: %s", user_id, exc)
    except Exception:
        log.exception("listing the groups of %s for a card failed", user_id)
    return None


async def watch_for_channel(store: WatchlistReader, group_id: str, channel_id: int) -> list[WatchEntry]:
    """The watchlists that apply to a card in this requests channel: those of the group's bindings in
    the server(s) owning the channel. Never another server's."""
    bindings = await store.list_bindings(group_id=group_id)
    guilds = {b.guild_id for b in bindings if b.requests_channel_id == channel_id}
    return await store.list_watch([b.id for b in bindings if b.guild_id in guilds])


def summarise(groups: list[UserGroup] | None, watch: Iterable[WatchEntry]) -> GroupSummary:
    if groups is None:
        return UNAVAILABLE
    notes = {w.group_id: w.note for w in watch}
    names = [g.name or g.group_id or "(unnamed group)" for g in groups]
    hits = tuple(
        WatchHit(g.group_id, g.name or g.group_id, notes[g.group_id])
        for g in groups
        if g.group_id and g.group_id in notes
    )
    return GroupSummary(True, len(groups), tuple(names[:SUMMARY_NAMES]), hits)


async def with_group_summaries(
    client: VRChatAPI, store: WatchlistReader, changes: list[CardChange]
) -> list[CardChange]:
    """Cards about to be posted get the requester's groups (one lookup per requester) and the
    watchlist hits of the server each card is posted in."""
    groups_of: dict[str, list[UserGroup] | None] = {}
    out: list[CardChange] = []
    for change in changes:
        if change.kind != "post":
            out.append(change)
            continue
        if change.user_id not in groups_of:
            groups_of[change.user_id] = await user_groups(client, change.user_id)
        watch = await watch_for_channel(store, change.group_id, change.channel_id)
        out.append(replace(change, groups=summarise(groups_of[change.user_id], watch)))
    return out
