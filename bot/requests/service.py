"""Join requests: list them, show one, decide one (first click wins), keep the cards in step.

First click wins, in two layers:
- in this process, a lock per (group, user) queues concurrent decisions on the same request, so the
  second one waits for the first to finish (VRChat call included) and then sees its result;
- across processes, the decision is claimed in the database with a conditional UPDATE of the
  request's cards (Store.claim_card: ``... WHERE state = 'pending'``) BEFORE VRChat is called.
  Only the caller whose UPDATE changed a row calls VRChat; the others get AlreadyHandled naming the
  winner. If the VRChat call then fails, the claim is released so the request can be decided again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from bot import crashpoints
from bot.links.requesters import MemberLookup
from bot.requests.claims import OthersNow, Settlement
from bot.requests.model import JoinRequest, build_request
from bot.requests.reconcile import (
    CardChange,
    CardReconciler,
    outcome_since,
    vrchat_outcome,
    with_discord_links,
)
from bot.services.access import Access
from bot.services.common import (
    ActionLog,
    Actor,
    AlreadyHandled,
    Clock,
    InvalidInput,
    KeyedLocks,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    checked_group_id,
)
from bot.services.rule_flow import RuleRunner
from bot.services.users import UserDirectory, require_user_id
from bot.services.watchlist import with_group_summaries
from bot.store import NO_CHANNEL, CardState, RequestCard
from bot.store.feature_ports import JoinRequestStore
from bot.store.leases import UNFENCED, LeaseGuard
from bot.vrchat import (
    BadRequest,
    Forbidden,
    NotFound,
    OutcomeUnknown,
    VRChatAPI,
    VRChatError,
)

log = logging.getLogger(__name__)

DecisionKind = Literal["accept", "reject", "block"]
STATE_OF: dict[str, CardState] = {"accept": "accepted", "reject": "rejected", "block": "blocked"}
DECISION_OF: dict[str, DecisionKind] = {"accepted": "accept", "rejected": "reject", "blocked": "block"}
# The membership status VRChat shows once each decision has been applied (reject leaves no record).
_STATUS_AFTER: dict[str, str | None] = {"accept": "member", "reject": None, "block": "userblocked"}
# A decision older than this, on a request VRChat still lists, may be redone (asked again, or lost).
REOPEN_GRACE = timedelta(seconds=60)
MAX_PAGE = 25


@dataclass(frozen=True, slots=True)
class Decision:
    group_id: str
    user_id: str
    display_name: str
    decision: DecisionKind
    state: CardState
    by_discord_id: int
    by_name: str
    at: datetime
    cards: tuple[RequestCard, ...]  # every card of the request, all now in `state`: edit their messages


class JoinRequestService:
    def __init__(
        self,
        client: VRChatAPI,
        store: JoinRequestStore,
        access: Access,
        users: UserDirectory,
        actions: ActionLog,
        clock: Clock,
        *,
        members: MemberLookup | None = None,
        claimer: Callable[[], str | None] = lambda: None,
    ) -> None:
        """`claimer`: this process's lease owner id (bot.leases), written on each claim it makes so
        that the card round can tell when the claim's process is gone (bot.requests.claims)."""
        self._client = client
        self._claimer = claimer
        self._store = store
        self._access = access
        self._users = users
        self._actions = actions
        self._clock = clock
        self._members = members
        self._locks: KeyedLocks[tuple[str, str]] = KeyedLocks()
        self._reconciler = CardReconciler(client, store, users, clock, settle=self.settle_claim)
        self._rules = RuleRunner(store, users, clock)

    async def card_closed(self, group_id: str, user_id: str, channel_id: int) -> None:
        """A click closed the request's card in this channel: the start-up pass may skip it. Not
        recorded (the database away) costs that pass one look at the card, so it is only logged."""
        try:
            await self._store.set_card_closed(group_id, user_id, channel_id)
        except Exception as exc:
            log.warning("Could not record that the card of %s in %s is closed: %s", user_id, group_id, exc)

    # ------------------------------------------------------------------ reading

    async def pending(
        self, group_id: str, *, offset: int = 0, limit: int = 10
    ) -> tuple[list[JoinRequest], bool]:
        """One page of pending requests, newest first, and whether there are more."""
        gid = checked_group_id(group_id)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"A page shows between 1 and {MAX_PAGE} requests.")
        if offset < 0:
            raise InvalidInput("The page offset cannot be negative.")
        page = await self._client.list_join_requests(gid, n=limit + 1, offset=offset)
        today = self._clock().date()
        shown = []
        for request in page[:limit]:
            fallback = request.user.display_name if request.user else None
            profile = await self._users.profile(request.user_id, fallback)
            shown.append(build_request(gid, request, profile, today))
        return shown, len(page) > limit

    async def fetch_request(self, group_id: str, user_id: str) -> JoinRequest:
        """The user's pending join request, read fresh from VRChat; NotFoundError when there is none."""
        gid, uid = checked_group_id(group_id), require_user_id(user_id)
        request = await self._client.get_group_member(gid, uid)
        if request is None or request.membership_status != "requested":
            name = await self._name(uid)
            raise NotFoundError(f"{name} has no pending join request in {self._access.group_label(gid)}.")
        fallback = request.user.display_name if request.user else None
        return build_request(gid, request, await self._users.profile(uid, fallback), self._clock().date())

    async def _name(self, user_id: str, cards: list[RequestCard] | None = None) -> str:
        for card in cards or ():
            if card.display_name:
                return card.display_name
        try:
            return await self._users.display_name(user_id)
        except (ServiceError, VRChatError):
            return user_id

    async def reconcile(
        self,
        group_id: str,
        guard: LeaseGuard = UNFENCED,
        *,
        new_tenure: bool = False,
        others: OthersNow | None = None,
    ) -> list[CardChange]:
        """For the card poller: cards to post for new requests, cards to close for vanished ones.

        `guard`: the group's lease, asked of the database before each step that calls VRChat or
        Discord or decides a request; LeaseLost once it has passed to another process, which then
        does the round instead. `new_tenure`: the first round since this process (re)gained the
        group: cards the previous holder claimed but did not edit are closed too. `others`: the other
        live processes, for claims whose process is gone (bot.requests.claims)."""
        gid = checked_group_id(group_id)
        try:
            self._access.require_allowed_group(gid)
        except PermissionDenied:
            log.warning("not reconciling join requests of %s: not in [[groups]] of config.toml", gid)
            return []
        bindings = await self._store.list_bindings(group_id=gid)
        channels = sorted({b.requests_channel_id for b in bindings if b.requests_channel_id})
        changes = await self._reconciler.reconcile(gid, channels, guard, new_tenure=new_tenure, others=others)
        await guard.check()
        changes = await with_group_summaries(self._client, self._store, changes)
        await guard.check()
        changes = await with_discord_links(self._store, self._members, bindings, changes)
        await guard.check()
        return await self._rules.run(changes, partial(self._decide_by_rule, guard))

    async def _decide_by_rule(
        self,
        guard: LeaseGuard,
        actor: Actor,
        group_id: str,
        user_id: str,
        decision: Literal["accept", "reject"],
        details: Mapping[str, Any],
    ) -> Decision:
        await guard.check()  # a rule decides only for the process that still holds the group
        return await self.decide(actor, group_id, user_id, decision, automated=details)

    # ------------------------------------------------------------------ deciding

    async def decide(
        self,
        actor: Actor,
        group_id: str,
        user_id: str,
        decision: DecisionKind,
        *,
        automated: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Accept, reject or block one request. The first click wins; the others get AlreadyHandled.

        `automated`: a rule decided (bot.services.rule_flow); its rule and values go to the action log.
        """
        if decision not in STATE_OF:
            raise InvalidInput("A join request can only be accepted, rejected or blocked.")
        gid, uid = checked_group_id(group_id), require_user_id(user_id)
        binding = await self._access.require_moderator(actor, gid)
        async with self._locks.hold((gid, uid)):
            await self._claim(actor, gid, uid, STATE_OF[decision], binding.requests_channel_id)
            crashpoints.reached("requests.after_claim")
            return await self._respond(actor, gid, uid, decision, automated or {})

    async def settle_claim(self, card: RequestCard, guard: LeaseGuard) -> Settlement:
        """A decision claimed in Discord whose process is gone, or is this one (bot.requests.claims):
        VRChat says what became of the request; nothing is sent to VRChat on the claim's behalf."""
        gid, uid = card.group_id, card.user_id
        decision = DECISION_OF.get(card.state)
        if decision is None or card.handled_by_discord_id is None:
            return "kept"
        async with self._locks.hold((gid, uid)):  # this process's own decision, still in flight, ends first
            if not any(
                c.state == card.state and c.handled_at == card.handled_at
                for c in await self._store.cards_for(gid, uid)
            ):
                return "kept"  # settled meanwhile
            await guard.check()
            status = await self._membership_status(gid, uid)
            if status == "unknown":
                return "kept"  # VRChat could not say: the next round asks again
            actor = Actor(card.handled_by_discord_id, card.handled_by_name or "", None, frozenset(), False)
            if status is not None and status == _STATUS_AFTER[decision]:
                details = {"display_name": card.display_name or uid, "confirmed_after_restart": "yes"}
                await self._actions.record(actor, gid, f"request.{decision}", target_id=uid, details=details)
                log.info(
                    "The %s of %s's join request in %s went through before its process stopped.",
                    decision,
                    uid,
                    gid,
                )
                return "decided"
            await guard.check()
            await self._store.release_claim(gid, uid, card.state, actor.user_id, handled_at=card.handled_at)
        if status == "requested":
            log.info(
                "Released the %s of %s's join request in %s: its process stopped before VRChat heard of it.",
                decision,
                uid,
                gid,
            )
            return "pending"
        return "ended"

    async def _claim(
        self, actor: Actor, group_id: str, user_id: str, state: CardState, channel_id: int | None
    ) -> None:
        if not await self._store.cards_for(group_id, user_id):
            # Decided before any card was posted (or without a requests channel): the claim still
            # needs a row to hold it.
            await self._store.upsert_card(group_id, user_id, channel_id or NO_CHANNEL)
        if await self._try_claim(actor, group_id, user_id, state):
            return
        now = self._clock()
        latest = _latest(await self._store.cards_for(group_id, user_id))
        if (
            latest is not None
            and latest.handled_at is not None
            and latest.handled_at < now - REOPEN_GRACE
            and await self._membership_status(group_id, user_id) == "requested"
        ):
            # VRChat lists the request again long after the last decision: asked again, or that
            # decision never arrived. Either way it is open for a new one.
            await self._store.reopen_cards(group_id, user_id, handled_before=now - REOPEN_GRACE)
            if await self._try_claim(actor, group_id, user_id, state):
                return
            latest = _latest(await self._store.cards_for(group_id, user_id))
        if latest is None:
            raise AlreadyHandled.describe(outcome="gone", by=None, when=None, where="Discord", now=now)
        raise AlreadyHandled.describe(
            outcome=latest.state,
            by=latest.handled_by_name,
            when=latest.handled_at,
            where=latest.handled_where or "Discord",
            now=self._clock(),
            by_discord_id=latest.handled_by_discord_id,
        )

    async def _try_claim(self, actor: Actor, group_id: str, user_id: str, state: CardState) -> bool:
        return await self._store.claim_card(
            group_id,
            user_id,
            state,
            by_discord_id=actor.user_id,
            by_name=actor.name,
            where="Discord",
            at=self._clock(),
            claimed_by=self._claimer(),
        )

    async def _membership_status(self, group_id: str, user_id: str) -> str | None:
        try:
            member = await self._client.get_group_member(group_id, user_id)
        except VRChatError:
            return "unknown"
        return member.membership_status if member else None

    async def _respond(
        self, actor: Actor, group_id: str, user_id: str, decision: DecisionKind, automated: Mapping[str, Any]
    ) -> Decision:
        state = STATE_OF[decision]
        action = f"request.{decision}"
        cards: list[RequestCard] = []
        name = user_id
        details = {"display_name": name, **automated}

        async def failed(exc: BaseException) -> None:
            await self._actions.record_failure(
                actor, group_id, action, exc, target_id=user_id, details=details
            )

        try:  # everything after the claim is inside: whatever fails releases it (except BaseException)
            cards = await self._store.cards_for(group_id, user_id)
            name = details["display_name"] = await self._name(user_id, cards)
            await self._client.respond_join_request(
                group_id, user_id, "accept" if decision == "accept" else "reject", block=decision == "block"
            )
        except (BadRequest, NotFound) as exc:
            await failed(exc)
            raise await self._gone(actor, group_id, user_id, state, cards) from None
        except OutcomeUnknown as exc:
            status = await self._membership_status(group_id, user_id)
            if status != _STATUS_AFTER[decision]:
                await self._store.release_claim(group_id, user_id, state, actor.user_id)
                await failed(exc)
                if status == "requested":
                    raise ServiceError(
                        "VRChat did not answer in time and the request is still pending; nothing changed, "
                        "try again."
                    ) from None
                raise
            details["confirmed_after_timeout"] = "yes"
        except BaseException as exc:
            await self._store.release_claim(group_id, user_id, state, actor.user_id)
            if isinstance(exc, VRChatError):
                await failed(exc)
            if isinstance(exc, Forbidden):
                raise PermissionDenied(
                    f"The bot's VRChat account may not answer join requests in "
                    f"{self._access.group_label(group_id)}; its group role needs the permission to manage "
                    "invites and join requests."
                ) from None
            raise
        await self._actions.record(actor, group_id, action, target_id=user_id, details=details)
        final = await self._store.cards_for(group_id, user_id)
        at = next((c.handled_at for c in final if c.handled_at), None) or self._clock()
        return Decision(group_id, user_id, name, decision, state, actor.user_id, actor.name, at, tuple(final))

    async def _gone(
        self, actor: Actor, group_id: str, user_id: str, state: CardState, cards: list[RequestCard]
    ) -> AlreadyHandled:
        """VRChat says there is no such pending request: find out how it ended, fix the cards."""
        now = self._clock()
        since = outcome_since(cards, now)
        outcome = await vrchat_outcome(self._client, self._store, group_id, user_id, since)
        await self._store.release_claim(group_id, user_id, state, actor.user_id)
        await self._store.claim_card(
            group_id,
            user_id,
            outcome.state,
            by_discord_id=None,
            by_name=outcome.by,
            where="VRChat",
            at=outcome.at or now,
        )
        return AlreadyHandled.describe(
            outcome=outcome.state, by=outcome.by, when=outcome.at, where="VRChat", now=now
        )


def _latest(cards: list[RequestCard]) -> RequestCard | None:
    handled = [c for c in cards if not c.pending]
    return max(handled, key=lambda c: c.handled_at or c.created_at, default=None)
