"""The "who is who" corner of the offline world (#14): players who edit their own VRChat profile, a
large group, and the roles that link and role-sync scenarios map onto each other.

``SandboxWorld.players`` acts as the VRChat side's people; ``SandboxWorld.seed_identity()`` (before
the bot starts) adds, silently:

- in VRChat: an ordinary "Verified" role (instance permissions only) beside the community's
  management "Moderator" role;
- in Discord: "Verified" just above @everyone (below the bot's role: assignable), a managed
  "Twitch Subscriber" role (never assignable), "Staff" above the bot's role (refused: hierarchy),
  and Manage Roles plus Ban Members for the bot's own role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.sandbox.discord.guilds import BAN_MEMBERS, MANAGE_ROLES
from bot.sandbox.discord.server import DiscordStandIn
from bot.sandbox.vrchat.crowd import add_crowd
from bot.sandbox.vrchat.models import SimRole, SimUser
from bot.sandbox.vrchat.server import VRChatSimulator

DISCORD_VERIFIED_ROLE_ID = 1_400_000_000_000_000_010
DISCORD_BOOSTER_ROLE_ID = 1_400_000_000_000_000_011
DISCORD_STAFF_ROLE_ID = 1_400_000_000_000_000_012
ORDINARY_PERMISSIONS = ("group-instance-join", "group-instance-open-create", "group-instance-plus-create")


@dataclass
class IdentityRoles:
    """What ``seed_identity_roles`` created."""

    vrchat_verified: SimRole  # ordinary: what role sync may hand out
    vrchat_moderator: SimRole  # the community's management role: refused by default
    discord_verified: int  # below the bot's role
    discord_booster: int  # managed by an integration
    discord_staff: int  # above the bot's role
    discord_bot_role: int


def seed_identity_roles(
    sim: VRChatSimulator, standin: DiscordStandIn, *, group_id: str, moderator_role: SimRole, guild_id: int
) -> IdentityRoles:
    """The roles of the module docstring, without audit entries or gateway events."""
    verified = sim.state.add_role(
        group_id, "Verified", permissions=ORDINARY_PERMISSIONS, description="Linked their Discord"
    )
    standin.add_role(guild_id, DISCORD_VERIFIED_ROLE_ID, "Verified", position=1)
    standin.add_role(guild_id, DISCORD_BOOSTER_ROLE_ID, "Twitch Subscriber", position=2, integration_id=77)
    standin.add_role(guild_id, DISCORD_STAFF_ROLE_ID, "Staff")  # on top
    bot_role = standin.top_role(guild_id, standin.bot_user.id)
    if bot_role is None:
        raise RuntimeError("the bot has no role in the guild (add_guild gives it one)")
    bot_role.permissions |= MANAGE_ROLES | BAN_MEMBERS
    standin.state.guilds[guild_id].refresh_permissions()
    return IdentityRoles(
        verified,
        moderator_role,
        DISCORD_VERIFIED_ROLE_ID,
        DISCORD_BOOSTER_ROLE_ID,
        DISCORD_STAFF_ROLE_ID,
        bot_role.id,
    )


class Players:
    """The people of the world's VRChat group, doing what players and in-game moderators do."""

    def __init__(self, sim: VRChatSimulator, group_id: str) -> None:
        self.sim = sim
        self.group_id = group_id

    def named(self, display_name: str) -> SimUser:
        """The user with that display name (LookupError if none or several)."""
        found = [u for u in self.sim.state.users.values() if u.display_name == display_name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} users are named {display_name!r}")
        return found[0]

    def _user(self, who: str | SimUser) -> SimUser:
        return who if isinstance(who, SimUser) else self.named(who)

    def edit_profile(
        self,
        who: str | SimUser,
        *,
        bio: str | None = None,
        status_description: str | None = None,
        status: str | None = None,
    ) -> SimUser:
        """A player edits their bio / status in VRChat; ``GET /users/{id}`` shows it from now on."""
        user = self._user(who)
        return self.sim.state.edit_profile(
            user.id, bio=bio, status_description=status_description, status=status
        )

    def crowd(self, count: int, *, name: str = "Player", role_ids: Iterable[str] = ()) -> list[SimUser]:
        """``count`` more members at once (5,000 in well under a second), oldest first."""
        return add_crowd(self.sim.state, self.group_id, count, name=name, role_ids=role_ids)

    def give_role(self, who: str | SimUser, role: SimRole, *, by: str | SimUser) -> list[str]:
        """A moderator gives a member a role in VRChat itself (audited, outside the bot)."""
        target, actor = self._user(who), self._user(by)
        return self.sim.state.assign_role(self.group_id, target.id, role.id, actor.id)

    def take_role(self, who: str | SimUser, role: SimRole, *, by: str | SimUser) -> list[str]:
        """A moderator takes a member's role in VRChat itself (audited, outside the bot)."""
        target, actor = self._user(who), self._user(by)
        return self.sim.state.unassign_role(self.group_id, target.id, role.id, actor.id)
