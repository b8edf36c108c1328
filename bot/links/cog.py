"""`/link start|status`, `/unlink`, `/whois member|vrchat`: which Discord member is which VRChat user.

Thin: the service (bot.links.service) decides and checks; this turns its answers into ephemeral
replies. Linking your own account is for anyone in a server with the bot; `/whois` and unlinking
someone else are for the server's moderators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.links.requesters import DiscordLink
from bot.links.service import discord_time
from bot.links.views import VerifyButton, code_text, links_of, verify_view, vrchat_user
from bot.views.context import actor_of
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot

USER_HELP = "Your VRChat user ID (usr_…) or your vrchat.com profile link"


def _in_server(member: discord.Member | discord.User) -> bool:
    """Discord sends member data for an option only when that user is in the server."""
    return isinstance(member, discord.Member)


@app_commands.command(name="start", description="Link your Discord account to your VRChat account")
@app_commands.describe(user=USER_HELP)
async def start(interaction: discord.Interaction, user: app_commands.Range[str, 1, 200]) -> None:
    issued = await links_of(interaction).issue(actor_of(interaction), user)
    await send_ephemeral(interaction, code_text(issued), view=verify_view(issued.code_id))


@app_commands.command(name="status", description="Which VRChat account your Discord account is linked to")
async def status(interaction: discord.Interaction) -> None:
    found = await links_of(interaction).status(actor_of(interaction))
    lines = []
    if found.link is None:
        lines.append("Your Discord account is not linked to a VRChat account. `/link start` links one.")
    else:
        lines.append(
            f"Your Discord account is linked to {vrchat_user(found.link.vrchat_user_id)} "
            f"(since {discord_time(found.link.linked_at, 'f')}). `/unlink` removes the link."
        )
    if found.open_code is not None:
        lines.append(
            f"You have an open code for {vrchat_user(found.open_code.vrchat_user_id)} until "
            f"{discord_time(found.open_code.expires_at, 't')}; it was shown once, when you asked for it "
            "(`/link start` again gives a new one)."
        )
    await send_ephemeral(interaction, "\n".join(lines))


@app_commands.command(name="unlink", description="Remove your link to VRChat (moderators: a member's link)")
@app_commands.describe(member="Moderators only: the member whose link to remove (leave out for your own)")
@app_commands.guild_only()
async def unlink(
    interaction: discord.Interaction, member: discord.Member | discord.User | None = None
) -> None:
    service, actor = links_of(interaction), actor_of(interaction)
    if member is not None and member.id != interaction.user.id:
        removed = await service.unlink_member(actor, member.id, in_server=_in_server(member))
        await send_ephemeral(
            interaction, f"Unlinked {member.mention} from {vrchat_user(removed.vrchat_user_id)}."
        )
        return
    result = await service.unlink_self(actor)
    if result.link is not None:
        was = vrchat_user(result.link.vrchat_user_id)
        text = f"Unlinked: your Discord account is no longer linked to {was}."
    else:
        text = "Your Discord account is not linked to a VRChat account."
    if result.cancelled_code:
        text += " Your open link code was cancelled."
    await send_ephemeral(interaction, text)


@app_commands.command(name="member", description="The VRChat account a member of this server is linked to")
@app_commands.describe(member="The member to look up")
async def whois_member(interaction: discord.Interaction, member: discord.Member | discord.User) -> None:
    link = await links_of(interaction).whois_member(
        actor_of(interaction), member.id, in_server=_in_server(member)
    )
    if link is None:
        await send_ephemeral(interaction, f"{member.mention} is not linked to a VRChat account.")
        return
    await send_ephemeral(
        interaction,
        f"{member.mention} is linked to {vrchat_user(link.vrchat_user_id)} "
        f"(since {discord_time(link.linked_at, 'f')}).",
    )


def whois_text(user_id: str, link: DiscordLink) -> str:
    who = vrchat_user(user_id)
    if link.state == "in_server" and link.discord_user_id is not None:
        return f"{who} is linked to <@{link.discord_user_id}> (in this server)."
    if link.state == "not_in_server":
        return f"{who} is linked to a Discord account that is not in this server."
    if link.state == "not_linked":
        return f"{who} is not linked to a Discord account."
    return f"{who} is linked to a Discord account; whether it is in this server could not be checked now."


@app_commands.command(name="vrchat", description="The member of this server a VRChat account is linked to")
@app_commands.describe(user="A VRChat user ID (usr_…) or vrchat.com profile link")
async def whois_vrchat(interaction: discord.Interaction, user: app_commands.Range[str, 1, 200]) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)  # asks Discord about membership
    user_id, link = await links_of(interaction).whois_vrchat(actor_of(interaction), user)
    await send_ephemeral(interaction, whois_text(user_id, link))


async def setup(bot: GroupBridgeBot) -> None:
    link = app_commands.Group(name="link", description="Link your Discord account to VRChat", guild_only=True)
    link.add_command(start)
    link.add_command(status)
    whois = app_commands.Group(
        name="whois", description="Who is who between Discord and VRChat (moderators)", guild_only=True
    )
    whois.add_command(whois_member)
    whois.add_command(whois_vrchat)
    bot.tree.add_command(link)
    bot.tree.add_command(unlink)
    bot.tree.add_command(whois)
    bot.add_dynamic_items(VerifyButton)


async def teardown(bot: GroupBridgeBot) -> None:
    bot.remove_dynamic_items(VerifyButton)
