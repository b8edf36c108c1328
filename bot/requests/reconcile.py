"""Keeping join-request cards in step with VRChat: new requests to post, vanished ones to close.

A request can leave VRChat's pending list without any click in Discord: a moderator handled it in
VRChat itself, or the user withdrew it. The audit log says which and who; the mirrored copy in the
store is asked first, VRChat's own log only when the mirror has nothing (yet).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot import crashpoints
from bot.links.requesters import DiscordLink, MemberLookup, discord_links
from bot.requests.claims import ClaimSettler, OthersNow, settle_claims
from bot.requests.model import GroupSummary, JoinRequest, build_request
from bot.services.common import Clock, Where
from bot.services.users import UserDirectory
from bot.store import NO_CHANNEL, Binding, CardState, RequestCard
from bot.store.feature_ports import RequestCards
from bot.store.leases import UNFENCED, LeaseGuard, LeaseLost
from bot.store.ports import EntrySearch, LinkLookup
from bot.vrchat import VRChatAPI, VRChatError
from bot.vrchat.ids import is_user_id
from bot.vrchat.models import GroupMember, User

log = logging.getLogger(__name__)

REQUEST_EVENTS: dict[str, CardState] = {
    "group.request.accept": "accepted",
    "group.request.reject": "rejected",
    "group.request.block": "blocked",
    "group.request.withdraw": "gone",
}
# A handled card whose request is still listed this long afterwards is reopened even when VRChat
# gives no request time to compare with (the decision evidently never reached VRChat).
STALE_DECISION = timedelta(minutes=10)
# How far before a card's creation an audit entry may lie and still explain the card's end.
LOOKBACK = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class VRChatOutcome:
    state: CardState
    by: str | None
    at: datetime | None
    where: Where = "VRChat"
    by_discord_id: int | None = None


GONE = VRChatOutcome("gone", None, None)


@dataclass(frozen=True, slots=True)
class CardChange:
    """One thing for the card poller to do in Discord.

    kind "post": post a new card for `request` in `channel_id`, then call Store.set_card_message.
    kind "update": edit message `message_id` to show the outcome (state, handled_*; bot.requests.cards).
    `groups` (posts only): the requester's groups and this server's watchlist hits, when computed.
    A post whose state is not "pending" was decided by a rule: post it closed, without buttons.
    """

    kind: Literal["post", "update"]
    group_id: str
    user_id: str
    channel_id: int
    message_id: int | None
    state: CardState
    request: JoinRequest | None = None
    display_name: str | None = None
    handled_by: str | None = None
    handled_where: Where | None = None
    handled_at: datetime | None = None
    groups: GroupSummary | None = None
    rule_note: str | None = None  # what the request rules did or would have done (posts only)
    discord_link: DiscordLink | None = None  # the requester's linked Discord member (posts only)


def _closing(
    card: RequestCard, state: CardState, by: str | None, where: Where | None, at: datetime | None
) -> CardChange:
    """The edit that shows the card's message closed: `state`, decided by `by` in `where` at `at`."""
    return CardChange(
        "update",
        card.group_id,
        card.user_id,
        card.channel_id,
        card.message_id,
        state,
        display_name=card.display_name,
        handled_by=by,
        handled_where=where,
        handled_at=at,
    )


async def with_discord_links(
    store: LinkLookup, members: MemberLookup | None, bindings: Iterable[Binding], changes: list[CardChange]
) -> list[CardChange]:
    """Cards about to be posted get the requester's linked Discord member as the card's server sees
    them (bot.links): in this server, not in it, not linked, or unknown when the lookup failed."""
    guild_of = {b.requests_channel_id: b.guild_id for b in bindings if b.requests_channel_id}
    wanted = {
        (c.user_id, guild_of[c.channel_id]) for c in changes if c.kind == "post" and c.channel_id in guild_of
    }
    if not wanted:
        return changes
    links = await discord_links(store, members, wanted)
    return [
        replace(c, discord_link=links[(c.user_id, guild_of[c.channel_id])])
        if c.kind == "post" and c.channel_id in guild_of
        else c
        for c in changes
    ]


def outcome_since(cards: Iterable[RequestCard], now: datetime) -> datetime:
    """How far back the audit log may explain how these cards' request ended.

    From the moment the user asked (VRChat's request time, when a card recorded it), else a little
    before the first card was made; older entries are about an earlier request of the same user.
    """
    cards = list(cards)
    asked = [c.requested_at for c in cards if c.requested_at is not None]
    if asked:
        return min(asked)
    return min((c.created_at for c in cards), default=now) - LOOKBACK


async def vrchat_outcome(
    client: VRChatAPI,
    store: EntrySearch,
    group_id: str,
    user_id: str,
    since: datetime,
    guard: LeaseGuard = UNFENCED,
) -> VRChatOutcome:
    """How a request that left VRChat's pending list ended, and who ended it, as far as is known."""
    page = await store.search_entries(
        group_id=group_id, target_id=user_id, event_types=list(REQUEST_EVENTS), since=since, limit=5
    )
    for entry in page.entries:
        if entry.event_type in REQUEST_EVENTS:
            if entry.discord_actor_name:
                return VRChatOutcome(
                    REQUEST_EVENTS[entry.event_type],
                    entry.discord_actor_name,
                    entry.created_at,
                    "Discord",
                    entry.discord_actor_id,
                )
            return VRChatOutcome(
                REQUEST_EVENTS[entry.event_type], entry.actor_display_name or entry.actor_id, entry.created_at
            )
    await guard.check()
    try:
        fresh = await client.get_audit_logs(
            group_id, n=10, start_date=since, event_types=list(REQUEST_EVENTS), target_ids=[user_id]
        )
    except VRChatError as exc:  # no audit permission, rate limit...: say less, not fail
        log.info("could not look up how the join request of %s ended: %s", user_id, exc)
        return GONE
    for item in fresh.results:
        if item.event_type in REQUEST_EVENTS and item.target_id == user_id:
            return VRChatOutcome(
                REQUEST_EVENTS[item.event_type], item.actor_display_name or item.actor_id, item.created_at
            )
    return GONE


class CardReconciler:
    def __init__(
        self,
        client: VRChatAPI,
        store: RequestCards,
        users: UserDirectory,
        clock: Clock,
        settle: ClaimSettler | None = None,
    ) -> None:
        self._client = client
        self._settle = settle  # a claim whose process is gone (bot.requests.claims)
        self._store = store
        self._users = users
        self._clock = clock
        self._reclosed: set[str] = set()  # groups whose cards left open this process closed again
        self._unusable: set[tuple[str, str]] = set()  # requests without a usable user id, logged once

    async def _all_pending(self, group_id: str, guard: LeaseGuard) -> list[GroupMember]:
        """Every pending request VRChat lists whose requester can be acted on (a valid user id:
        the buttons and every later call need one); others are logged once and left alone."""
        out: list[GroupMember] = []
        offset = 0
        while True:
            await guard.check()
            page = await self._client.list_join_requests(group_id, n=100, offset=offset)
            for request in page:
                if is_user_id(request.user_id):
                    out.append(request)
                elif (group_id, request.user_id) not in self._unusable:
                    self._unusable.add((group_id, request.user_id))
                    log.warning(
                        "Ignoring a join request in %s with no usable user id: %r",
                        group_id,
                        request.user_id[:100],
                    )
            if len(page) < 100:
                return out
            offset += len(page)

    async def reconcile(
        self,
        group_id: str,
        channels: list[int],
        guard: LeaseGuard = UNFENCED,
        *,
        new_tenure: bool = False,
        others: OthersNow | None = None,
    ) -> list[CardChange]:
        """`guard`: the group's lease, asked before each VRChat call and each write that decides
        something; LeaseLost (raised) once another process holds the group. `new_tenure`: this process
        has just (re)gained the group, so cards another holder left open are looked at again.
        `others`: the other live processes; with it, claims whose process is gone are settled
        (bot.requests.claims)."""
        # VRChat first, cards second: a click landing in between has then already claimed its card,
        # so it is neither reopened nor closed as "handled elsewhere" here.
        pending = {r.user_id: r for r in await self._all_pending(group_id, guard)}
        now = self._clock()
        changes: list[CardChange] = []
        cards = await self._cards(group_id)
        settled = {}
        if others is not None and self._settle is not None:
            settled = await settle_claims(self._settle, pending, cards.values(), others, guard)
        if settled:
            cards = await self._cards(group_id)
            decided = [c for c in cards.values() if settled.get(c.user_id) == "decided"]
            changes += self._reclose(decided, ())
        for request in pending.values():
            # One request that fails (a profile or name the database refuses, a bug on odd data) is
            # logged; the others still get their cards this round, and it is tried again next round.
            try:
                changes += await self._post_if_needed(group_id, request, channels, cards, now, guard)
            except (VRChatError, LeaseLost):
                raise  # VRChat's trouble, or a lost lease, is the whole group's: logged once
            except Exception:
                log.exception(
                    "Could not prepare the card for join request %s in %s", request.user_id, group_id
                )
        vanished = sorted({c.user_id for c in cards.values() if c.pending and c.user_id not in pending})
        for user_id in vanished:
            try:
                changes += await self._close(
                    group_id, user_id, [c for c in cards.values() if c.user_id == user_id], guard
                )
            except (VRChatError, LeaseLost):
                raise
            except Exception:
                log.exception("Could not close the card of join request %s in %s", user_id, group_id)
        if new_tenure or group_id not in self._reclosed:
            self._reclosed.add(group_id)
            closing = {(c.user_id, c.channel_id) for c in changes if c.kind == "update"}
            changes += [
                c for c in self._reclose(cards.values(), pending) if (c.user_id, c.channel_id) not in closing
            ]
        return changes

    async def _cards(self, group_id: str) -> dict[tuple[str, int], RequestCard]:
        return {(c.user_id, c.channel_id): c for c in await self._store.list_cards(group_id)}

    def _reclose(self, cards: Iterable[RequestCard], pending: Collection[str]) -> list[CardChange]:
        """A crash between claiming a card and editing its message (or between posting the card and
        storing its id), or the group's lease moving to another process in between, leaves the
        message open with buttons while the database says handled, and nothing edits it later. So the
        first round of a process, and its first round of each tenure of the group's lease, closes again
        the handled cards whose message is not known to be closed (RequestCard.left_open: the poster
        marks each card once its message shows it closed) and whose request VRChat no longer lists."""
        return [
            _closing(card, card.state, card.handled_by_name, card.handled_where, card.handled_at)
            for card in cards
            if card.left_open and card.user_id not in pending
        ]

    async def _post_if_needed(
        self,
        group_id: str,
        request: GroupMember,
        channels: list[int],
        cards: dict[tuple[str, int], RequestCard],
        now: datetime,
        guard: LeaseGuard,
    ) -> list[CardChange]:
        user_id = request.user_id
        mine = [c for (uid, _), c in cards.items() if uid == user_id]
        # Reopen cards decided before this request was made (asked again), or decided so long ago
        # that the decision evidently never reached VRChat.
        handled_before = max(request.created_at or now - STALE_DECISION, now - STALE_DECISION)
        if any(not c.pending and c.handled_at is not None and c.handled_at < handled_before for c in mine):
            # The old cards start over, as new cards without a message.
            await guard.check()
            await self._store.reopen_cards(group_id, user_id, handled_before=handled_before)
            mine = await self._store.cards_for(group_id, user_id)
        by_channel = {c.channel_id: c for c in mine}
        to_post = [
            ch
            for ch in channels
            if ch != NO_CHANNEL
            and (ch not in by_channel or (by_channel[ch].pending and by_channel[ch].message_id is None))
        ]
        if not to_post:
            return []
        fallback = request.user.display_name if request.user else None
        await guard.check()
        try:
            user = await self._users.profile(user_id, fallback)
            shown = build_request(group_id, request, user, now.date())
        except VRChatError as exc:  # the card still goes up, saying so
            log.info("could not fetch the profile of %s for a card: %s", user_id, exc)
            stub = build_request(
                group_id, request, User(id=user_id, display_name=fallback or user_id), now.date()
            )
            shown = replace(stub, profile_available=False)
        out = []
        for channel_id in to_post:
            await guard.check()  # the profile can take a while: the group may have moved meanwhile
            await self._store.upsert_card(
                group_id,
                user_id,
                channel_id,
                display_name=shown.display_name,
                requested_at=request.created_at,
            )
            crashpoints.reached("cards.after_upsert")
            out.append(
                CardChange(
                    "post",
                    group_id,
                    user_id,
                    channel_id,
                    None,
                    "pending",
                    request=shown,
                    display_name=shown.display_name,
                )
            )
        return out

    async def _close(
        self, group_id: str, user_id: str, cards: list[RequestCard], guard: LeaseGuard
    ) -> list[CardChange]:
        since = outcome_since(cards, self._clock())
        outcome = await vrchat_outcome(self._client, self._store, group_id, user_id, since, guard)
        await guard.check()
        claimed = await self._store.claim_card(
            group_id,
            user_id,
            outcome.state,
            by_discord_id=outcome.by_discord_id,
            by_name=outcome.by,
            where=outcome.where,
            at=outcome.at,
        )
        if not claimed:  # a click won meanwhile; its own reply updates the cards
            return []
        crashpoints.reached("cards.after_claim")
        return [
            _closing(card, outcome.state, outcome.by, outcome.where, outcome.at)
            for card in cards
            # Without a message id too: the poster then looks for the card in the channel.
            if card.pending and card.channel_id != NO_CHANNEL
        ]
