"""Discord bans that reach VRChat, with no Discord in it: which bans become prompts, who may decide
them, and the VRChat ban itself.

A ban of a linked member in a server becomes one prompt per VRChat group bound there (the group's
oldest binding in that server decides: its `discord_ban` setting and its channel). The prompt is
stored before anything is posted or banned (bot.store.ban_prompts), so the cog can crash anywhere
and the next start finishes the job without doing it twice.

    prompts = await banbridge.on_ban(guild_id, discord_user_id)   # [] when not linked
    decision = await banbridge.confirm(actor, prompt.id, prompt.round)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from bot.services.access import GUILD_ONLY, Access
from bot.services.common import (
    ActionLog,
    Actor,
    Clock,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    error_text,
    utcnow,
)
from bot.store import BanPrompt, BanPromptState, BanSetting, Binding, DiscordBanMode, DiscordKickMode
from bot.store.ban_prompts import BAN_TRIGGER
from bot.store.feature_ports import BanPrompts
from bot.text import safe_text
from bot.vrchat import BadRequest, Forbidden, VRChatAPI, VRChatError

# A moderator's Confirm holds the prompt while VRChat answers; a claim older than this belonged to a
# process that died mid-call, and another click may take it over (banning twice is harmless).
CLAIM_TIMEOUT = timedelta(minutes=2)
REASON = "Banned in Discord"
BAN_ACTION = "member.ban"  # as /vrc ban: the feed credits the VRChat entry to whoever is recorded
DISMISS_ACTION = "ban_prompt.dismiss"
MODES: tuple[DiscordBanMode, ...] = ("off", "prompt", "ban")
KICK_MODES: tuple[DiscordKickMode, ...] = ("off", "prompt")
# A banned prompt's note: how it was banned, for the card.
ALREADY = "already banned in VRChat"
AUTOMATIC = "banned automatically"
CREDITED = "credited to who banned in Discord"  # an audit entry named them (handled_by_*); else the bot


def automatic_name(name: str) -> str:
    """How the action log (and so the feed and /vrc history) names who an automatic ban is credited to."""
    return f"{name} (automatic: Discord ban)"


def was_automatic(prompt: BanPrompt) -> bool:
    return prompt.state == "banned" and (prompt.note or "").startswith(AUTOMATIC)


def was_credited(prompt: BanPrompt) -> bool:
    """An automatic ban whose handled_by_* name the Discord moderator who banned (not the bot)."""
    return was_automatic(prompt) and CREDITED in (prompt.note or "")


def was_already_banned(prompt: BanPrompt) -> bool:
    return prompt.state == "banned" and ALREADY in (prompt.note or "")


Mode = TypeVar("Mode", bound=str)


class PromptClosed(ServiceError):
    """The prompt was decided already (or its ban lifted): `prompt` says how, for the card."""

    def __init__(self, message: str, prompt: BanPrompt) -> None:
        super().__init__(message)
        self.prompt = prompt


@dataclass(frozen=True, slots=True)
class BanDecision:
    """A prompt decided: `prompt` as it is now; `already` when VRChat had banned the user before."""

    prompt: BanPrompt
    already: bool = False


@dataclass(frozen=True, slots=True)
class BanSettingView:
    group_id: str
    setting: BanSetting
    channel_id: int  # where the cards go


def prompt_channel(binding: Binding, setting: BanSetting) -> int:
    """The configured channel, else the binding's requests channel, else its feed channel."""
    return setting.prompt_channel_id or binding.requests_channel_id or binding.feed_channel_id


def closed_text(prompt: BanPrompt) -> str:
    """Why a click found nothing left to decide, in one line."""
    who = safe_text(prompt.handled_by_name or "someone", 100, single_line=True)
    if prompt.state == "banned":
        return f"Already banned in VRChat (by {who})."
    if prompt.state == "dismissed":
        return f"Already dismissed by {who}."
    if prompt.state == "banning":
        return f"{who} is banning them in VRChat right now."
    if prompt.state == "lifted":
        return "The Discord ban was lifted; there is nothing to decide any more."
    return "This prompt is not waiting for a decision."


class BanBridgeService:
    def __init__(
        self, vrchat: VRChatAPI, store: BanPrompts, access: Access, actions: ActionLog, clock: Clock = utcnow
    ) -> None:
        self._vrchat = vrchat
        self._store = store
        self._access = access
        self._actions = actions
        self._clock = clock

    def group_label(self, group_id: str) -> str:
        return self._access.group_label(group_id)

    # ------------------------------------------------------------------ from Discord's events

    async def on_ban(self, guild_id: int, discord_user_id: int) -> list[BanPrompt]:
        """The prompts this ban starts: none when the user is not linked, or every binding of the server
        has it 'off', or the ban was seen before (the same event again)."""
        return await self._prompts(guild_id, discord_user_id, BAN_TRIGGER)

    async def on_kick(self, guild_id: int, discord_user_id: int, audit_entry_id: int) -> list[BanPrompt]:
        """The same for a kick (Discord's audit entry `audit_entry_id`), where a binding prompts for
        kicks (`discord_kick = "prompt"`; off by default). A kick never bans automatically."""
        return await self._prompts(guild_id, discord_user_id, f"kick:{audit_entry_id}")

    async def _prompts(self, guild_id: int, discord_user_id: int, trigger: str) -> list[BanPrompt]:
        kick = trigger != BAN_TRIGGER
        link = await self._store.link_of_discord(discord_user_id)
        if link is None:
            return []
        prompts: list[BanPrompt] = []
        decided: set[str] = set()
        for binding in await self._store.list_bindings(guild_id=guild_id):  # oldest first
            if binding.group_id in decided:
                continue
            decided.add(binding.group_id)
            setting = await self._store.ban_setting(binding.id)
            mode = setting.discord_kick if kick else setting.discord_ban
            if mode == "off" or not self._allowed(binding.group_id):
                continue
            prompt = await self._store.open_ban_prompt(
                binding_id=binding.id,
                guild_id=guild_id,
                group_id=binding.group_id,
                discord_user_id=discord_user_id,
                vrchat_user_id=link.vrchat_user_id,
                channel_id=prompt_channel(binding, setting),
                state="auto" if mode == "ban" else "open",
                trigger=trigger,
            )
            if prompt is not None:
                prompts.append(prompt)
        return prompts

    def _allowed(self, group_id: str) -> bool:
        """A binding of a group taken off the allow-list ([[groups]]) acts on nothing."""
        try:
            self._access.require_allowed_group(group_id)
        except PermissionDenied:
            return False
        return True

    async def on_unban(self, guild_id: int, discord_user_id: int) -> list[BanPrompt]:
        """The ban ended: its prompts are closed (a new ban prompts again). Those that had a card and
        were still waiting, so their cards can say so."""
        lifted = await self._store.lift_ban_prompts(guild_id, discord_user_id)
        return [p for p in lifted if p.message_id is not None and p.state in ("open", "auto")]

    async def watches(self, guild_id: int) -> bool:
        """Whether a ban or a kick in this server would prompt (or ban): worth catching up on."""
        for binding in await self._store.list_bindings(guild_id=guild_id):
            setting = await self._store.ban_setting(binding.id)
            if (setting.discord_ban != "off" or setting.discord_kick != "off") and self._allowed(
                binding.group_id
            ):
                return True
        return False

    async def audit_mark(self, guild_id: int) -> int | None:
        """The newest entry of the server's Discord audit log taken in (bot.banbridge.catch_up)."""
        return await self._store.audit_mark(guild_id)

    async def move_audit_mark(self, guild_id: int, entry_id: int) -> None:
        await self._store.move_audit_mark(guild_id, entry_id)

    async def unposted(self) -> list[BanPrompt]:
        """Prompts whose card is not known to be posted: the start (or a crash) cut them short."""
        return await self._store.unposted_ban_prompts()

    async def posted(self, prompt: BanPrompt, message_id: int) -> None:
        await self._store.set_ban_prompt_message(prompt.id, prompt.round, message_id)

    async def prompt(self, prompt_id: int) -> BanPrompt | None:
        return await self._store.ban_prompt(prompt_id)

    # ------------------------------------------------------------------ the automatic ban

    async def ban_automatically(self, prompt: BanPrompt, actor: Actor, *, credited: bool) -> BanPrompt:
        """Carry out an 'auto' prompt (the binding has discord_ban = "ban"). `actor` is who the action log
        and the card name: the Discord moderator who made the Discord ban (`credited`), or the bot itself
        when who banned is not known. That is credit only: the admin who chose the mode authorized it.
        A refusal turns the prompt into an open one for a moderator, with VRChat's answer as its note."""
        current = await self._current(prompt)  # the Discord ban may have been lifted while we waited
        if current.round != prompt.round or current.state != "auto":
            return current
        prompt = current
        label = self.group_label(prompt.group_id)
        try:
            already = await self._ban(replace(actor, name=automatic_name(actor.name)), prompt)
        except VRChatError as exc:
            note = f"The automatic ban failed: {self._refusal(exc, label)}"
            await self._store.move_ban_prompt(
                prompt.id, prompt.round, from_states=("auto",), to="open", note=note
            )
        else:
            notes = [AUTOMATIC, *([CREDITED] if credited else []), *([ALREADY] if already else [])]
            await self._store.move_ban_prompt(
                prompt.id,
                prompt.round,
                from_states=("auto",),
                to="banned",
                by_discord_id=actor.user_id,
                by_name=actor.name,
                note="; ".join(notes),
            )
        return await self._current(prompt)

    # ------------------------------------------------------------------ a moderator's click

    async def confirm(self, actor: Actor, prompt_id: int, round_: int) -> BanDecision:
        """Ban the linked VRChat account in the prompt's group, as `actor` (a moderator of that group,
        checked now). The first click wins; a VRChat refusal reopens the prompt and says why."""
        prompt = await self._decidable(actor, prompt_id, round_)
        await self._claim(prompt, actor, "banning", stale_before=self._clock() - CLAIM_TIMEOUT)
        try:
            already = await self._ban(actor, prompt)
        except VRChatError as exc:
            await self._store.move_ban_prompt(prompt.id, prompt.round, from_states=("banning",), to="open")
            raise ServiceError(self._refusal(exc, self.group_label(prompt.group_id))) from None
        note = ALREADY if already else None
        await self._store.move_ban_prompt(
            prompt.id, prompt.round, from_states=("banning",), to="banned", note=note
        )
        return BanDecision(await self._current(prompt), already)

    async def _claim(
        self, prompt: BanPrompt, actor: Actor, to: BanPromptState, *, stale_before: datetime | None = None
    ) -> None:
        """Move an open prompt to `to` in `actor`'s name: the first click wins, a later one is told
        what became of it (PromptClosed)."""
        moved = await self._store.move_ban_prompt(
            prompt.id,
            prompt.round,
            from_states=("open",),
            to=to,
            by_discord_id=actor.user_id,
            by_name=actor.name,
            stale_before=stale_before,
        )
        if not moved:
            current = await self._current(prompt)
            raise PromptClosed(closed_text(current), current)

    async def dismiss(self, actor: Actor, prompt_id: int, round_: int) -> BanDecision:
        """Leave the VRChat account alone; the card is closed with who decided."""
        prompt = await self._decidable(actor, prompt_id, round_)
        await self._claim(prompt, actor, "dismissed")
        await self._actions.record(
            actor,
            prompt.group_id,
            DISMISS_ACTION,
            target_id=prompt.vrchat_user_id,
            details={"discord_user_id": str(prompt.discord_user_id)},
        )
        return BanDecision(await self._current(prompt))

    async def _decidable(self, actor: Actor, prompt_id: int, round_: int) -> BanPrompt:
        """The prompt, once the actor is known to moderate its group in its server (before anything else
        is said about it: a stranger learns nothing)."""
        if actor.guild_id is None:
            raise PermissionDenied(GUILD_ONLY)
        prompt = await self._store.ban_prompt(prompt_id)
        if prompt is None or actor.guild_id != prompt.guild_id:
            raise NotFoundError("This prompt no longer exists.")
        await self._access.require_moderator(actor, prompt.group_id)
        if prompt.round != round_:
            raise PromptClosed("This card is out of date: the member was banned again since.", prompt)
        return prompt

    async def _current(self, prompt: BanPrompt) -> BanPrompt:
        return await self._store.ban_prompt(prompt.id) or prompt

    async def _ban(self, actor: Actor, prompt: BanPrompt) -> bool:
        """The VRChat ban, in the action log either way; True when VRChat had banned the user already."""
        details = {"reason": REASON, "discord_user_id": str(prompt.discord_user_id)}
        try:
            await self._vrchat.ban_member(prompt.group_id, prompt.vrchat_user_id)
        except BadRequest:  # VRChat's answer for "already banned": the outcome asked for holds
            return True
        except VRChatError as exc:
            await self._actions.record_failure(
                actor, prompt.group_id, BAN_ACTION, exc, target_id=prompt.vrchat_user_id, details=details
            )
            raise
        await self._actions.record(
            actor, prompt.group_id, BAN_ACTION, target_id=prompt.vrchat_user_id, details=details
        )
        return False

    @staticmethod
    def _refusal(exc: VRChatError, label: str) -> str:
        if isinstance(exc, Forbidden):
            return (
                f"VRChat did not let the bot ban in {label}: the group owner cannot be banned, and the "
                "bot's group role needs the permission to manage bans (group-bans-manage)."
            )
        return f"VRChat did not ban: {error_text(exc)}"

    # ------------------------------------------------------------------ the setting

    async def setting(self, actor: Actor, guild_id: int, group: str | None) -> BanSettingView:
        binding = await self._access.admin_binding(actor, guild_id, group)
        setting = await self._store.ban_setting(binding.id)
        return BanSettingView(binding.group_id, setting, prompt_channel(binding, setting))

    async def configure(
        self,
        actor: Actor,
        guild_id: int,
        group: str | None,
        mode: str | None,
        channel_id: int | None,
        kick: str | None = None,
    ) -> BanSettingView:
        """Set the binding's `discord_ban`, `discord_kick` and/or prompt channel (Manage Server only)."""
        binding = await self._access.admin_binding(actor, guild_id, group)
        current = await self._store.ban_setting(binding.id)
        new_mode = _choose(mode, MODES, current.discord_ban, "mode")
        new_kick = _choose(kick, KICK_MODES, current.discord_kick, "kick setting")
        channel = channel_id if channel_id is not None else current.prompt_channel_id
        setting = await self._store.set_ban_setting(
            binding.id, new_mode, channel, by=actor.user_id, discord_kick=new_kick
        )
        await self._actions.record(
            actor,
            binding.group_id,
            "ban_prompt.setting",
            details={
                "discord_ban": new_mode,
                "discord_kick": new_kick,
                "prompt_channel_id": str(channel) if channel else None,
            },
        )
        return BanSettingView(binding.group_id, setting, prompt_channel(binding, setting))


def _choose(given: str | None, allowed: tuple[Mode, ...], current: Mode, what: str) -> Mode:
    """`given` as one of `allowed` (None keeps `current`); InvalidInput names the choices."""
    if given is None:
        return current
    for known in allowed:
        if known == given:
            return known
    raise InvalidInput(f"The {what} must be one of {', '.join(allowed)}, not {given[:20]!r}.")
