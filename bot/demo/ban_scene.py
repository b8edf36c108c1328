"""The demo's "who is who" scene: a player links their Discord and VRChat accounts (the code in their
VRChat bio, then Verify) and gets the membership role; a VRChat group role given to them in the game
appears on their Discord account (bot.demo.roles_scene); then they are banned in Discord, and the bot
asks the moderators whether to ban them in the VRChat group too; a moderator confirms, and VRChat's
group shows them banned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.demo.acting import reply_text, shown
from bot.demo.roles_scene import MEMBERSHIP_ROLE, membership_role_given, vrchat_role_reaches_discord
from bot.sandbox.discord import InteractionExchange, StandInMessage
from bot.sandbox.identity import IdentityRoles
from bot.sandbox.vrchat import SimUser
from bot.sandbox.world import GUILD_ID, MEMBER_ID, REQUESTS_CHANNEL_ID, SandboxWorld

PLAYER = "Ben"  # a member of the VRChat group; in Discord, the server's plain "member"
CONFIRM = "Confirm: ban in VRChat"
CODE = re.compile(r"`(GB-[^`]+)`")

Say = Callable[[str], None]


@dataclass
class BanSceneResult:
    linked: bool = False  # Verify said "Linked"
    membership_role: bool = False  # the linked Discord member got the membership role
    vrchat_role_in_discord: bool = False  # a VRChat role given in the game reached their Discord account
    prompted: bool = False  # the Discord ban brought the card
    banned_in_vrchat: bool = False  # after Confirm, VRChat's group has the player banned

    @property
    def ok(self) -> bool:
        return (
            self.linked
            and self.membership_role
            and self.vrchat_role_in_discord
            and self.prompted
            and self.banned_in_vrchat
        )


def ban_cards(world: SandboxWorld) -> list[StandInMessage]:
    return [m for m in world.public_messages(REQUESTS_CHANNEL_ID) if "Ban prompt" in str(m.embeds)]


def _last_text(exchange: InteractionExchange) -> str:
    return reply_text(exchange, ("callback", "followup"))


async def link_player(
    world: SandboxWorld,
    player: SimUser,
    who: int,
    timeout: float,  # noqa: ASYNC109 - for each wait
) -> str:
    """Discord member ``who`` links to ``player``: /link start, the code in the player's VRChat bio
    (the player edits it in VRChat), Verify. What Verify answered."""
    started = await world.command("link", "start", {"user": player.id}, who=who)
    reply = (await started.wait(timeout=timeout)).message
    code = CODE.search(reply.content or "") if reply is not None else None
    if reply is None or code is None:
        raise RuntimeError(f"/link start gave no code: {_last_text(started)}")
    world.players.edit_profile(player, bio=f"Sunset Lounge regular. {code[1]}")
    verify = await world.click(reply, "Verify", who=who)
    await verify.wait_for(lambda x: bool(x.followups), timeout=timeout, what="the outcome of Verify")
    return _last_text(verify)


async def link_and_ban(
    world: SandboxWorld,
    roles: IdentityRoles,
    replies: list[tuple[str, str]],
    timeout: float,  # noqa: ASYNC109 - for each wait, as the scenario's
    say: Say,
) -> BanSceneResult:
    """Play the scene (role sync already on); what the player and the moderator saw goes into
    ``replies``."""
    result = BanSceneResult()
    player = world.players.named(PLAYER)
    said = await link_player(world, player, MEMBER_ID, timeout)
    say(
        f"Discord member [b]member[/b] runs /link start for {PLAYER}, puts the code in {PLAYER}'s "
        f"VRChat bio and presses [b]Verify[/b]: {shown(said)}"
    )
    replies.append((f"{PLAYER}'s player presses Verify", said))
    result.linked = said.startswith("Linked")
    result.membership_role = await membership_role_given(world, MEMBER_ID, timeout)
    say(
        f"[b]member[/b] now holds the Discord role [b]{MEMBERSHIP_ROLE}[/b]: linked members of the "
        "VRChat group get it."
        if result.membership_role
        else f"[red]member never got the {MEMBERSHIP_ROLE} role[/red]"
    )
    result.vrchat_role_in_discord = await vrchat_role_reaches_discord(
        world, roles, player, MEMBER_ID, timeout, say
    )

    await world.discord.ban(GUILD_ID, MEMBER_ID)
    say("A Discord moderator bans [b]member[/b] from the Discord server.")
    await world.wait_for(lambda: bool(ban_cards(world)), "the card asking to ban in VRChat too", timeout)
    result.prompted = True
    (card,) = ban_cards(world)
    confirm = await world.click(card, CONFIRM)
    await confirm.wait_for(lambda x: bool(x.followups), timeout=timeout, what="the outcome of Confirm")
    replies.append((f"Confirm the VRChat ban of {PLAYER}", _last_text(confirm)))
    membership = world.community.group.memberships.get(player.id)
    result.banned_in_vrchat = membership is not None and membership.status == "banned"
    say(
        f"The card asks to ban {PLAYER} in VRChat too; a moderator clicks [b]{CONFIRM}[/b]: "
        f"{shown(_last_text(confirm))}"
    )
    return result
