"""`/bridge rules list|add|remove|shadow`: automatic decisions on join requests, per linked group.

Admins only; the service checks again on every call. Rules run once, when a request's card is posted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.services.rules import describe
from bot.store.rules import RULE_KINDS, RULE_OUTCOMES
from bot.text import safe_text
from bot.views.context import actor_of, services_of
from bot.views.group_option import LINKED_GROUP_HELP, group_option
from bot.views.reply import send_ephemeral

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction


@app_commands.command(name="add", description="Add a rule; the first rule that matches decides")
@app_commands.describe(
    condition="What to look at",
    outcome="What to do when it matches",
    parameter="Trust rank (e.g. Known User), number of days, or keyword, as the condition needs",
)
@app_commands.choices(
    condition=[app_commands.Choice(name=k, value=k) for k in RULE_KINDS],
    outcome=[app_commands.Choice(name=o, value=o) for o in RULE_OUTCOMES],
)
@group_option(LINKED_GROUP_HELP)
async def add(
    interaction: Interaction,
    condition: str,
    outcome: str,
    parameter: str | None = None,
    group: str | None = None,
) -> None:
    services = services_of(interaction)
    rule = await services.rules.add(
        actor_of(interaction), interaction.guild_id or 0, group, condition, parameter, outcome
    )
    await send_ephemeral(
        interaction, f"Added rule #{rule.position}: {safe_text(describe(rule), 200)} → {rule.outcome}."
    )


@app_commands.command(name="remove", description="Remove a rule by its number")
@app_commands.describe(number="The rule's number, as the rules list shows it")
@group_option(LINKED_GROUP_HELP)
async def remove(
    interaction: Interaction,
    number: app_commands.Range[int, 1, 100000],
    group: str | None = None,
) -> None:
    services = services_of(interaction)
    await services.rules.remove(actor_of(interaction), interaction.guild_id or 0, group, number)
    await send_ephemeral(interaction, f"Removed rule #{number}.")


@app_commands.command(name="shadow", description="Shadow mode: show what the rules would do, change nothing")
@app_commands.describe(on="On: rules only note what they would do; off: rules decide")
@group_option(LINKED_GROUP_HELP)
async def shadow(interaction: Interaction, on: bool, group: str | None = None) -> None:
    services = services_of(interaction)
    await services.rules.shadow(actor_of(interaction), interaction.guild_id or 0, group, on)
    await send_ephemeral(
        interaction,
        "Shadow mode is on: cards will say what the rules would do, and nothing changes in VRChat."
        if on
        else "Shadow mode is off: the rules decide join requests.",
    )


@app_commands.command(name="list", description="The join-request rules of this server, in order")
@group_option(LINKED_GROUP_HELP)
async def list_rules(interaction: Interaction, group: str | None = None) -> None:
    services = services_of(interaction)
    binding, rules, shadow_on = await services.rules.list(
        actor_of(interaction), interaction.guild_id or 0, group
    )
    label = safe_text(services.access.group_label(binding.group_id), 100, single_line=True)
    if not rules:
        await send_ephemeral(interaction, f"No rules for {label}: every request waits for a moderator.")
        return
    embed = discord.Embed(title=f"Join-request rules for {label}", colour=discord.Colour.blurple())
    lines = [f"#{r.position} {safe_text(describe(r), 200)} → **{r.outcome}**" for r in rules]
    lines.append("Nothing matches, or something is unknown → held for a moderator.")
    embed.description = "\n".join(lines)
    embed.set_footer(text="Shadow mode: on (nothing changes in VRChat)" if shadow_on else "Shadow mode: off")
    await send_ephemeral(interaction, embed=embed)


async def setup(bot: GroupBridgeBot) -> None:
    rules = app_commands.Group(
        name="rules", description="Automatic decisions on join requests", parent=bot.groups.bridge
    )
    subcommands: tuple[app_commands.Command[Any, ..., None], ...] = (list_rules, add, remove, shadow)
    for command in subcommands:
        rules.add_command(command)
