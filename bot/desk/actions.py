"""Acting on a user from the feed: the select under a feed message ("Act on a user in this message",
bot.feed.actions builds it) opens a private panel with the actions that fit what happened — Ban,
Kick, Unban, History.

Both are DynamicItems, so they work after any restart with no lookup table: the select's custom_id is
fixed (`gb:fa`) and each option's value says whom (`<kind>:<grp_…>:<usr_…>`); a panel button's
custom_id is `gb:ua:<ban|kick|unban>:<grp_…>:<usr_…>` (at most 93 characters). Every click checks the
clicker's permission again; Ban, Kick and Unban ask for a confirmation and then go through the
moderation service, which credits the moderator in the action log as `/vrc ban` does (and from there
the feed entry VRChat writes for it).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.desk.views import HistoryButton
from bot.feed.actions import FEED_ACTIONS_ID, KINDS, PLACEHOLDER
from bot.services.registry import Actor, ModerationOutcome
from bot.text import profile_link, safe_text
from bot.views.base import ReportedClick
from bot.views.confirm import confirm_then
from bot.views.context import actor_of, services_of
from bot.views.reply import send_ephemeral
from bot.vrchat.ids import is_user_id

if TYPE_CHECKING:
    from bot.bot import Interaction

_ID = r"[A-Za-z0-9_-]+"
_VALUE = re.compile(rf"(?P<kind>{'|'.join(sorted(KINDS))}):(?P<group>grp_{_ID}):(?P<user>{_ID})")
ACTION_TEMPLATE = rf"gb:ua:(?P<action>ban|kick|unban):(?P<group>grp_{_ID}):(?P<user>{_ID})"

Action = Literal["ban", "kick", "unban"]
#: What fits after each kind of entry (the History button is always there).
FITTING: dict[str, tuple[Action, ...]] = {
    "join": ("kick", "ban"),
    "leave": ("ban",),
    "kick": ("ban",),
    "ban": ("unban",),
    "unban": ("ban",),
    "request": ("ban",),
}
_ACTIONS: dict[str, Action] = {"ban": "ban", "kick": "kick", "unban": "unban"}
_LABELS: dict[Action, str] = {"ban": "Ban", "kick": "Kick", "unban": "Unban"}
_STYLES: dict[Action, discord.ButtonStyle] = {
    "ban": discord.ButtonStyle.danger,
    "kick": discord.ButtonStyle.danger,
    "unban": discord.ButtonStyle.secondary,
}


def panel_view(kind: str, group_id: str, user_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=600)
    for action in FITTING.get(kind, ()):
        view.add_item(UserActionButton(action, group_id, user_id))
    view.add_item(HistoryButton(group_id, user_id))
    return view


class FeedActionSelect(
    ReportedClick, discord.ui.DynamicItem[discord.ui.Select[Any]], template=FEED_ACTIONS_ID
):
    """The select under a feed message: picking a user opens the panel, for moderators only."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Select(custom_id=FEED_ACTIONS_ID, placeholder=PLACEHOLDER))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedActionSelect:
        return cls()

    async def clicked(self, interaction: Interaction) -> None:
        picked = _VALUE.fullmatch(self.item.values[0]) if self.item.values else None
        # The value is whatever the click carries: an ID only the template's loose shape takes is no
        # user of ours, and would end up in a profile link.
        if picked is None or not is_user_id(picked["user"]):
            await send_ephemeral(interaction, "That choice is not one this bot offers; pick a user again.")
            return
        group_id, user_id = picked["group"], picked["user"]
        services = services_of(interaction)
        await services.access.require_moderator(actor_of(interaction), group_id)
        label = safe_text(services.access.group_label(group_id), 100, single_line=True)
        await send_ephemeral(
            interaction,
            f"{profile_link(user_id)} in {label}: what would you like to do?",
            view=panel_view(picked["kind"], group_id, user_id),
        )


Act = Callable[[Actor, str, str, str], Awaitable[ModerationOutcome]]


class UserActionButton(
    ReportedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=ACTION_TEMPLATE
):
    """Ban, Kick or Unban from the feed's panel: permission first, then a confirmation, then the act."""

    def __init__(self, action: Action, group_id: str, user_id: str) -> None:
        self.action, self.group_id, self.user_id = action, group_id, user_id
        super().__init__(
            discord.ui.Button(
                label=_LABELS[action],
                style=_STYLES[action],
                custom_id=f"gb:ua:{action}:{group_id}:{user_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> UserActionButton:
        action: Action = (
            "ban" if match["action"] == "ban" else "kick" if match["action"] == "kick" else "unban"
        )
        return cls(action, match["group"], match["user"])

    async def clicked(self, interaction: Interaction) -> None:
        services = services_of(interaction)
        verb = _LABELS[self.action]
        if not is_user_id(self.user_id):  # forged: the feed only offers real user IDs
            await send_ephemeral(interaction, "That button is not one this bot offers; pick the user again.")
            return
        # Refuse before asking: someone who may not act never sees a confirmation.
        await services.access.require_moderator(actor_of(interaction), self.group_id)
        moderation = services.moderation
        act: Act = {"ban": moderation.ban, "kick": moderation.kick, "unban": moderation.unban}[self.action]

        async def work(clicker: Actor) -> str:
            return safe_text((await act(clicker, self.group_id, self.user_id, "")).message, 1900)

        await confirm_then(interaction, f"{verb} {profile_link(self.user_id)}?", verb, work)


ACTION_ITEMS = (FeedActionSelect, UserActionButton)
