"""Discord bans carried to VRChat (bot.banbridge): the prompts, and each binding's setting.

A prompt row is written before its card is posted and moves between states only through conditional
UPDATEs (`... WHERE state IN (...)`), so two moderators clicking at once, in two processes too, cannot
both decide, and a crash between writing and posting leaves a row the next start posts (once: the
card's nonce and footer carry the row's id and round).

States: 'auto' (the binding bans automatically; the VRChat call is still to be made), 'open' (waiting
for a moderator), 'banning' (a moderator confirmed; the VRChat call is in flight), 'banned',
'dismissed', 'lifted' (the Discord ban ended; a new ban starts the row over with the next round).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, and_, or_, select

from bot.store._base import StoreBase, changed_rows, from_row, reread, table, update_rows
from bot.store.models import BanPromptRow, BanSettingRow, DiscordAuditMarkRow

BanPromptState = Literal["auto", "open", "banning", "banned", "dismissed", "lifted"]
DiscordBanMode = Literal["off", "prompt", "ban"]
DiscordKickMode = Literal["off", "prompt"]
BAN_PROMPT_STATES: tuple[BanPromptState, ...] = ("auto", "open", "banning", "banned", "dismissed", "lifted")
DISCORD_BAN_MODES: tuple[DiscordBanMode, ...] = ("off", "prompt", "ban")
DISCORD_KICK_MODES: tuple[DiscordKickMode, ...] = ("off", "prompt")
DEFAULT_DISCORD_BAN: DiscordBanMode = "prompt"
DEFAULT_DISCORD_KICK: DiscordKickMode = "off"  # a kick is lighter than a ban: prompting is opt-in
BAN_TRIGGER = "ban"
_CLOSED: tuple[BanPromptState, ...] = ("banned", "dismissed", "lifted")  # nothing is left to decide


@dataclass(frozen=True, slots=True)
class BanPrompt:
    id: int
    round: int
    binding_id: int
    guild_id: int
    group_id: str
    discord_user_id: int
    vrchat_user_id: str
    channel_id: int
    trigger: str  # "ban", or "kick:<Discord audit entry id>"
    state: BanPromptState
    message_id: int | None
    handled_by_discord_id: int | None
    handled_by_name: str | None
    handled_at: datetime | None
    note: str | None
    created_at: datetime

    @property
    def kicked(self) -> bool:
        return self.trigger.startswith("kick:")


@dataclass(frozen=True, slots=True)
class BanSetting:
    binding_id: int
    discord_ban: DiscordBanMode
    prompt_channel_id: int | None
    discord_kick: DiscordKickMode = DEFAULT_DISCORD_KICK


def prompt_from_row(row: BanPromptRow) -> BanPrompt:
    return from_row(BanPrompt, row)


_CLEARED: dict[str, Any] = {
    "message_id": None,
    "handled_by_discord_id": None,
    "handled_by_name": None,
    "handled_at": None,
    "note": None,
}


class BanPromptOps(StoreBase):
    # ------------------------------------------------------------------ settings

    async def ban_setting(self, binding_id: int) -> BanSetting:
        """The binding's setting; a binding nobody configured prompts, in its requests channel."""
        row = await self._row(BanSettingRow, binding_id)
        if row is None:
            return BanSetting(binding_id, DEFAULT_DISCORD_BAN, None, DEFAULT_DISCORD_KICK)
        return BanSetting(
            binding_id,
            cast(DiscordBanMode, row.discord_ban),
            row.prompt_channel_id,
            cast(DiscordKickMode, row.discord_kick),
        )

    async def set_ban_setting(
        self,
        binding_id: int,
        discord_ban: DiscordBanMode,
        prompt_channel_id: int | None,
        *,
        by: int,
        discord_kick: DiscordKickMode = DEFAULT_DISCORD_KICK,
    ) -> BanSetting:
        if discord_ban not in DISCORD_BAN_MODES:
            raise ValueError(f"discord_ban must be one of {DISCORD_BAN_MODES}, not {discord_ban!r}")
        if discord_kick not in DISCORD_KICK_MODES:
            raise ValueError(f"discord_kick must be one of {DISCORD_KICK_MODES}, not {discord_kick!r}")
        await self._put_binding_settings(
            BanSettingRow,
            binding_id,
            discord_ban=discord_ban,
            discord_kick=discord_kick,
            prompt_channel_id=prompt_channel_id,
            updated_by=by,
        )
        return BanSetting(binding_id, discord_ban, prompt_channel_id, discord_kick)

    # ------------------------------------------------------------------ prompts

    async def open_ban_prompt(
        self,
        *,
        binding_id: int,
        guild_id: int,
        group_id: str,
        discord_user_id: int,
        vrchat_user_id: str,
        channel_id: int,
        state: Literal["auto", "open"],
        trigger: str = BAN_TRIGGER,
    ) -> BanPrompt | None:
        """The new prompt for this ban (or kick), or None when it already has one (the same event seen
        again: a gateway replay, a second process). The row starts over, next round, when its ban was
        lifted, or when it was dismissed and this is another event (a new kick, or a ban after a kick)."""
        now = self._now()
        bp = BanPromptRow
        key = (bp.guild_id == guild_id, bp.group_id == group_id, bp.discord_user_id == discord_user_id)
        fresh = {
            "binding_id": binding_id,
            "vrchat_user_id": vrchat_user_id,
            "channel_id": channel_id,
            "trigger": trigger,
            "state": state,
            "created_at": now,
            "updated_at": now,
        }
        async with self._sessions.begin() as session:
            inserted = await session.execute(
                self._insert(table(bp))
                .values(
                    guild_id=guild_id, group_id=group_id, discord_user_id=discord_user_id, round=1, **fresh
                )
                .on_conflict_do_nothing(index_elements=["guild_id", "group_id", "discord_user_id"])
            )
            if not changed_rows(inserted):
                over = or_(bp.state == "lifted", and_(bp.state == "dismissed", bp.trigger != trigger))
                if not await update_rows(session, bp, [*key, over], round=bp.round + 1, **fresh, **_CLEARED):
                    return None
            return prompt_from_row(await reread(session, bp, *key))

    async def ban_prompt(self, prompt_id: int) -> BanPrompt | None:
        return await self._get(BanPromptRow, prompt_id, prompt_from_row)

    async def unposted_ban_prompts(self) -> list[BanPrompt]:
        """Prompts whose card was never confirmed posted (a crash, or Discord refused it), oldest first."""
        bp = BanPromptRow
        stmt = select(bp).where(bp.message_id.is_(None), bp.state != "lifted").order_by(bp.id)
        return await self._all(stmt, prompt_from_row)

    async def set_ban_prompt_message(self, prompt_id: int, round_: int, message_id: int) -> bool:
        bp = BanPromptRow
        this_round = [bp.id == prompt_id, bp.round == round_]
        return bool(await self._update(bp, this_round, message_id=message_id, updated_at=self._now()))

    async def move_ban_prompt(
        self,
        prompt_id: int,
        round_: int,
        *,
        from_states: tuple[BanPromptState, ...],
        to: BanPromptState,
        by_discord_id: int | None = None,
        by_name: str | None = None,
        note: str | None = None,
        stale_before: datetime | None = None,
    ) -> bool:
        """One conditional UPDATE: True if the prompt (this round) was in one of `from_states` and is
        now `to`. With `stale_before`, a 'banning' claim older than that counts as open again (its
        process died mid-call; VRChat's ban is safe to repeat). `by_*` are kept when not given."""
        now = self._now()
        bp = BanPromptRow
        allowed: ColumnElement[bool] = bp.state.in_(list(from_states))
        if stale_before is not None:
            allowed = or_(allowed, and_(bp.state == "banning", bp.handled_at < stale_before))
        values: dict[str, Any] = {"state": to, "updated_at": now}
        if by_discord_id is not None or by_name is not None:
            values.update(handled_by_discord_id=by_discord_id, handled_by_name=by_name, handled_at=now)
        if note is not None:
            values["note"] = note
        return bool(await self._update(bp, [bp.id == prompt_id, bp.round == round_, allowed], **values))

    async def lift_ban_prompts(self, guild_id: int, discord_user_id: int) -> list[BanPrompt]:
        """The Discord ban ended: every prompt of this user in this server is 'lifted' (a new ban will
        prompt again). Returns them as they were, so open cards can be closed."""
        bp = BanPromptRow
        key = (bp.guild_id == guild_id, bp.discord_user_id == discord_user_id, bp.state != "lifted")
        async with self._sessions.begin() as session:
            rows = (await session.execute(select(bp).where(*key).with_for_update())).scalars().all()
            before = [prompt_from_row(row) for row in rows]
            await update_rows(session, bp, key, state="lifted", updated_at=self._now())
        return before

    async def purge_decided_ban_prompts(self, before: datetime) -> int:
        """Retention (feed.decided_retention_days): forget the prompts decided (banned, dismissed) or
        lifted before `before` whose card is posted, so it shows the outcome; a lifted one never had to
        be. An 'auto', 'open' or 'banning' prompt stays whatever its age, and so does a decided one
        whose card the sweep still has to post. A button of a forgotten card answers that the prompt
        no longer exists; the same member banned again is prompted anew, in round 1."""
        bp = BanPromptRow
        shown = or_(bp.message_id.is_not(None), bp.state == "lifted")
        return await self._delete_in_batches(bp, bp.state.in_(_CLOSED), shown, bp.updated_at < before)

    # -- how far Discord's audit log was taken in ---------------------------------------------------

    async def audit_mark(self, guild_id: int) -> int | None:
        """The newest audit log entry of the server the bot took in; None before the first."""
        row = await self._row(DiscordAuditMarkRow, guild_id)
        return row.last_entry_id if row is not None else None

    async def move_audit_mark(self, guild_id: int, entry_id: int) -> None:
        """Forward only: a slower caller with an older entry leaves a newer mark alone."""
        marks = table(DiscordAuditMarkRow)
        insert = self._insert(marks).values(guild_id=guild_id, last_entry_id=entry_id, updated_at=self._now())
        stmt = insert.on_conflict_do_update(
            index_elements=[marks.c.guild_id],
            set_={"last_entry_id": insert.excluded.last_entry_id, "updated_at": insert.excluded.updated_at},
            where=marks.c.last_entry_id < insert.excluded.last_entry_id,
        )
        async with self._sessions.begin() as session:
            await session.execute(stmt)
