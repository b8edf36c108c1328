"""The bot account's own VRChat profile: shown to admins, changed by admins, every change logged.

Every value is checked (bot.vrchat.profile) before anything is sent; a refusal names the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services.access import Access
from bot.services.common import ActionLog, Actor, InvalidInput, PermissionDenied, ServiceError
from bot.text import PROFILE_URL
from bot.vrchat import BadRequest, Forbidden, VRChatAPI, VRChatError, profile_update_body
from bot.vrchat.models import CurrentUser
from bot.vrchat.profile import BIO_LINKS_MAX


@dataclass(frozen=True, slots=True)
class BotProfile:
    user_id: str
    display_name: str
    profile_url: str
    status: str | None
    status_description: str
    bio: str
    bio_links: tuple[str, ...]
    pronouns: str


def bot_profile(user: CurrentUser) -> BotProfile:
    return BotProfile(
        user_id=user.id,
        display_name=user.display_name or user.id,
        profile_url=PROFILE_URL.format(user_id=user.id),
        status=user.status,
        status_description=user.status_description or "",
        bio=user.bio or "",
        bio_links=tuple(user.bio_links),
        pronouns=user.pronouns or "",
    )


def split_links(text: str | None) -> list[str] | None:
    """ "a, b ,c" -> ["a", "b", "c"]; None leaves the links alone; only commas or blanks clears them."""
    if text is None:
        return None
    links = [part.strip() for part in text.split(",") if part.strip()]
    if len(links) > BIO_LINKS_MAX:
        raise InvalidInput(f"At most {BIO_LINKS_MAX} bio links, separated by commas (got {len(links)}).")
    return links


def sentence(text: str) -> str:
    """profile_update_body's "pronouns are limited to…" as a sentence for the user."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


class ProfileService:
    def __init__(self, client: VRChatAPI, access: Access, actions: ActionLog) -> None:
        self._client = client
        self._access = access
        self._actions = actions

    def _own_id(self) -> str:
        user_id = self._client.user_id
        if user_id is None:
            raise ServiceError("The bot is not logged in to VRChat yet; try again in a minute.")
        return user_id

    async def show(self, actor: Actor) -> BotProfile:
        """The bot account's profile as VRChat has it now (admins only)."""
        self._access.require_admin(actor)
        return bot_profile(await self._client.get_current_user())

    async def set(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        status_description: str | None = None,
        bio: str | None = None,
        bio_links: str | None = None,
        pronouns: str | None = None,
    ) -> BotProfile:
        """Change the given fields (None = leave as is); `bio_links` is comma-separated, up to 3."""
        self._access.require_admin(actor)
        try:
            body = profile_update_body(
                status=status,
                status_description=status_description,
                bio=bio,
                bio_links=split_links(bio_links),
                pronouns=pronouns,
            )
        except ValueError as exc:
            raise InvalidInput(sentence(str(exc))) from None
        own_id = self._own_id()
        details: dict[str, Any] = {"changes": body}
        try:
            updated = await self._client.update_user(
                own_id,
                status=body.get("status"),
                status_description=body.get("statusDescription"),
                bio=body.get("bio"),
                bio_links=body.get("bioLinks"),
                pronouns=body.get("pronouns"),
            )
        except VRChatError as exc:
            await self._actions.record_failure(
                actor, None, "profile.update", exc, target_id=own_id, details=details
            )
            if isinstance(exc, Forbidden):
                raise PermissionDenied("VRChat would not let the bot change its own profile.") from None
            if isinstance(exc, BadRequest):
                raise ServiceError(f"VRChat refused the profile change: {exc.message}") from None
            raise
        await self._actions.record(actor, None, "profile.update", target_id=own_id, details=details)
        return bot_profile(updated)


__all__ = ["BotProfile", "ProfileService", "bot_profile", "split_links"]
