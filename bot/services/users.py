"""Turning what a moderator types into a VRChat user: ID, profile link, or exact display name.

The text is checked before anything is sent: only a plain name costs a search request, and only an
ID or a name reaches VRChat at all. Profiles are cached briefly, so a card, a decision and an action
log line about the same person cost one GET /users/{id}.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.services.common import InvalidInput, NotFoundError, TTLCache
from bot.text import clip, quoted
from bot.vrchat import InvalidReference, NotFound, VRChatAPI, VRChatError, parse_user_id
from bot.vrchat.ids import USER_FORMS
from bot.vrchat.models import LimitedUser, User

log = logging.getLogger(__name__)

NAME_FORMS = f"{USER_FORMS}, or their exact display name"
MAX_NAME = 100  # VRChatClient.search_users refuses longer searches
SUGGEST_TTL = 60.0
SUGGEST_INTERVAL = 1.0
SUGGEST_MAX = 25  # Discord shows at most 25 autocomplete choices
CHOICE_MAX = 100  # Discord's limit for a choice's name and value
PROFILE_TTL = 300.0

# Text that was clearly meant as an ID or a link: a bad one is refused instead of searched as a name.
_LOOKS_LIKE_REFERENCE = re.compile(r"^(usr_|https?:|www\.|vrchat\.com/)|://", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class UserRef:
    """A checked user reference: exactly one of user_id and name is set."""

    user_id: str | None = None
    name: str | None = None


def parse_user_text(text: str) -> UserRef:
    """Check what a moderator typed, without any request. InvalidInput names the accepted forms."""
    value = text.strip()
    if not value:
        raise InvalidInput(f"Say which VRChat user: {NAME_FORMS}.")
    try:
        return UserRef(user_id=parse_user_id(value))
    except InvalidReference:
        pass
    if _LOOKS_LIKE_REFERENCE.search(value):
        raise InvalidInput(f"{quoted(value)} is not a VRChat user ID or profile link. Use {NAME_FORMS}.")
    if len(value) > MAX_NAME or _CONTROL.search(value):
        raise InvalidInput(f"{quoted(value)} cannot be a VRChat display name. Use {NAME_FORMS}.")
    return UserRef(name=value)


def require_user_id(text: str) -> str:
    """An ID or profile link only (buttons and stored references never carry names)."""
    try:
        return parse_user_id(text)
    except InvalidReference:
        raise InvalidInput(
            f"{quoted(text)} is not a VRChat user ID or profile link. Use {USER_FORMS}."
        ) from None


def choice_label(name: str, user_id: str) -> str:
    """ "Display Name (usr_…)" within Discord's 100 characters; the ID is never cut."""
    room = CHOICE_MAX - len(user_id) - 3
    return f"{clip(name, room)} ({user_id})" if room > 1 else user_id[:CHOICE_MAX]


# How a VRChat user is shown: on join-request cards (bot.requests.model) and by /vrc user.
BIO_EXCERPT = 200


def is_adult(age_verification_status: str | None) -> bool:
    """Only VRChat's exact "18+" counts; "hidden", "verified" and anything new do not."""
    return age_verification_status == "18+"


def bio_excerpt(bio: str | None) -> str:
    return clip((bio or "").strip(), BIO_EXCERPT)


def avatar_url(user: User) -> str | None:
    """The picture VRChat itself shows: the VRC+ icon, then a profile picture, then the avatar."""
    for url in (user.user_icon, user.profile_pic_override, user.current_avatar_thumbnail_image_url):
        if url:
            return url
    return None


class UserDirectory:
    def __init__(self, client: VRChatAPI, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._monotonic = monotonic
        self._profiles: TTLCache[str, User] = TTLCache(PROFILE_TTL, clock=monotonic)
        self._suggestions: TTLCache[str, list[tuple[str, str]]] = TTLCache(SUGGEST_TTL, clock=monotonic)
        self._suggest_lock = asyncio.Lock()
        self._last_search = float("-inf")
        self._last_choices: list[tuple[str, str, str]] = []  # (label, user id, folded name)

    async def user(self, user_id: str) -> User:
        """The public profile; NotFoundError when VRChat has no such user."""
        cached = self._profiles.get(user_id)
        if cached is not None:
            return cached
        try:
            profile = await self._client.get_user(user_id)
        except NotFound:
            raise NotFoundError(f"VRChat has no user with the ID {user_id}.") from None
        self._profiles.put(user_id, profile)
        return profile

    async def profile(self, user_id: str, fallback_name: str | None = None) -> User:
        """Like user(), but an account VRChat no longer has is a bare stub instead of an error."""
        try:
            return await self.user(user_id)
        except NotFoundError:
            return User(id=user_id, display_name=fallback_name or user_id)

    async def display_name(self, user_id: str) -> str:
        return (await self.user(user_id)).display_name or user_id

    async def resolve(self, text: str) -> str:
        """The user ID for an ID, a profile link, or an exact display name (one search)."""
        ref = parse_user_text(text)
        if ref.user_id is not None:
            return ref.user_id
        assert ref.name is not None
        return await self._by_name(ref.name)

    async def _by_name(self, name: str) -> str:
        hits = await self._client.search_users(name, n=SUGGEST_MAX)
        exact = [u for u in hits if u.display_name == name]
        folded = [u for u in hits if u.display_name.casefold() == name.casefold()]
        matches = exact or folded
        if not matches:
            raise NotFoundError(
                f"No VRChat user is called {quoted(name)} exactly; paste their profile link or user ID "
                "instead."
            )
        if len({u.id for u in matches}) > 1:
            raise InvalidInput(
                f"Several VRChat users are called {quoted(name)}; paste the profile link or user ID of the "
                "one you mean."
            )
        return matches[0].id

    def _remember(self, users: list[LimitedUser]) -> None:
        self._last_choices = [
            (choice_label(u.display_name, u.id), u.id, u.display_name.casefold()) for u in users
        ]

    async def suggest(self, query: str) -> list[tuple[str, str]]:
        """Autocomplete choices (label, user ID) for what has been typed so far.

        Cached per query for 60 s, and at most one search per second per directory: a query typed
        faster than that is answered from the last search's results, filtered. Errors give [].
        """
        text = " ".join(query.split())
        if not text:
            return []
        try:
            user_id = parse_user_id(text)
        except InvalidReference:
            pass
        else:
            return [(user_id, user_id)]
        if _LOOKS_LIKE_REFERENCE.search(text) or len(text) > MAX_NAME or _CONTROL.search(text):
            return []
        key = text.casefold()
        async with self._suggest_lock:
            cached = self._suggestions.get(key)
            if cached is not None:
                return cached
            now = self._monotonic()
            if now - self._last_search < SUGGEST_INTERVAL:
                return [(label, uid) for label, uid, name in self._last_choices if key in name][:SUGGEST_MAX]
            self._last_search = now
            try:
                hits = await self._client.search_users(text, n=SUGGEST_MAX)
            except VRChatError as exc:
                log.info("user search for autocomplete failed: %s", exc)
                return []
            self._remember(hits[:SUGGEST_MAX])
            choices = [(label, uid) for label, uid, _ in self._last_choices]
            self._suggestions.put(key, choices)
            return choices
