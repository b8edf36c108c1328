"""Role sync in the demo's "who is who" scene: the server's admin maps VRChat's "Verified" group role
onto Discord's "Verified" (VRChat → Discord) and names a membership role, then switches sync on; the
player who links gets the membership role, and a VRChat role given in the game appears in Discord.

The roles themselves are seeded before the bot starts (``prepare_roles``), as an operator would have
them: bot.sandbox.identity's "Verified" on both sides, and a "Group member" role in Discord.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.demo.acting import reply_text, run_command
from bot.sandbox.identity import IdentityRoles
from bot.sandbox.vrchat import SimUser
from bot.sandbox.world import ADMIN_ID, GUILD_ID, SandboxWorld

MEMBERSHIP_ROLE_ID = 1_400_000_000_000_000_020
MEMBERSHIP_ROLE = "Group member"
VERIFIED = "Verified"  # the role's name on both sides
GIVER = "Aiko"  # the community's VRChat moderator, who gives the role in the game

Say = Callable[[str], None]


def prepare_roles(world: SandboxWorld) -> IdentityRoles:
    """The roles role sync maps onto each other; before the bot starts."""
    roles = world.seed_identity()
    world.discord.add_role(GUILD_ID, MEMBERSHIP_ROLE_ID, MEMBERSHIP_ROLE, position=1)
    return roles


def holds(world: SandboxWorld, discord_id: int, role_id: int) -> bool:
    member = world.discord.state.guilds[GUILD_ID].members.get(discord_id)
    return member is not None and role_id in member.role_ids


async def switch_on(world: SandboxWorld, roles: IdentityRoles, timeout: float, say: Say) -> None:  # noqa: ASYNC109
    """/rolesync membership, map and mode on, as the server's admin (Manage Server)."""
    guild_roles = world.discord.state.guilds[GUILD_ID].roles
    steps = (
        ("membership", {"role": guild_roles[MEMBERSHIP_ROLE_ID]}, "Linked members"),
        (
            "map",
            {
                "vrchat_role": VERIFIED,
                "discord_role": guild_roles[roles.discord_verified],
                "direction": "vrchat_to_discord",
            },
            "Mapped",
        ),
        ("mode", {"mode": "on"}, "Role sync is on"),
    )
    for sub, options, expected in steps:
        said = reply_text(await run_command(world, "rolesync", sub, options, ADMIN_ID, timeout))
        if expected not in said:
            raise RuntimeError(f"/rolesync {sub} answered: {said}")
    say(
        f"The admin maps VRChat role [b]{VERIFIED}[/b] → Discord role [b]{VERIFIED}[/b], names "
        f"[b]{MEMBERSHIP_ROLE}[/b] the membership role, and switches role sync on ([b]/rolesync[/b])."
    )


async def membership_role_given(world: SandboxWorld, discord_id: int, timeout: float) -> bool:  # noqa: ASYNC109
    """The linked member gets the membership role (False if it never comes)."""
    try:
        await world.wait_for(
            lambda: holds(world, discord_id, MEMBERSHIP_ROLE_ID), "the membership role", timeout
        )
    except TimeoutError:
        return False
    return True


async def vrchat_role_reaches_discord(
    world: SandboxWorld,
    roles: IdentityRoles,
    player: SimUser,
    discord_id: int,
    timeout: float,  # noqa: ASYNC109 - how long the Discord role may take
    say: Say,
) -> bool:
    """In the game, the VRChat moderator gives ``player`` the mapped role; True once the linked Discord
    member holds the Discord role (found through the mirrored audit log)."""
    world.players.give_role(player, roles.vrchat_verified, by=GIVER)
    try:
        await world.wait_for(
            lambda: holds(world, discord_id, roles.discord_verified), "the Discord role", timeout
        )
    except TimeoutError:
        say(f"[red]{player.display_name}'s Discord account never got {VERIFIED}[/red]")
        return False
    say(
        f"In VRChat, {GIVER} gives {player.display_name} the group role [b]{VERIFIED}[/b]; within a "
        f"poll their Discord account holds [b]{VERIFIED}[/b] too."
    )
    return True
