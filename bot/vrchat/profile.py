"""Validation of the bot account's profile changes (PUT /users/{id}), before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from .models import UserStatus
from .paging import choice

PRONOUNS_MAX = 32  # UpdateUserRequest.pronouns maxLength in the spec
BIO_MAX = 512  # User.bio maxLength in the spec
STATUS_DESCRIPTION_MAX = 32  # what VRChat's own UI enforces; the spec is silent
BIO_LINKS_MAX = 3  # what VRChat's own UI enforces; the spec is silent


def profile_update_body(
    *,
    status: UserStatus | str | None = None,
    status_description: str | None = None,
    bio: str | None = None,
    bio_links: Sequence[str] | None = None,
    pronouns: str | None = None,
) -> dict[str, Any]:
    """The PUT /users/{id} body, or ValueError naming the first bad field."""
    body: dict[str, Any] = {}
    if status is not None:
        body["status"] = choice(UserStatus, status, "status").value
    if status_description is not None:
        if len(status_description) > STATUS_DESCRIPTION_MAX or "\n" in status_description:
            raise ValueError(
                f"status description must be one line of at most {STATUS_DESCRIPTION_MAX} characters"
            )
        body["statusDescription"] = status_description
    if bio is not None:
        if len(bio) > BIO_MAX:
            raise ValueError(f"bio is limited to {BIO_MAX} characters (got {len(bio)})")
        body["bio"] = bio
    if bio_links is not None:
        links = list(bio_links)
        if len(links) > BIO_LINKS_MAX:
            raise ValueError(f"at most {BIO_LINKS_MAX} bio links")
        for link in links:
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or not parts.netloc or " " in link:
                raise ValueError(f"bio link {link[:80]!r} is not an http(s) URL")
        body["bioLinks"] = links
    if pronouns is not None:
        if len(pronouns) > PRONOUNS_MAX:
            raise ValueError(f"pronouns are limited to {PRONOUNS_MAX} characters (got {len(pronouns)})")
        body["pronouns"] = pronouns
    if not body:
        raise ValueError("nothing to change: give at least one profile field")
    return body
