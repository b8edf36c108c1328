"""`/vrc instance open|close` (both confirmed), and the age-gate policy's loop and Close button.

Thin: bot.instances.service decides and checks, bot.instances.age_gate polls. The loop runs only in
a process that runs background work, and asks VRChat nothing while no binding has the policy on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING

from discord import app_commands
from discord.ext import commands

from bot.instances.age_gate import POLL_SECONDS, AgeGateWatch, Finding
from bot.instances.service import ACCESS_NAMES, REGION_NAMES
from bot.instances.views import CloseButton, close_view, report_embed
from bot.lease_names import group_lease
from bot.services.common import Actor
from bot.store.leases import LeaseGuard, lease_guard
from bot.text import plain_label, safe_text
from bot.views.confirm import confirm_then
from bot.views.context import actor_of, services_of
from bot.views.group_option import chosen_group, group_option
from bot.views.reply import NO_MENTIONS

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

log = logging.getLogger(__name__)


class GroupInstances(commands.Cog):
    def __init__(self, bot: GroupBridgeBot) -> None:
        self.bot = bot
        # Built at first use: the commands are also loaded without a client or store (`groupbridge
        # sync`, the command-tree tests), and setup_hook sets those before any command can run.
        self._watch: AgeGateWatch | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def watch(self) -> AgeGateWatch:
        if self._watch is None:
            self._watch = AgeGateWatch(self.bot.vrchat, self.bot.store, self.bot.config)
        return self._watch

    async def cog_load(self) -> None:
        if self.bot.run_feed:
            self._task = asyncio.create_task(self._loop(), name="age-gate policy")

    async def cog_unload(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        await self.bot.work_started.wait()  # the leases say which groups this process polls
        while not self._stop.is_set():
            try:
                await self.check_once()
            except Exception:  # the store is unreachable, or the like: the next round tries again
                log.exception("The age-gate policy round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=POLL_SECONDS * random.uniform(0.9, 1.1))

    async def check_once(self) -> int:
        """One round of the age-gate policy; how many messages it posted."""
        posted = 0
        bot = self.bot

        def guard_for(group_id: str) -> LeaseGuard | None:
            return lease_guard(bot.leases, bot.store, group_lease(group_id))

        for finding in await self.watch.poll(guard_for):
            try:
                if not await self.watch.may_post(finding, guard_for):
                    continue
                await self._post(finding)
                posted += 1
            except Exception:  # that channel is gone or closed to the bot: the others still get theirs
                log.exception("Posting an age-gate report to channel %s failed", finding.channel_id)
        return posted

    async def _post(self, finding: Finding) -> None:
        channel = self.bot.get_partial_messageable(finding.channel_id)
        label = self.bot.services.access.group_label(finding.binding.group_id)
        embed = report_embed(finding, label)
        if finding.kind == "closed":  # nothing left to click
            message = await channel.send(embed=embed, allowed_mentions=NO_MENTIONS)
        else:
            message = await channel.send(
                embed=embed, view=close_view(finding.report.id), allowed_mentions=NO_MENTIONS
            )
        await self.watch.posted(finding, finding.channel_id, message.id)


# -- autocomplete ---------------------------------------------------------------------------------


async def _group_of(interaction: Interaction) -> str:
    return await chosen_group(interaction, getattr(interaction.namespace, "group", None))


async def world_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Worlds of the group's recent instances (the database only)."""
    try:
        worlds = await interaction.client.instances.recent_worlds(
            actor_of(interaction), await _group_of(interaction), current
        )
    except Exception:
        return []
    return [app_commands.Choice(name=plain_label(w.name), value=w.world_id) for w in worlds]


async def instance_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The group's open instances (one VRChat list per group per 30 s at most)."""
    try:
        found = await interaction.client.instances.open_instances(
            actor_of(interaction), await _group_of(interaction), current
        )
    except Exception:
        return []
    choices = []
    for item in found:
        # Discord allows 100 characters for a choice's value: a location is often longer, so the
        # instance ID (the service finds its world again) stands in for it.
        value = item.location if len(item.location) <= 100 else item.instance_id
        if len(value) > 100:
            continue
        people = f" · {item.members} in it" if item.members is not None else ""
        gate = " · no age gate" if item.age_gated is False else ""
        choices.append(app_commands.Choice(name=plain_label(f"{item.world_name}{people}{gate}"), value=value))
    return choices


async def roles_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Group roles for a comma-separated list: the last part is completed, the rest kept."""
    head, _, last = current.rpartition(",")
    try:
        roles = await services_of(interaction).member_roles.group_roles(
            actor_of(interaction), await _group_of(interaction), last
        )
    except Exception:
        return []
    prefix = f"{head}," if head else ""
    # A choice's value holds 100 characters (two role IDs): beyond that, names can still be typed.
    return [
        app_commands.Choice(name=plain_label(prefix + r.name), value=prefix + r.role_id)
        for r in roles
        if len(prefix + r.role_id) <= 100
    ]


# -- commands -------------------------------------------------------------------------------------


@app_commands.command(name="open", description="Open a group instance (asks first)")
@app_commands.describe(
    world="A world ID (wrld_…) or a vrchat.com world link; recent worlds are offered",
    access="Who may join (default: members only)",
    region="Where VRChat hosts it (default: US West)",
    roles="Members-only: limit it to these group roles (comma-separated)",
    age_gate="Only age-verified (18+) users may join",
)
@app_commands.choices(
    access=[app_commands.Choice(name=label, value=value) for value, label in ACCESS_NAMES.items()],
    region=[app_commands.Choice(name=label, value=value) for value, label in REGION_NAMES.items()],
)
@app_commands.autocomplete(world=world_autocomplete, roles=roles_autocomplete)
@group_option()
async def open_instance(
    interaction: Interaction,
    world: str,
    access: str = "members",
    region: str = "us",
    roles: str = "",
    age_gate: bool = False,
    group: str | None = None,
) -> None:
    actor = actor_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services_of(interaction).access.require_moderator(actor, group_id)  # refused before asking
    await interaction.response.defer(ephemeral=True, thinking=True)
    service = interaction.client.instances
    plan = await service.plan_open(actor, group_id, world, access, region, roles, age_gate)

    async def work(clicker: Actor) -> str:
        opened = await service.open(clicker, plan)
        text = safe_text(opened.message, 1500)
        return f"{text}\n[Launch]({opened.launch_url})" if opened.launch_url else text

    await confirm_then(interaction, f"Open {safe_text(plan.summary, 600)}?", "Open", work)


@app_commands.command(name="close", description="Close one of the group's instances now (asks first)")
@app_commands.describe(instance="The instance: pick from the list, or paste its location or launch link")
@app_commands.autocomplete(instance=instance_autocomplete)
@group_option()
async def close_instance(interaction: Interaction, instance: str, group: str | None = None) -> None:
    actor = actor_of(interaction)
    group_id = await chosen_group(interaction, group)
    await services_of(interaction).access.require_moderator(actor, group_id)
    service = interaction.client.instances
    location = await service.check_close(actor, group_id, instance)

    async def work(clicker: Actor) -> str:
        return safe_text((await service.close(clicker, group_id, location)).message, 1900)

    await confirm_then(
        interaction,
        f"Close the group instance {safe_text(location.partition(':')[2], 300)} now? Everyone in it leaves.",
        "Close",
        work,
    )


async def setup(bot: GroupBridgeBot) -> None:
    group = app_commands.Group(name="instance", description="Open or close a group instance")
    group.add_command(open_instance)
    group.add_command(close_instance)
    bot.groups.vrc.add_command(group)
    await bot.add_cog(GroupInstances(bot))
    bot.add_dynamic_items(CloseButton)
