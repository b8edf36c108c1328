"""A group named the way moderators copy it: its ID, its vrchat.com or vrc.group link, or its short
code (ABCDE.1234), which only VRChat's group search can turn into the ID the bot keeps."""

from __future__ import annotations

from bot.services.common import InvalidInput, NotFoundError, checked_group_id
from bot.vrchat import GroupRef, InvalidReference, VRChatAPI, parse_group_ref
from bot.vrchat.ids import GroupShortCode

SEARCH_PAGE = 100  # the most VRChat returns at once
# A short code is shared by many groups (the discriminator tells them apart), and a search by it also
# finds groups whose names hold it: look this far, no further, before saying the group is not found.
SEARCH_PAGES = 2


def group_ref(text: str) -> GroupRef:
    """The group `text` names, not yet looked up; InvalidInput for anything else."""
    try:
        return parse_group_ref(text)
    except InvalidReference as exc:
        raise InvalidInput(str(exc)) from None


async def group_id_of(client: VRChatAPI, ref: GroupRef) -> str:
    """The group's ID: as given, or found by VRChat's search for its short code (NotFoundError when
    the search does not find it)."""
    if ref.group_id is not None:
        return ref.group_id
    assert ref.short_code is not None  # a GroupRef holds one or the other
    return await _search(client, ref.short_code)


async def _search(client: VRChatAPI, code: GroupShortCode) -> str:
    for page in range(SEARCH_PAGES):
        found = await client.search_groups(code.code, n=SEARCH_PAGE, offset=page * SEARCH_PAGE)
        for group in found:
            if (group.short_code or "").upper() == code.code and group.discriminator == code.discriminator:
                return checked_group_id(group.id)  # VRChat's answer is checked like any other input
        if len(found) < SEARCH_PAGE:
            break
    raise NotFoundError(
        f"VRChat's group search finds no group {code} (a group that is not searchable is not found "
        "this way). Use the group's link instead: open the group page and copy it."
    )
