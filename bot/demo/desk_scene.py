"""The demo's moderation desk: a runaway moderator stopped by the kill switch, a user's whole history,
and a Ban taken straight from a feed entry.

- The admin turns alerts on (`/bridge alerts set`); in VRChat, a group moderator kicks four members
  in a row; the alert is posted in #join-requests and the admin's "Remove this moderator's group
  roles" (confirmed) leaves that moderator with no group role in VRChat.
- A moderator notes something about the player banned earlier (`/vrc note`) and reads their history
  (`/vrc history`): the note, the ban and the role they were given, newest first, from the database.
- A troll joins; under the feed message about it, a moderator picks them in "Act on a user in this
  message", clicks Ban and confirms; VRChat's group shows them banned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.demo.acting import confirm, first_message, pick, reply_text, run_command, shown
from bot.feed.actions import FEED_ACTIONS_ID, action_value
from bot.sandbox.discord import StandInMessage
from bot.sandbox.vrchat import SimUser
from bot.sandbox.world import ADMIN_ID, MOD_ID, REQUESTS_CHANNEL_ID, SandboxWorld
from bot.watchdog.views import KILL_LABEL

ROGUE = "Aiko"  # the community's VRChat moderator
KICKED = ("Mika", "Nils", "Oona", "Pavel")
MAX_KICKS = 3  # alert when one actor kicks more than this within the window
TROLL = "Milo"
NOTE = "Banned in Discord for spamming invites; ask before lifting the VRChat ban."
DISCORD_TIME = re.compile(r"\s*·\s*<t:\d+(:[a-zA-Z])?>")

Say = Callable[[str], None]


@dataclass
class DeskSceneResult:
    alerted: bool = False  # the alert on the runaway moderator was posted
    roles_removed: bool = False  # after the kill switch, the moderator holds no group role in VRChat
    history: list[str] = field(default_factory=list)  # what /vrc history listed, newest first
    banned_from_feed: bool = False  # the Ban taken from the feed entry reached VRChat

    @property
    def history_complete(self) -> bool:
        """The note, the ban and the role given, all on the first page."""
        return len(self.history) >= 3 and {"Note", "User banned", "Role assigned"} <= set(self.history)

    @property
    def ok(self) -> bool:
        return self.alerted and self.roles_removed and self.history_complete and self.banned_from_feed


def alerts(world: SandboxWorld) -> list[StandInMessage]:
    return [
        m
        for m in world.public_messages(REQUESTS_CHANNEL_ID)
        if m.embeds and "Runaway moderator alert" in str(m.embeds[0].get("title"))
    ]


def _field(message: StandInMessage, name: str) -> str:
    fields = {f.get("name"): f.get("value") for f in message.embeds[0].get("fields", [])}
    return str(fields.get(name, ""))


def _offering(world: SandboxWorld, value: str) -> StandInMessage | None:
    """The feed message whose "Act on a user" select offers ``value``."""
    for message in world.feed_messages():
        for row in message.components or []:
            for component in row.get("components", []):
                if component.get("custom_id") == FEED_ACTIONS_ID and any(
                    o.get("value") == value for o in component.get("options", [])
                ):
                    return message
    return None


@dataclass
class _Desk:
    """The three parts of the scene, sharing the world, the result and what the members saw."""

    world: SandboxWorld
    replies: list[tuple[str, str]]
    timeout: float
    say: Say
    result: DeskSceneResult = field(default_factory=DeskSceneResult)

    async def runaway_moderator(self) -> None:
        # Role removals are left at a height the demo's later burst of routine entries never reaches.
        options = {"max_kicks": MAX_KICKS, "max_role_removals": 1000}
        said = reply_text(
            await run_command(self.world, "bridge", "alerts set", options, ADMIN_ID, self.timeout)
        )
        if "are on" not in said:
            raise RuntimeError(f"/bridge alerts set answered: {said}")
        self.say(
            "The admin turns on alerts on runaway moderators "
            f"([b]/bridge alerts set max_kicks:{MAX_KICKS}[/b]): more than {MAX_KICKS} kicks by one actor "
            "within 10 minutes."
        )
        state, group = self.world.sim.state, self.world.community.group
        rogue = self.world.players.named(ROGUE)
        victims = [state.add_user(name) for name in KICKED]
        for victim in victims:
            state.add_member(group.id, victim.id)  # members already, before tonight
        for victim in victims:
            state.kick(group.id, victim.id, rogue.id)
        self.say(f"In VRChat, group moderator {ROGUE} kicks {', '.join(KICKED)} one after another.")
        await self.world.wait_for(
            lambda: bool(alerts(self.world)), "the runaway-moderator alert", self.timeout
        )
        (alert,) = alerts(self.world)
        self.result.alerted = True
        counted = shown(_field(alert, "Counted"))
        self.say(f"#join-requests: [b]{shown(alert.content or '')}[/b] Counted: {counted}.")

        asked = await self.world.click(alert, KILL_LABEL, who=ADMIN_ID)
        outcome = await confirm(self.world, asked, "Remove roles", self.timeout)
        self.replies.append((f"{KILL_LABEL} ({ROGUE}), confirmed", outcome))
        membership = state.membership(group.id, rogue.id)
        self.result.roles_removed = membership is not None and not membership.role_ids
        self.say(
            f"The admin clicks [b]{KILL_LABEL}[/b] and confirms: {shown(outcome)} "
            f"In VRChat, {ROGUE} now holds {len(membership.role_ids) if membership else 0} group roles."
        )

    async def history(self, player: SimUser) -> None:
        """A note about ``player``, then their history; ``player``'s latest audit entry must be mirrored
        first (the history reads the database, never VRChat)."""
        latest = next(
            e.id
            for e in self.world.sim.state.audit(self.world.community.group.id)
            if e.target_id == player.id
        )
        await self.world.wait_for(
            lambda: latest in self.world.feed_audit_ids(),
            f"{player.display_name}'s ban mirrored",
            self.timeout,
        )
        noted = await run_command(
            self.world, "vrc", "note", {"user": player.id, "text": NOTE}, MOD_ID, self.timeout
        )
        if not reply_text(noted).startswith("Noted"):
            raise RuntimeError(f"/vrc note answered: {reply_text(noted)}")
        page = first_message(
            await run_command(self.world, "vrc", "history", {"user": player.id}, MOD_ID, self.timeout)
        )
        embed = (page.get("embeds") or [{}])[0]
        self.result.history = [
            DISCORD_TIME.sub("", str(f.get("name", ""))).lstrip("📝 ") for f in embed.get("fields", [])
        ]
        summary = str(embed.get("description", "")).splitlines()[-1:] or ["(no summary)"]
        self.replies.append(
            (f"/vrc history {player.display_name}", f"{summary[0]}: {'; '.join(self.result.history)}")
        )
        self.say(
            f"A moderator notes why {player.display_name} was banned ([b]/vrc note[/b]) and opens "
            f"[b]/vrc history[/b]: {shown(summary[0])}; newest first: {'; '.join(self.result.history)}."
        )

    async def ban_from_feed(self) -> None:
        state, group = self.world.sim.state, self.world.community.group
        troll = state.add_user(TROLL, bio="lol")
        state.join(group.id, troll.id)
        value = action_value("join", group.id, troll.id)
        await self.world.wait_for(
            lambda: _offering(self.world, value) is not None,
            f"the feed entry of {TROLL}'s join",
            self.timeout,
        )
        message = _offering(self.world, value)
        assert message is not None
        panel = (
            await (await pick(self.world, message, FEED_ACTIONS_ID, value)).wait(timeout=self.timeout)
        ).message
        if panel is None:
            raise RuntimeError("picking a user in the feed opened no panel")
        outcome = await confirm(self.world, await self.world.click(panel, "Ban"), "Ban", self.timeout)
        self.replies.append((f"Ban {TROLL} from the feed entry, confirmed", outcome))
        membership = state.membership(group.id, troll.id)
        self.result.banned_from_feed = membership is not None and membership.status == "banned"
        self.say(
            f"{TROLL} joins the group; under the feed entry a moderator picks {TROLL} in "
            f"[b]Act on a user in this message[/b], clicks [b]Ban[/b] and confirms: {shown(outcome)}"
        )


async def moderation_desk(
    world: SandboxWorld,
    player: SimUser,
    replies: list[tuple[str, str]],
    timeout: float,  # noqa: ASYNC109 - for each wait
    say: Say,
) -> DeskSceneResult:
    desk = _Desk(world, replies, timeout, say)
    await desk.runaway_moderator()
    await desk.history(player)
    await desk.ban_from_feed()
    return desk.result
