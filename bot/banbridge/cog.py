"""The Discord side of Discord bans that reach VRChat: the gateway's ban events, the cards, and
`/bridge bans` (Manage Server) to choose per binding between prompting, banning at once and nothing.

GUILD_BAN_ADD and GUILD_BAN_REMOVE come with the Guild Moderation intent (not privileged) to the
process connected to the gateway, and so do kicks, as GUILD_AUDIT_LOG_ENTRY_CREATE, when the bot may
View Audit Log; that process posts the cards. A prompt is stored before its card
is posted (bot.banbridge.service), and a sweep on connect and then every SWEEP_SECONDS posts what a
crash or a Discord error left unposted: found in the channel by its footer when the card made it,
else sent with the prompt's nonce. Discord sends no events for the time the bot was away: at each
connection its audit log says what happened meanwhile (bot.banbridge.catch_up). An automatic ban is
credited to the moderator whom the ban's audit entry names (bot.banbridge.moderators).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import crashpoints
from bot.banbridge.catch_up import CATCH_UP_LIMIT, TRACKED, missed, now_mark
from bot.banbridge.moderators import BanAuthor, BanAuthors, named
from bot.banbridge.service import BanSettingView
from bot.banbridge.views import BanPromptButton, ban_card, close_card, footer, prompt_view
from bot.services.common import KeyedLocks, ServiceError
from bot.services.registry import Actor
from bot.services.users import UserDirectory
from bot.store import BanPrompt
from bot.views.context import actor_of
from bot.views.durable_post import find_own_message, has_footer, row_nonce, send_once
from bot.views.group_option import group_option
from bot.views.reply import NO_MENTIONS, send_ephemeral
from bot.vrchat import VRChatError

if TYPE_CHECKING:
    from bot.bot import GroupBridgeBot, Interaction

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0
CARD_LOOKBACK = 100  # messages searched for a card whose id a crash kept from being stored
KICK_TEXT = {
    "prompt": "a card asks the moderators whether to ban the linked VRChat account",
    "off": "nothing happens in VRChat",
}
MODE_TEXT = {
    "prompt": "a card asks the moderators whether to ban the linked VRChat account too",
    "ban": "the linked VRChat account is banned at once (automatic), credited to whoever banned in "
    "Discord, and a card says so",
    "off": "nothing happens in VRChat",
}


class BanBridge(commands.Cog):
    def __init__(self, bot: GroupBridgeBot) -> None:
        self.bot = bot
        self._users: UserDirectory | None = None
        self._locks: KeyedLocks[int] = KeyedLocks()
        self._sweeper: asyncio.Task[None] | None = None
        self._catching_up: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()  # set once this connection's catch-up is over
        self._failed: set[int] = set()  # prompts whose card Discord refused (warned about once)
        self.authors = BanAuthors()  # who made each Discord ban, from the audit entries heard

    @property
    def users(self) -> UserDirectory:
        if self._users is None:
            self._users = UserDirectory(self.bot.vrchat)
        return self._users

    async def cog_unload(self) -> None:
        for task in (self._sweeper, self._catching_up):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # ------------------------------------------------------------------ gateway events

    @commands.Cog.listener()
    async def on_member_ban(self, guild: discord.Guild, user: discord.User | discord.Member) -> None:
        prompts = await self.bot.ban_bridge.on_ban(guild.id, user.id)
        crashpoints.reached("banbridge.after_store")
        for prompt in prompts:
            await self.deliver(prompt)  # an automatic ban waits a moment for who banned (moderators.py)

    @commands.Cog.listener()
    async def on_audit_log_entry_create(self, entry: discord.AuditLogEntry) -> None:
        """A ban, unban or kick as Discord's audit log tells it (Guild Moderation intent and View Audit
        Log). A ban's entry names who banned, for the automatic ban; a kick prompts (leaving by oneself
        writes no entry, so only a real kick does). Only these entries move the server's mark: the
        next catch-up starts after the last one acted on (one write per entry the bridge uses)."""
        if entry.action not in TRACKED or entry.target is None:
            return
        target = int(entry.target.id)
        if entry.action is discord.AuditLogAction.kick:
            await self._kicked(entry.guild.id, target, entry.id)
        elif entry.action is discord.AuditLogAction.ban:
            self.authors.heard(entry)
        else:
            self.authors.forget(entry.guild.id, target)
        if self._caught_up.is_set():  # before that, the mark must stay where the catch-up starts
            await self.bot.ban_bridge.move_audit_mark(entry.guild.id, entry.id)

    @commands.Cog.listener()
    async def on_member_unban(self, guild: discord.Guild, user: discord.User) -> None:
        await self._unbanned(guild.id, user.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="ban prompt cards")
        if self._catching_up is None or self._catching_up.done():  # a task of ours: stopped with the cog
            self._caught_up.clear()
            self._catching_up = asyncio.create_task(self._catch_up_all(), name="bans made while away")

    @commands.Cog.listener()
    async def on_disconnect(self) -> None:
        # Until a RESUME replays what was missed, or the next session's catch-up has read it, the mark
        # stays: an entry heard first must not move it past the ones the catch-up is still to read.
        self._caught_up.clear()

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        if self._catching_up is None or self._catching_up.done():
            self._caught_up.set()  # Discord replayed the events the gap missed

    async def caught_up(self) -> None:
        """Until what was done while no process listened has been acted on (after a connection)."""
        await self._caught_up.wait()

    async def _catch_up_all(self) -> None:
        for guild in self.bot.guilds:
            try:
                await self.catch_up(guild)
            except Exception:  # the store is away, or the like: the next connection tries again
                log.exception("Catching up on the bans and kicks of %s made while away failed", guild.id)
        self._caught_up.set()

    async def _banned(self, guild_id: int, user_id: int, author: BanAuthor | None) -> int:
        posted = 0
        for prompt in await self.bot.ban_bridge.on_ban(guild_id, user_id):
            posted += await self.deliver(prompt, author)
        return posted

    async def _kicked(self, guild_id: int, user_id: int, entry_id: int) -> int:
        posted = 0
        for prompt in await self.bot.ban_bridge.on_kick(guild_id, user_id, entry_id):
            posted += await self.deliver(prompt)
        return posted

    async def _unbanned(self, guild_id: int, user_id: int) -> None:
        self.authors.forget(guild_id, user_id)
        for prompt in await self.bot.ban_bridge.on_unban(guild_id, user_id):
            lifted = await self.bot.ban_bridge.prompt(prompt.id)
            if lifted is None or prompt.message_id is None:
                continue
            message = await self._fetch(prompt.channel_id, prompt.message_id)
            await close_card(message, lifted, self.bot.ban_bridge.group_label(prompt.group_id))

    async def catch_up(self, guild: discord.Guild) -> int:
        """Act on the bans, unbans and kicks the server's audit log shows after its mark (made while
        no process listened); how many cards were posted. A server whose bans prompt nothing only
        has its mark moved to now."""
        bridge = self.bot.ban_bridge
        mark = await bridge.audit_mark(guild.id)
        if mark is None or not await bridge.watches(guild.id):
            await bridge.move_audit_mark(guild.id, now_mark())  # from now on
            return 0
        try:
            read = guild.audit_logs(limit=CATCH_UP_LIMIT, after=discord.Object(id=mark), oldest_first=True)
            entries = [entry async for entry in read]
        except discord.Forbidden:
            log.warning(
                "Bans and kicks in server %s made while the bot was away are not caught up: the bot "
                "needs View Audit Log there.",
                guild.id,
            )
            return 0
        found = missed(entries)
        posted = sum([await self._banned(guild.id, user, author) for user, author in found.banned])
        for user in found.unbanned:
            await self._unbanned(guild.id, user)
        posted += sum([await self._kicked(guild.id, user, entry) for user, entry in found.kicks])
        if found.newest is not None:
            await bridge.move_audit_mark(guild.id, found.newest)
        if len(entries) == CATCH_UP_LIMIT:
            log.warning(
                "Server %s: caught up on %d audit entries; the rest at the next connection.",
                guild.id,
                CATCH_UP_LIMIT,
            )
        if found.banned or found.unbanned or found.kicks:
            log.info(
                "Server %s, while the bot was away: %d ban(s), %d unban(s), %d kick(s); %d card(s) posted.",
                guild.id,
                len(found.banned),
                len(found.unbanned),
                len(found.kicks),
                posted,
            )
        return posted

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the store is away, or the like: the next sweep tries again
                log.exception("Posting the cards of Discord bans failed; trying again later")
            await asyncio.sleep(SWEEP_SECONDS)

    async def sweep(self) -> int:
        """Post every prompt whose card is not known to be posted; how many were."""
        done = 0
        for prompt in await self.bot.ban_bridge.unposted():
            done += await self.deliver(prompt)
        return done

    # ------------------------------------------------------------------ cards

    async def deliver(self, prompt: BanPrompt, author: BanAuthor | None = None) -> bool:
        """Ban first when the binding bans automatically (credited to `author`, who made the Discord
        ban, when the caller knows; else found out here), then post the card, once."""
        async with self._locks.hold(prompt.id):
            current = await self.bot.ban_bridge.prompt(prompt.id)
            if current is None or current.round != prompt.round or current.message_id is not None:
                return False
            if current.state == "lifted":
                return False
            if current.state == "auto":
                current = await self._ban_automatically(current, author)
                if current.state == "lifted":  # the Discord ban was lifted while we waited
                    return False
            try:
                message_id = await self._posted_before(current) or await self._post(current)
            except discord.HTTPException as exc:
                # Tried again by every sweep (a permission fixed later); said once per card, not each minute.
                level = logging.DEBUG if current.id in self._failed else logging.WARNING
                self._failed.add(current.id)
                log.log(
                    level, "Could not post the ban card %s in %s: %s", current.id, current.channel_id, exc
                )
                return False
            crashpoints.reached("banbridge.after_post")
            await self.bot.ban_bridge.posted(current, message_id)
            return True

    async def _post(self, prompt: BanPrompt) -> int:
        name = await self._display_name(prompt.vrchat_user_id)
        card = ban_card(prompt, self.bot.ban_bridge.group_label(prompt.group_id), name)
        nonce = row_nonce(prompt.channel_id, f"ban:{prompt.id}:{prompt.round}")
        message = await send_once(
            self.bot,
            prompt.channel_id,
            nonce=nonce,
            embed=card,
            view=prompt_view(prompt),
            allowed_mentions=NO_MENTIONS,
        )
        return message.id

    async def _posted_before(self, prompt: BanPrompt) -> int | None:
        """The card a crash posted without its id being stored: Discord collapses a repeated nonce for
        a few minutes only, so the channel's history is asked first."""
        wanted = footer(prompt)
        return await find_own_message(
            self.bot, prompt.channel_id, lambda message: has_footer(message, wanted), lookback=CARD_LOOKBACK
        )

    async def _fetch(self, channel_id: int, message_id: int) -> discord.Message | None:
        try:
            channel = self.bot.get_partial_messageable(channel_id)
            return await channel.get_partial_message(message_id).fetch()
        except discord.HTTPException:
            return None

    async def _display_name(self, user_id: str) -> str | None:
        """The VRChat account's name for the card (one request); the card shows the ID anyway."""
        try:
            return (await self.users.user(user_id)).display_name or None
        except (VRChatError, ServiceError):
            return None

    async def _ban_automatically(self, prompt: BanPrompt, author: BanAuthor | None) -> BanPrompt:
        """The automatic ban, credited to the Discord moderator who banned; to the bot when no audit
        entry says who in time, or the bot made the Discord ban itself."""
        guild = self.bot.get_guild(prompt.guild_id)
        if author is None and guild is not None:
            author = await self.authors.find(guild, prompt.discord_user_id, prompt.created_at)
        me = self.bot.user
        who, name = (me.id, me.name) if me is not None else (0, "GroupBridge")
        credited = False
        if author is not None and guild is not None and author.user_id != who:
            who, name, credited = author.user_id, await named(guild, author), True
        actor = Actor(
            user_id=who, name=name, guild_id=prompt.guild_id, role_ids=frozenset(), manage_guild=False
        )
        return await self.bot.ban_bridge.ban_automatically(prompt, actor, credited=credited)


def setting_text(view: BanSettingView, label: str, sees_kicks: bool) -> str:
    mode, kick = view.setting.discord_ban, view.setting.discord_kick
    lines = [
        f"When a member linked to a VRChat account is banned in this server, for {label}: "
        f"**{mode}**: {MODE_TEXT[mode]}.",
        f"When one is kicked: **{kick}**: {KICK_TEXT[kick]}.",
    ]
    if mode != "off" or kick != "off":
        lines.append(f"Cards go to <#{view.channel_id}>.")
    if kick != "off" and not sees_kicks:
        lines.append(
            "⚠ The bot lacks View Audit Log here: Discord tells it about kicks only through the audit "
            "log, so kicks will not prompt until its role has that permission."
        )
    return "\n".join(lines)


@app_commands.command(name="bans", description="What a Discord ban of a linked member does in VRChat")
@app_commands.describe(
    mode="prompt: ask the moderators (default); ban: ban in VRChat at once; off: nothing",
    kick="For kicks: prompt (needs View Audit Log) or off (default)",
    channel="Where the cards go (default: the binding's requests channel)",
)
@app_commands.choices(
    mode=[
        app_commands.Choice(name="prompt: ask the moderators", value="prompt"),
        app_commands.Choice(name="ban: ban in VRChat automatically", value="ban"),
        app_commands.Choice(name="off: do nothing in VRChat", value="off"),
    ],
    kick=[
        app_commands.Choice(name="prompt: ask the moderators", value="prompt"),
        app_commands.Choice(name="off: do nothing in VRChat", value="off"),
    ],
)
@group_option()
async def bans(
    interaction: Interaction,
    mode: str | None = None,
    kick: str | None = None,
    channel: discord.TextChannel | None = None,
    group: str | None = None,
) -> None:
    service = interaction.client.ban_bridge
    actor = actor_of(interaction)
    guild_id = interaction.guild_id or 0
    if mode is None and kick is None and channel is None:
        view = await service.setting(actor, guild_id, group)
    else:
        view = await service.configure(actor, guild_id, group, mode, channel.id if channel else None, kick)
        # Bans made before this change were made under the old setting: no catch-up prompts for them.
        await service.move_audit_mark(guild_id, now_mark())
    label = service.group_label(view.group_id)
    # What the bot may do in this channel comes with the interaction: no extra request.
    sees_kicks = interaction.app_permissions.view_audit_log
    await send_ephemeral(interaction, setting_text(view, label, sees_kicks))


async def setup(bot: GroupBridgeBot) -> None:
    bot.groups.bridge.add_command(bans)
    # The cards' buttons, restart-safe: a click on a card posted before this start still arrives.
    bot.add_dynamic_items(BanPromptButton)
    await bot.add_cog(BanBridge(bot))


async def teardown(bot: GroupBridgeBot) -> None:
    bot.remove_dynamic_items(BanPromptButton)
