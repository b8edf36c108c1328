"""The scripted scenario of ``make demo``: a moderator's first evening with GroupBridge, offline.

The bot is the real one (``python -m bot run``, its own process, config and SQLite file); VRChat and
Discord are the local simulator and stand-in from ``bot.sandbox``. The script acts as VRChat players
and moderators (requests, joins, leaves, a role given, a run of kicks, a burst of activity) and as
Discord members (buttons, selects, slash commands: a post, role sync, linking, alerts, a history),
kills the bot with SIGKILL in the middle of the burst, restarts it, and finally checks what reached
Discord against VRChat's own audit log. The scenes of #14 and #15 live in bot.demo.ban_scene,
bot.demo.roles_scene and bot.demo.desk_scene; each records whether its result happened.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.demo.acting import answered, reply_text, shown
from bot.demo.ban_scene import PLAYER, BanSceneResult, link_and_ban
from bot.demo.desk_scene import DeskSceneResult, moderation_desk
from bot.demo.roles_scene import prepare_roles, switch_on
from bot.demo.status import Waiting, no_status
from bot.sandbox.discord import modal_submit
from bot.sandbox.world import (
    FEED_CHANNEL_ID,
    GUILD_ID,
    MOD_ID,
    ROUTINE_EVENT_TYPES,
    SandboxWorld,
    WorldSettings,
)

Say = Callable[[str], None]

REQUESTERS = ("Gwen", "Hiro", "Ines")
LATE_REQUESTER = "Jun"
JOINERS = ("Kofi", "Lena")


@dataclass
class DemoOptions:
    burst: int = 300
    kill_after: int = 100  # SIGKILL once this many burst entries reached the feed channel
    history: int = 5  # audit entries from before the bot's first start (backfilled and posted)
    timeout: float = 90.0  # for each wait; generous for slow CI machines


@dataclass
class DemoResult:
    """Everything the report prints; ``ok`` is what the exit status says."""

    started_at: float
    finished_at: float = 0.0
    audit_ids: list[str] = field(default_factory=list)  # VRChat's log, oldest first
    feed_ids: list[str] = field(default_factory=list)  # as they arrived in the feed channel
    stored: int = 0
    approved: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    still_pending: list[str] = field(default_factory=list)
    replies: list[tuple[str, str]] = field(default_factory=list)  # (what the moderator did, what they saw)
    restarts: int = 0
    vrchat_requests: Counter[str] = field(default_factory=Counter)
    vrchat_violations: list[str] = field(default_factory=list)
    discord_violations: list[str] = field(default_factory=list)
    bot_exit_status: int | None = None
    ban_scene: BanSceneResult = field(default_factory=BanSceneResult)  # link, roles, Discord ban
    desk: DeskSceneResult = field(default_factory=DeskSceneResult)  # alert, history, ban from the feed

    @property
    def duplicates(self) -> int:
        return len(self.feed_ids) - len(set(self.feed_ids))

    @property
    def lost(self) -> int:
        return len(set(self.audit_ids) - set(self.feed_ids))

    @property
    def out_of_order(self) -> bool:
        return self.first_disorder is not None

    @property
    def first_disorder(self) -> str | None:
        """Where the feed first leaves VRChat's order: the entry it posted and the one VRChat has
        there (so a failed run says what to look up in the kept database)."""
        first_seen = list(dict.fromkeys(self.feed_ids))
        wanted = [i for i in self.audit_ids if i in set(first_seen)]
        for at, (posted, expected) in enumerate(zip(first_seen, wanted, strict=True)):
            if posted != expected:
                return f"feed position {at}: posted {posted}, VRChat's order has {expected}"
        return None

    def summary(self) -> dict[str, object]:
        """The figures, for ``--json`` (what the tests and CI read)."""
        return {
            "audit_entries": len(self.audit_ids),
            "stored": self.stored,
            "posted": len(set(self.feed_ids)),
            "duplicates": self.duplicates,
            "lost": self.lost,
            "out_of_order": self.out_of_order,
            "first_disorder": self.first_disorder,
            "approved": self.approved,
            "blocked": self.blocked,
            "still_pending": self.still_pending,
            "restarts": self.restarts,
            "vrchat_requests": dict(self.vrchat_requests),
            "vrchat_violations": len(self.vrchat_violations),
            "discord_violations": len(self.discord_violations),
            "bot_exit_status": self.bot_exit_status,
            "linked": self.ban_scene.linked,
            "membership_role": self.ban_scene.membership_role,
            "vrchat_role_reached_discord": self.ban_scene.vrchat_role_in_discord,
            "discord_ban_prompted": self.ban_scene.prompted,
            "discord_ban_reached_vrchat": self.ban_scene.banned_in_vrchat,
            "runaway_alert": self.desk.alerted,
            "kill_switch_removed_roles": self.desk.roles_removed,
            "history": self.desk.history,
            "banned_from_feed": self.desk.banned_from_feed,
            "seconds": round(self.finished_at - self.started_at, 1),
            "ok": self.ok,
        }

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and not self.out_of_order
            and self.stored == len(self.audit_ids)
            and not self.vrchat_violations
            and not self.discord_violations
            and self.bot_exit_status == 0
            and self.ban_scene.ok
            and self.desk.ok
        )


async def run_scenario(
    directory: Path, options: DemoOptions, say: Say, waiting: Waiting = no_status
) -> tuple[DemoResult, SandboxWorld]:
    """Play the scenario in ``directory``; returns the result and the (closed) world to report on.
    ``waiting`` shows what the script waits for meanwhile (bot.demo.status)."""
    loop = asyncio.get_running_loop()
    result = DemoResult(started_at=loop.time())
    # Backfill everything and post it, so every entry of VRChat's log must reach the feed exactly once.
    settings = WorldSettings(poll_interval=1.0, backfill="all", post_backfill=True)
    world = SandboxWorld(directory, settings)
    async with world:
        state, group = world.sim.state, world.community.group
        await _before_start(world, options, say)
        roles = prepare_roles(world)
        bot = world.bot_process()
        await bot.start()
        say(f"Started the bot: [b]groupbridge run -c {world.config_path}[/b] (pid {bot.pid})")
        with waiting(
            "the bot to log in and post a card per join request",
            lambda: f"{len(world.cards())}/{len(REQUESTERS)} cards",
        ):
            await world.wait_for(
                lambda: len(world.cards()) == len(REQUESTERS),
                "a card per join request",
                options.timeout,
                process=bot,
            )
        say(f"{len(REQUESTERS)} join requests became cards in #join-requests.")
        await _moderate(world, result, options, say)
        await _post(world, result, options, say)
        with waiting("the admin to switch role sync on", None):
            await switch_on(world, roles, options.timeout, say)
        with waiting("a player to link, their roles to appear, and the Discord ban to reach VRChat", None):
            result.ban_scene = await link_and_ban(world, roles, result.replies, options.timeout, say)
        with waiting("the alert on a runaway moderator, a history, and a Ban from the feed", None):
            result.desk = await moderation_desk(
                world, world.players.named(PLAYER), result.replies, options.timeout, say
            )

        late = state.add_user(LATE_REQUESTER, bio="Heard about the movie nights")
        state.request_to_join(group.id, late.id)
        for name in JOINERS:
            state.join(group.id, state.add_user(name).id)
        state.leave(group.id, world.community.members[-1].id)
        say(
            f"In VRChat: {LATE_REQUESTER} asks to join, {' and '.join(JOINERS)} join, "
            f"{world.community.members[-1].display_name} leaves."
        )
        with waiting(f"{LATE_REQUESTER}'s card (the bot polls the audit log every second)", None):
            await world.wait_for(
                lambda: any(LATE_REQUESTER in str(c.embeds[0].get("title", "")) for c in world.cards()),
                "the late request's card",
                options.timeout,
                process=bot,
            )
        say(f"{LATE_REQUESTER}'s card appeared (found through the mirrored audit log).")

        before = len(world.feed_audit_ids())
        _burst(world, options.burst)
        say(f"A burst of {options.burst} audit entries lands in VRChat.")
        kill_at = min(options.kill_after, options.burst)
        with waiting(
            f"{kill_at} of the burst in #audit-feed (Discord allows 5 messages per 5 s)",
            lambda: f"{len(world.feed_audit_ids()) - before}/{kill_at} posted",
        ):
            await world.wait_for(
                lambda: len(world.feed_audit_ids()) >= before + kill_at,
                "the burst to start draining",
                options.timeout,
                process=bot,
            )
        await bot.kill()
        result.restarts += 1
        say(
            f"[b red]SIGKILL[/b red] the bot with {len(world.feed_audit_ids()) - before} of the burst "
            "posted; restarting it on the same database."
        )
        await bot.start()
        every = {e.id for e in state.audit(group.id)}
        with waiting(
            "the restarted bot to post every audit entry in #audit-feed",
            lambda: f"{len(every & set(world.feed_audit_ids()))}/{len(every)} posted",
        ):
            await world.wait_for(
                lambda: every <= set(world.feed_audit_ids()),
                "every audit entry in #audit-feed",
                options.timeout,
                process=bot,
            )
        with waiting("a few more polls, in case a duplicate would show up", None):
            await asyncio.sleep(settings.poll_interval * 3)
        with waiting("the bot to stop (SIGTERM)", None):
            result.bot_exit_status = await bot.stop()
        say(f"Stopped the bot (SIGTERM, exit status {result.bot_exit_status}).")

        result.audit_ids = world.expected_audit_ids()
        result.feed_ids = world.feed_audit_ids()
        result.still_pending = [
            state.display_name(m.user_id) for m in group.memberships.values() if m.status == "requested"
        ]
        for request in world.sim.requests:
            result.vrchat_requests[request.method] += 1
        result.vrchat_violations = list(world.sim.violations)
        result.discord_violations = list(world.discord.violations)
        result.stored = await _count_stored(world)
    result.finished_at = loop.time()
    return result, world


async def _before_start(world: SandboxWorld, options: DemoOptions, say: Say) -> None:
    state, group = world.sim.state, world.community.group
    start = datetime.now(UTC) - timedelta(hours=options.history + 1)
    for i in range(options.history):
        state.add_audit_entry(
            group.id,
            "group.update",
            world.community.bot.id,
            group.id,
            f"Group settings changed ({i + 1})",
            created_at=start + timedelta(hours=i),
        )
    for name in REQUESTERS:
        state.request_to_join(group.id, state.add_user(name, bio=f"Hi, I'm {name}!").id)
    say(
        f"VRChat simulator: group [b]{group.name}[/b] with {len(group.memberships)} members, "
        f"{options.history} older log entries and {len(REQUESTERS)} pending join requests."
    )


async def _moderate(world: SandboxWorld, result: DemoResult, options: DemoOptions, say: Say) -> None:
    approve = await world.click(world.card_for(REQUESTERS[0]), "Approve")
    await answered(approve, options.timeout)
    result.replies.append((f"Approve {REQUESTERS[0]}", reply_text(approve)))
    result.approved.append(REQUESTERS[0])
    say(f"Moderator clicked [b]Approve[/b] on {REQUESTERS[0]}'s card: {shown(reply_text(approve))}")

    ask = await world.click(world.card_for(REQUESTERS[1]), "Reject & Block")
    prompt = (await ask.wait(timeout=options.timeout)).message
    if prompt is None:
        raise RuntimeError("Reject & Block did not ask for confirmation")
    confirm = await world.click(prompt, "Reject & Block")
    await confirm.wait_for_followup(1, timeout=options.timeout)
    result.replies.append((f"Reject & Block {REQUESTERS[1]} (confirmed)", reply_text(confirm)))
    result.blocked.append(REQUESTERS[1])
    say(
        f"Moderator clicked [b]Reject & Block[/b] on {REQUESTERS[1]}'s card and confirmed: "
        f"{shown(reply_text(confirm))}"
    )


async def _post(world: SandboxWorld, result: DemoResult, options: DemoOptions, say: Say) -> None:
    opened = await world.command("vrc", "post", {"visibility": "group"})
    await answered(opened, options.timeout)
    if opened.callback is None or opened.callback.body["type"] != 9:
        raise RuntimeError(f"/vrc post did not open its form: {reply_text(opened)}")
    modal = opened.callback.body["data"]
    inputs = [c for row in modal["components"] for c in row.get("components", [row.get("component", {})])]
    ids = {c.get("label", ""): c["custom_id"] for c in inputs if "custom_id" in c}
    member = world.discord.member(GUILD_ID, MOD_ID)
    submitted = await world.discord.dispatch_interaction(
        modal_submit(
            modal["custom_id"],
            {ids["Title"]: "Movie night", ids["Text"]: "Friday 20:00 in the Lounge. @everyone welcome!"},
            channel_id=FEED_CHANNEL_ID,
            member=member,
        )
    )
    preview = (await submitted.wait(timeout=options.timeout)).message
    if preview is None:
        raise RuntimeError("the post form gave no preview")
    publish = await world.click(preview, "Publish")
    await publish.wait_for_edit(1, timeout=options.timeout)
    result.replies.append(("/vrc post “Movie night” → Publish", reply_text(publish)))
    say(f"Moderator published a post with [b]/vrc post[/b]: {shown(reply_text(publish))}")


def _burst(world: SandboxWorld, count: int) -> None:
    state, group = world.sim.state, world.community.group
    actors = [world.community.bot, *world.community.members[:2]]
    # Strictly increasing times a millisecond apart, ending about now: a real burst. It starts after
    # the log's newest entry, though: an earlier start would slip entries in before one the bot has
    # already posted (a ban a scene made a moment ago), and the feed, rightly, posts such late
    # entries after it, which the demo would count as out of order.
    log = state.audit(group.id)
    start = datetime.now(UTC) - timedelta(milliseconds=count)
    if log:
        start = max(start, log[0].created_at + timedelta(milliseconds=1))
    for i in range(count):
        kind = ROUTINE_EVENT_TYPES[i % len(ROUTINE_EVENT_TYPES)]
        actor = actors[i % len(actors)]
        target = world.community.members[i % len(world.community.members)]
        state.add_audit_entry(
            group.id,
            kind,
            actor.id,
            target.id,
            f"Burst entry {i + 1} ({kind})",
            created_at=start + timedelta(milliseconds=i),
        )


async def _count_stored(world: SandboxWorld) -> int:
    from bot.store import Store  # the bot has stopped; its SQLite file is the record

    store = await Store.open(f"sqlite+aiosqlite:///{world.database_path}")
    try:
        return await store.export_csv(io.StringIO(), group_id=world.community.group.id)
    finally:
        await store.close()
