"""What a moderator sees about someone asking to join, built from VRChat's data: a JoinRequest (the
requester and the request, on every card and in `/vrc requests`) and the requester's groups (GroupSummary).
No Discord here: bot.requests.cards draws them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.services.users import avatar_url, bio_excerpt, is_adult
from bot.text import PROFILE_URL
from bot.vrchat.models import GroupMember, User
from bot.vrchat.trust import trust_rank


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """One pending join request as a moderator sees it (not a Discord view: the card draws it)."""

    group_id: str
    user_id: str
    display_name: str
    avatar_url: str | None
    profile_url: str
    account_created: date | None
    account_age_days: int | None
    trust_rank: str
    adult: bool
    bio_excerpt: str
    requested_at: datetime | None
    profile_available: bool = True  # False: VRChat's profile lookup failed; rank and age mean nothing


def build_request(group_id: str, request: GroupMember, user: User, today: date) -> JoinRequest:
    created = user.date_joined
    return JoinRequest(
        group_id=group_id,
        user_id=user.id,
        display_name=user.display_name or (request.user.display_name if request.user else None) or user.id,
        avatar_url=avatar_url(user),
        profile_url=PROFILE_URL.format(user_id=user.id),
        account_created=created,
        account_age_days=max(0, (today - created).days) if created is not None else None,
        trust_rank=trust_rank(user.tags),
        adult=is_adult(user.age_verification_status),
        bio_excerpt=bio_excerpt(user.bio),
        requested_at=request.created_at,
    )


@dataclass(frozen=True, slots=True)
class WatchHit:
    """One of the requester's groups that the card's server has on its watchlist."""

    group_id: str
    name: str
    note: str


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """The requester's groups as shown on a card: computed once, when the card is posted.

    available=False: VRChat could not be asked (error or timeout); count, names and hits are then
    empty and mean nothing. VRChat does not tell a private list from an empty one: count 0.
    """

    available: bool
    count: int = 0
    names: tuple[str, ...] = ()  # up to SUMMARY_NAMES
    hits: tuple[WatchHit, ...] = ()


SUMMARY_NAMES = 3
UNAVAILABLE = GroupSummary(available=False)
