"""`/vrc post` (a modal, then a preview with Publish / Cancel) and `/vrc posts` (recent, with Delete)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from bot.services.posts import TEXT_MAX, TITLE_MAX
from bot.services.registry import Actor, PostDraft
from bot.text import fit_embed, plain_label, safe_text
from bot.views.base import OwnedView, ReportingModal
from bot.views.confirm import confirm_then
from bot.views.context import actor_of, bridge_interaction, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import send_ephemeral
from bot.vrchat.ids import is_post_id

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction


def preview(draft: PostDraft, group_label: str) -> discord.Embed:
    embed = discord.Embed(title=safe_text(draft.title, 256), description=safe_text(draft.text, 4000))
    audience = "members" if draft.visibility == "group" else "everyone"
    if draft.role_ids:
        audience += f" with {len(draft.role_ids)} chosen role(s)"
    notify = "members are notified" if draft.send_notification else "no notification"
    embed.set_footer(text=f"Preview — {safe_text(group_label, 100)} · visible to {audience} · {notify}")
    return fit_embed(embed)


class PostModal(ReportingModal, title="New group post"):
    post_title: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Title", max_length=TITLE_MAX)
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Text", style=discord.TextStyle.paragraph, max_length=TEXT_MAX
    )

    def __init__(self, group_id: str, visibility: str, role_ids: tuple[str, ...], notify: bool) -> None:
        super().__init__()
        self.group_id, self.visibility, self.role_ids, self.notify = group_id, visibility, role_ids, notify

    async def on_submit(self, submitted: discord.Interaction) -> None:
        interaction = bridge_interaction(submitted)
        services = services_of(interaction)
        draft = services.posts.draft(
            self.group_id,
            str(self.post_title.value),
            str(self.text.value),
            self.visibility,
            self.role_ids,
            self.notify,
        )
        await services.posts.check_roles(draft)

        async def work(clicker: Actor) -> str:
            # Checked as the person is at the click on Publish, not at the submit.
            return f"Published ({(await services.posts.publish(clicker, draft)).id})."

        await confirm_then(
            interaction,
            "This is how the post will look:",
            "Publish",
            work,
            embed=preview(draft, services.access.group_label(draft.group_id)),
            declined="Not published.",
        )


@app_commands.command(name="post", description="Publish a post in the VRChat group")
@app_commands.describe(
    visibility="Who can see it",
    role="Only members with this role (group visibility only)",
    role2="…or this role",
    role3="…or this role",
    notify="Notify members",
)
@group_option()
async def post(
    interaction: Interaction,
    visibility: Literal["group", "public"] = "group",
    role: str | None = None,
    role2: str | None = None,
    role3: str | None = None,
    notify: bool = False,
    group: str | None = None,
) -> None:
    services = services_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services.access.require_moderator(actor_of(interaction), group_id)
    roles = tuple(r for r in (role, role2, role3) if r)
    # Check the options now, so nobody types a whole post into a modal that cannot be published.
    services.posts.draft(group_id, "t", "t", visibility, roles, notify)
    await interaction.response.send_modal(PostModal(group_id, visibility, roles, notify))


@post.autocomplete("role")
@post.autocomplete("role2")
@post.autocomplete("role3")
async def role_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    group = getattr(interaction.namespace, "group", None)
    try:
        group_id = await chosen_group(interaction, group)
        choices = await services_of(interaction).posts.role_choices(group_id, current)
    except Exception:
        return []  # autocomplete cannot show errors; the command itself will explain
    return [app_commands.Choice(name=plain_label(name), value=role_id) for name, role_id in choices]


class DeletePost(OwnedView):
    def __init__(self, owner_id: int, group_id: str, posts: list[tuple[str, str]]) -> None:
        super().__init__(
            owner_id, "Only the moderator who listed these posts can delete from here.", timeout=120
        )
        self.group_id = group_id
        self.pick.options = [
            discord.SelectOption(label=plain_label(title), value=pid) for title, pid in posts[:25]
        ]

    @discord.ui.select(cls=discord.ui.Select, placeholder="Delete a post…")
    async def pick(self, interaction: Interaction, select: discord.ui.Select[Any]) -> None:
        post_id = select.values[0]
        # Refuse before asking: a moderator role taken away counts from the very next click.
        await services_of(interaction).access.require_moderator(actor_of(interaction), self.group_id)

        async def work(clicker: Actor) -> str:  # as they are at the click on Delete
            await services_of(interaction).posts.delete(clicker, self.group_id, post_id)
            return f"Deleted post {post_id}."

        await confirm_then(
            interaction,
            f"Delete post {post_id}? This cannot be undone.",
            "Delete",
            work,
            declined="Nothing was deleted.",
        )


@app_commands.command(name="posts", description="Recent group posts, with Delete")
@group_option()
async def posts(interaction: Interaction, group: str | None = None) -> None:
    services = services_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services.access.require_moderator(actor_of(interaction), group_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    recent = await services.posts.recent(group_id, limit=10)
    if not recent:
        await send_ephemeral(interaction, "The group has no posts.")
        return
    embed = discord.Embed(title="Recent posts", colour=discord.Colour.blurple())
    for item in recent:
        when = discord.utils.format_dt(item.created_at, "R") if item.created_at else "unknown time"
        embed.add_field(
            name=safe_text(item.title or "(untitled)", 100, single_line=True),
            value=f"{item.visibility or '?'} · {when} · {safe_text(item.id, 100, single_line=True)}",
            inline=False,
        )
    # Only a real post ID can be deleted, and Discord refuses a select value over 100 characters:
    # whatever else VRChat calls an ID is listed but not offered.
    deletable = [(p.title or p.id, p.id) for p in recent if is_post_id(p.id)]
    if not deletable:
        await send_ephemeral(interaction, embed=embed)
        return
    view = DeletePost(interaction.user.id, group_id, deletable)
    await send_ephemeral(interaction, embed=embed, view=view)


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.vrc.add_command(post)
    bot.groups.vrc.add_command(posts)
