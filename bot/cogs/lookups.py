"""`/vrc user`: a VRChat user's profile card and groups, a page at a time; `/vrc instances`: the group
instances the bot's own account can see, with launch links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.cogs.invites import user_autocomplete
from bot.services.registry import GroupInstances, GroupLine, InstanceLine, UserProfile
from bot.text import fit_embed, fit_embeds, safe_text
from bot.views.base import OwnedView
from bot.views.context import actor_of, services_of
from bot.views.reply import NO_MENTIONS, send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

GROUPS_PER_PAGE = 10
PAGER_TIMEOUT = 600.0
NOT_YOURS = "Only the moderator who looked this up can page through it."
MAX_INSTANCES = 15  # a launch link is ~200 characters; Discord allows 6000 over all embeds
MAX_EMBEDS = 10
EMBED_BUDGET = 5800  # Discord allows 6000 characters over all of a message's embeds


def profile_embed(profile: UserProfile) -> discord.Embed:
    embed = discord.Embed(
        title=safe_text(profile.display_name, 200, single_line=True),
        url=profile.profile_url,
        colour=discord.Colour.blurple(),
    )
    if profile.avatar_url and profile.avatar_url.startswith("https://"):
        embed.set_thumbnail(url=profile.avatar_url)
    if profile.account_age_days is not None and profile.account_created is not None:
        age = f"{profile.account_age_days} days (since {profile.account_created.isoformat()})"
    else:
        age = "unknown"
    embed.add_field(name="Account age", value=age)
    embed.add_field(name="Trust rank", value=profile.trust_rank)
    if profile.adult:  # only VRChat's exact "18+"
        embed.add_field(name="Age verified", value="18+")
    if profile.pronouns:
        embed.add_field(name="Pronouns", value=safe_text(profile.pronouns, 100, single_line=True))
    embed.add_field(
        name="Profile", value=f"[{safe_text(profile.user_id, 60)}]({profile.profile_url})", inline=False
    )
    if profile.bio_excerpt:
        embed.add_field(name="Bio", value=safe_text(profile.bio_excerpt, 400), inline=False)
    embed.set_footer(text=profile.user_id)
    return fit_embed(embed)


def group_line(group: GroupLine) -> str:
    name = safe_text(group.name, 100, single_line=True)
    parts = [f"[{name}]({group.url})" if group.url else name]
    if group.short_code:
        parts.append(safe_text(group.short_code, 20, single_line=True))
    if group.member_count is not None:
        parts.append(f"{group.member_count} member{'' if group.member_count == 1 else 's'}")
    if group.linked:
        parts.append("**linked to this server**")
    elif group.mutual:
        parts.append("mutual")
    return " · ".join(parts)


def page_count(groups: Sequence[GroupLine]) -> int:
    return max(1, -(-len(groups) // GROUPS_PER_PAGE))


def groups_embed(profile: UserProfile, page: int) -> discord.Embed:
    """Page `page` (0-based) of the user's groups."""
    groups = profile.groups
    embed = discord.Embed(colour=discord.Colour.dark_teal())
    if not groups:
        embed.title = "Groups"
        embed.description = safe_text(profile.no_groups_text, 400)
        return embed
    first = page * GROUPS_PER_PAGE
    shown = groups[first : first + GROUPS_PER_PAGE]
    embed.title = f"Groups {first + 1}–{first + len(shown)} of {len(groups)}"
    embed.description = "\n".join(group_line(g) for g in shown)
    if page_count(groups) > 1:
        embed.set_footer(text=f"Page {page + 1} of {page_count(groups)}")
    return fit_embed(embed)


class GroupPager(OwnedView):
    """◂ Previous / Next ▸ over one lookup's groups; only the moderator who asked may turn pages."""

    def __init__(self, owner_id: int, profile: UserProfile, *, timeout: float = PAGER_TIMEOUT) -> None:
        super().__init__(owner_id, NOT_YOURS, timeout=timeout)
        self.profile, self.page = profile, 0
        self.card = profile_embed(profile)
        self._sync_buttons()

    def embeds(self) -> list[discord.Embed]:
        return fit_embeds([self.card, groups_embed(self.profile, self.page)])

    def _sync_buttons(self) -> None:
        self.previous_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= page_count(self.profile.groups) - 1

    async def _turn(self, interaction: Interaction, step: int) -> None:
        # A moderator role taken away counts from the very next click.
        await services_of(interaction).lookups.require_moderator(actor_of(interaction))
        last = page_count(self.profile.groups) - 1
        self.page = min(last, max(0, self.page + step))
        self._sync_buttons()
        await interaction.response.edit_message(embeds=self.embeds(), view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="◂ Previous", style=discord.ButtonStyle.secondary)
    async def previous_page(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next ▸", style=discord.ButtonStyle.secondary)
    async def next_page(self, interaction: Interaction, button: discord.ui.Button[Any]) -> None:
        await self._turn(interaction, 1)


@app_commands.command(name="user", description="A VRChat user's profile and the groups they are in")
@app_commands.describe(user="A user ID (usr_…), a vrchat.com profile link, or a display name")
@app_commands.autocomplete(user=user_autocomplete)
async def user(interaction: Interaction, user: str) -> None:
    services = services_of(interaction)
    actor = actor_of(interaction)
    await services.lookups.require_moderator(actor)  # refused before anything is looked up
    await interaction.response.defer(ephemeral=True, thinking=True)
    profile = await services.lookups.user_profile(actor, user)
    if len(profile.groups) <= GROUPS_PER_PAGE:
        await send_ephemeral(interaction, embeds=[profile_embed(profile), groups_embed(profile, 0)])
        return
    pager = GroupPager(interaction.user.id, profile)
    await send_ephemeral(interaction, embeds=pager.embeds(), view=pager)


def instance_text(line: InstanceLine) -> str:
    users = "?" if line.users is None else str(line.users)
    parts = [
        f"Region {safe_text((line.region or 'unknown').upper(), 20, single_line=True)}",
        f"{users}/{line.capacity} users" if line.capacity is not None else f"{users} users",
    ]
    if line.queue_size is not None:
        parts.append(f"queue {line.queue_size}")
    if line.age_gate is not None:
        parts.append(f"age gate {'on' if line.age_gate else 'off'}")
    parts.append(safe_text(line.instance_type, 60, single_line=True))
    text = " · ".join(parts)
    return f"{text}\n[Launch]({line.launch_url})" if line.launch_url else text


def instance_embeds(groups: Sequence[GroupInstances]) -> tuple[list[discord.Embed], int]:
    """One embed per group, within Discord's limits over all embeds; also how many were left out."""
    embeds: list[discord.Embed] = []
    shown = total = used = 0
    for group in groups:
        total += len(group.instances)
        title = safe_text(group.group_name, 100, single_line=True)
        embed = discord.Embed(title=title, colour=discord.Colour.blurple())
        size = len(title)
        for line in group.instances:
            name = safe_text(line.world_name, 100, single_line=True)
            value = instance_text(line)
            full = shown == MAX_INSTANCES or len(embeds) == MAX_EMBEDS
            if full or used + size + len(name) + len(value) > EMBED_BUDGET:
                break
            embed.add_field(name=name, value=value, inline=False)
            size += len(name) + len(value)
            shown += 1
        if embed.fields:
            embeds.append(embed)
            used += size
    return embeds, total - shown


@app_commands.command(name="instances", description="The open group instances the bot's account can see")
async def instances(interaction: Interaction) -> None:
    services = services_of(interaction)
    actor = actor_of(interaction)
    await services.lookups.require_moderator(actor)
    await interaction.response.defer(ephemeral=True, thinking=True)
    groups = await services.lookups.instances(actor)
    if not groups:
        await send_ephemeral(
            interaction,
            ("There are no open instances of this server's groups that the bot's account can see."),
        )
        return
    embeds, left_out = instance_embeds(groups)
    note = f"{left_out} more instance{'' if left_out == 1 else 's'} not shown." if left_out else None
    await send_ephemeral(interaction, note, embeds=embeds)


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(user)
    bot.groups.vrc.add_command(instances)
