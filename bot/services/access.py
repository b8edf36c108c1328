"""Who may do what, checked at run time on every command and every button click.

Nothing is cached: a role taken away or a binding removed counts from the very next click. The cog's
own checks are a convenience for the user; these are the ones that hold.
"""

from __future__ import annotations

from bot.config import Config
from bot.services.common import Actor, InvalidInput, NotFoundError, PermissionDenied, checked_group_id
from bot.store import Binding
from bot.store.ports import BindingReader
from bot.vrchat.permissions import NEEDED_PERMISSIONS, GroupStanding, lacking

GUILD_ONLY = "This only works inside a Discord server, not in direct messages."


def standing_problem(standing: GroupStanding) -> str | None:
    """What the bot's VRChat account cannot do in a group, in a sentence for server admins, or None.

    VRChat's own view of the account (`GroupStanding`, from the group object) decides: the same facts
    the dry run prints, said the same way in /bridge link's reply and in /bridge status.
    """
    if not standing.is_member:
        return (
            "The bot's VRChat account is not a member of this group, so the audit-log feed and join "
            f"requests will fail: make it a member with a role that has {' and '.join(NEEDED_PERMISSIONS)}."
        )
    missing = standing.missing()
    if not missing:
        return None
    which = "that permission" if len(missing) == 1 else "those permissions"
    return (
        f"The bot's VRChat account lacks {lacking(missing)} in this group, so "
        f"{' and '.join(NEEDED_PERMISSIONS[p] for p in missing)} will fail: give its group role {which} "
        "in VRChat."
    )


class Access:
    def __init__(self, store: BindingReader, config: Config) -> None:
        self._store = store
        self._config = config

    def group_label(self, group_id: str) -> str:
        """The group's name from config.toml when it has one, else its ID."""
        group = self._config.group(group_id)
        return group.name if group is not None and group.name else group_id

    def require_allowed_group(self, group_id: str) -> None:
        if group_id not in self._config.group_ids:
            raise PermissionDenied(
                f"{group_id} is not one of the groups this bot may manage (see [[groups]] in config.toml)."
            )

    def require_admin(self, actor: Actor) -> None:
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        if not actor.manage_guild:
            raise PermissionDenied("Only members with the Manage Server permission can do that.")

    def require_same_guild(self, actor: Actor, guild_id: int) -> None:
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        if actor.guild_id != guild_id:
            raise PermissionDenied("You can only change the settings of the server you are in.")

    async def groups_of_guild(self, guild_id: int) -> list[Binding]:
        """Every binding of this server, oldest first (one group may be bound to several channels)."""
        return await self._store.list_bindings(guild_id=guild_id)

    async def _bindings(self, actor: Actor, group_id: str) -> list[Binding]:
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        bindings = await self._store.list_bindings(guild_id=actor.guild_id, group_id=group_id)
        if not bindings:
            raise NotFoundError(
                f"This server is not linked to the VRChat group {self.group_label(group_id)}; "
                "an admin can link it with the link command."
            )
        return bindings

    async def binding_for(self, actor: Actor, group_id: str) -> Binding:
        """The server's binding of that group (the first one, when it feeds several channels)."""
        return (await self._bindings(actor, group_id))[0]

    async def admin_binding(self, actor: Actor, guild_id: int, group: str | None) -> Binding:
        """For settings kept per binding (watchlist, request rules): this server's binding of the
        named group, or of its only linked group; admins (Manage Server) only."""
        self.require_same_guild(actor, guild_id)
        self.require_admin(actor)
        group_id = checked_group_id(group.strip()) if group else await self.default_group(actor)
        return await self.binding_for(actor, group_id)

    async def require_moderator(self, actor: Actor, group_id: str) -> Binding:
        """The binding, if the actor holds one of its moderator roles or has Manage Server.

        A server that binds the group to several channels may name different moderator roles on
        each; a role from any of them counts. The group must still be on the allow-list.
        """
        self.require_allowed_group(group_id)
        bindings = await self._bindings(actor, group_id)
        if actor.manage_guild:
            return bindings[0]
        for binding in bindings:
            if actor.role_ids.intersection(binding.moderator_role_ids):
                return binding
        roles = sorted({r for b in bindings for r in b.moderator_role_ids})
        label = self.group_label(group_id)
        if not roles:
            raise PermissionDenied(
                f"No moderator roles are set for {label} in this server, so only members with the "
                "Manage Server permission can do that."
            )
        mentions = ", ".join(f"<@&{r}>" for r in roles)
        raise PermissionDenied(
            f"You need one of the moderator roles for {label} ({mentions}) or the Manage Server "
            "permission to do that."
        )

    async def default_group(self, actor: Actor) -> str:
        """The group a command means when none was given: the server's only bound group."""
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        groups = list(dict.fromkeys(b.group_id for b in await self.groups_of_guild(actor.guild_id)))
        if not groups:
            raise NotFoundError(
                "This server is not linked to any VRChat group yet; an admin can link one with the "
                "link command."
            )
        if len(groups) > 1:
            names = ", ".join(self.group_label(g) for g in groups)
            raise InvalidInput(
                f"This server is linked to several groups ({names}); pick one with the group option."
            )
        return groups[0]
