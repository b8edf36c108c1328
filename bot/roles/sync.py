"""Reading both sides of a binding, and applying a plan (bot.roles.plan): the I/O of role sync.

No Discord here either: the Discord side is the `DiscordRoles` protocol (bot.roles.discord_side
implements it on discord.py). Every write is journalled before it is sent and settled after, with its
action-log line and the new agreement in one transaction; a crash between the two leaves the journal
row, and the next run looks whether the write took (then logs it, once) or not (then the plan makes it,
once). Refusals (Discord's 403 50013, VRChat's 403) are kept and reported once in the binding's channel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot import crashpoints
from bot.roles.plan import Change, Plan, Snapshot, SyncRule, plan
from bot.store import ActionIn, Binding
from bot.store.feature_ports import RoleWrites
from bot.store.leases import UNFENCED, LeaseGuard
from bot.store.role_sync import MEMBERSHIP, HeldKey, RoleMapping, RoleSyncSettings, RoleWrite
from bot.vrchat import VRChatAPI, VRChatError
from bot.vrchat.errors import Forbidden, NotFound

log = logging.getLogger(__name__)

SYNC_ACTOR_NAME = "role sync"  # the feed says "by role sync via GroupBridge"
# The action log's discord_user_id for changes the bot made on its own (a Discord ID is never 0).
SYNC_ACTOR_ID = 0
# A listing this much shorter than the group's member count (beyond the bot itself) is partial.
PARTIAL_SLACK = 0.02
ACTIONS = {
    ("vrchat", "add"): "role.assign",
    ("vrchat", "remove"): "role.unassign",
    ("discord", "add"): "role.discord.add",
    ("discord", "remove"): "role.discord.remove",
}


class RoleRefused(Exception):
    """The side will not let the bot change this role (Discord 403 50013, VRChat 403): the text says why."""


class MemberGone(Exception):
    """The member left between the read and the write: nothing to do."""


class DiscordRoles(Protocol):
    """The Discord side of role sync (bot.roles.discord_side.DiscordRoleAccess on discord.py)."""

    async def member_roles(
        self, guild_id: int, user_ids: Collection[int]
    ) -> tuple[dict[int, frozenset[int] | None], bool]:
        """Role IDs of these users (None: not in the server; left out: could not be read), and
        whether every read succeeded."""
        ...

    async def change_role(self, guild_id: int, user_id: int, role_id: int, *, give: bool) -> None: ...

    async def notify(self, channel_id: int, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    plan: Plan
    applied: int = 0
    refused: int = 0
    failed: int = 0
    recovered: int = 0  # journalled writes of an interrupted run found done and logged
    vrchat_requests: int = 0
    discord_reads_complete: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)


def rules_of(settings: RoleSyncSettings, mappings: Sequence[RoleMapping]) -> list[SyncRule]:
    rules = [
        SyncRule(m.id, m.vrchat_role_id, m.discord_role_id, m.direction, m.source_of_truth) for m in mappings
    ]
    if settings.membership_role_id is not None:
        rules.insert(0, SyncRule(MEMBERSHIP, None, settings.membership_role_id))
    return rules


class RoleSyncEngine:
    def __init__(self, vrchat: VRChatAPI, store: RoleWrites, discord: DiscordRoles) -> None:
        self._vrchat = vrchat
        self._store = store
        self._discord = discord

    # ------------------------------------------------------------------ reading

    async def _vrchat_members(self, group_id: str) -> tuple[dict[str, frozenset[str]], bool, str | None]:
        """Every member's roles, a page of 100 at a time (the client's rate limiter keeps the account
        within its budget); complete False when a page failed or the walk came up short."""
        members: dict[str, frozenset[str]] = {}
        try:
            async for member in self._vrchat.iter_group_members(group_id):
                members[member.user_id] = frozenset(member.role_ids)
            expected = (await self._vrchat.get_group(group_id)).member_count
        except VRChatError as exc:
            return members, False, f"listing the VRChat group's members failed ({exc})"
        if expected is not None and len(members) < (expected - 1) * (1 - PARTIAL_SLACK) - 1:
            return members, False, f"VRChat listed {len(members)} of {expected} members"
        return members, True, None

    async def _vrchat_some(
        self, group_id: str, user_ids: Collection[str]
    ) -> tuple[dict[str, frozenset[str]], bool, str | None]:
        members: dict[str, frozenset[str]] = {}
        try:
            for user_id in sorted(user_ids):
                member = await self._vrchat.get_group_member(group_id, user_id)
                if member is not None and member.membership_status in (None, "member"):
                    members[user_id] = frozenset(member.role_ids)
        except VRChatError as exc:
            return members, False, f"reading a VRChat member failed ({exc})"
        return members, True, None

    async def snapshot(
        self, binding: Binding, scope: Collection[str] | None = None
    ) -> tuple[Snapshot, tuple[str, ...]]:
        if scope is None:
            vrchat, vrchat_ok, problem = await self._vrchat_members(binding.group_id)
        else:
            vrchat, vrchat_ok, problem = await self._vrchat_some(binding.group_id, scope)
        held = await self._store.role_sync_held(binding.id)
        wanted = set(vrchat) | {k.vrchat_user_id for k in held}
        if scope is not None:
            wanted = (wanted | set(scope)) & set(scope)
        links = {v: link.discord_user_id for v, link in (await self._store.links_of_vrchat(wanted)).items()}
        # A Discord user of an old agreement who is linked to another account now: the plan must know.
        for key in held:
            if key.vrchat_user_id in wanted and links.get(key.vrchat_user_id) != key.discord_user_id:
                relinked = await self._store.link_of_discord(key.discord_user_id)
                if relinked is not None:
                    links.setdefault(relinked.vrchat_user_id, relinked.discord_user_id)
        discord_ids = set(links.values()) | {k.discord_user_id for k in held if k.vrchat_user_id in wanted}
        discord, discord_ok = await self._discord.member_roles(binding.guild_id, discord_ids)
        refused = {(w.side, w.role_id) for w in await self._store.role_writes(binding.id, "refused")}
        notes = tuple(p for p in (problem,) if p) + (
            () if discord_ok else ("some Discord members could not be read",)
        )
        snap = Snapshot(
            vrchat=vrchat,
            discord=discord,
            links=links,
            held=held,
            vrchat_complete=vrchat_ok,
            discord_complete=discord_ok,
            refused=refused,
            scope=scope,
        )
        return snap, notes

    # ------------------------------------------------------------------ one run

    async def run(
        self,
        binding: Binding,
        rules: Sequence[SyncRule],
        *,
        apply: bool,
        scope: Collection[str] | None = None,
        guard: LeaseGuard = UNFENCED,
    ) -> SyncOutcome:
        """Read, plan, and (when `apply`) settle an interrupted run's writes and make the plan's."""
        before = self._vrchat.request_count
        snap, notes = await self.snapshot(binding, scope)
        recovered = 0
        if apply:
            await guard.check()  # reading the members can take a while: still this process's group?
            recovered = await self._recover(binding, snap)
            if recovered:
                snap = dataclasses.replace(snap, held=await self._store.role_sync_held(binding.id))
        result = plan(rules, snap)
        if not apply:
            return SyncOutcome(
                result,
                vrchat_requests=self._vrchat.request_count - before,
                discord_reads_complete=snap.discord_complete,
                notes=notes,
            )
        await self._store.update_role_sync_held(binding.id, result.agreed, result.forget)
        applied = refused = failed = 0
        refused_now: set[tuple[str, str]] = set()
        for change in result.changes:
            if (change.side, change.role_id) in refused_now:
                refused += 1  # refused once in this run already: the others are not tried
                continue
            await guard.check()
            outcome = await self._apply(binding, change)
            if outcome == "refused":
                refused_now.add((change.side, change.role_id))
            applied += outcome == "done"
            refused += outcome == "refused"
            failed += outcome == "failed"
            if outcome == "stop":
                failed += 1
                break
        return SyncOutcome(
            result,
            applied,
            refused,
            failed,
            recovered,
            self._vrchat.request_count - before,
            snap.discord_complete,
            notes,
        )

    async def _recover(self, binding: Binding, snap: Snapshot) -> int:
        """Journal rows left by an interrupted run: a write that took is logged (once) and becomes the
        agreement; one that did not is dropped, and the plan makes it again if still wanted."""
        done = 0
        for write in await self._store.role_writes(binding.id, "pending"):
            took = _took(write, snap)
            if took is None:
                continue  # that side was not read: look again next time
            action = _action(binding, write, recovered=True) if took else None
            key = write.details or {}
            agreed = None
            if took and "mapping_id" in key:
                held_key = HeldKey(
                    int(key["mapping_id"]), str(key["vrchat_user_id"]), int(key["discord_user_id"])
                )
                agreed = (binding.id, held_key, None if key.get("forget") else write.op == "add")
            if await self._store.finish_role_write(write.id, action, agreed) and took:
                done += 1
                log.info(
                    "Role sync: a write of an interrupted run had taken: %s", action.action if action else ""
                )
        return done

    async def _apply(self, binding: Binding, change: Change) -> str:
        details = {
            "mapping_id": change.mapping_id,
            "vrchat_user_id": change.vrchat_user_id,
            "discord_user_id": str(change.discord_user_id),
            "role_id": change.role_id,
            "why": change.why,
            "forget": change.forget,
        }
        user = change.vrchat_user_id if change.side == "vrchat" else str(change.discord_user_id)
        write = await self._store.begin_role_write(
            binding.id, change.side, change.op, user, change.role_id, details
        )
        crashpoints.reached("roles.after_journal")
        try:
            if change.side == "vrchat":
                await self._write_vrchat(binding.group_id, change)
            else:
                await self._discord.change_role(
                    binding.guild_id, change.discord_user_id, int(change.role_id), give=change.op == "add"
                )
        except RoleRefused as exc:
            if await self._store.refuse_role_write(write.id, str(exc)):
                await self._report(binding, change, str(exc))
            return "refused"
        except MemberGone:
            await self._store.finish_role_write(write.id, None)
            return "failed"
        except VRChatError as exc:
            # The session, VRChat down, an unknown outcome: leave the journal row for the next run to
            # check, and stop this run rather than meet the same trouble for every change.
            log.warning("Role sync of %s: a VRChat write failed: %s", binding.group_id, exc)
            return "stop"
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:  # Discord down or the like: the same
            log.warning("Role sync of %s: a Discord write failed: %s", binding.group_id, exc)
            return "stop"
        crashpoints.reached("roles.after_write")
        agreed = (binding.id, change.key, None if change.forget else change.held_after)
        await self._store.finish_role_write(write.id, _action(binding, write), agreed)
        return "done"

    async def _write_vrchat(self, group_id: str, change: Change) -> None:
        try:
            if change.op == "add":
                await self._vrchat.add_member_role(group_id, change.vrchat_user_id, change.role_id)
            else:
                await self._vrchat.remove_member_role(group_id, change.vrchat_user_id, change.role_id)
        except Forbidden as exc:
            raise RoleRefused(
                "VRChat refused: the bot's account needs group-roles-assign and a role above this one"
            ) from exc
        except NotFound as exc:
            raise MemberGone() from exc

    async def _report(self, binding: Binding, change: Change, reason: str) -> None:
        where = "Discord" if change.side == "discord" else "VRChat"
        role = f"<@&{change.role_id}>" if change.side == "discord" else f"VRChat role `{change.role_id}`"
        text = (
            f"⚠ Role sync cannot change {role} in {where}: {reason}. It is skipped until an admin fixes "
            "that and runs `/rolesync map` for it again (or `/rolesync mode on`)."
        )
        try:
            await self._discord.notify(binding.feed_channel_id, text)
        except Exception as exc:  # the report is a courtesy; the refusal is kept either way
            log.warning("Role sync: could not report a refusal in %s: %s", binding.feed_channel_id, exc)


def _took(write: RoleWrite, snap: Snapshot) -> bool | None:
    """Whether a journalled write shows in what was just read; None when that side was not read."""
    if write.side == "vrchat":
        outside = snap.scope is not None and write.user_id not in snap.scope
        if outside or (write.user_id not in snap.vrchat and not snap.vrchat_complete):
            return None
        held = write.role_id in snap.vrchat.get(write.user_id, frozenset())
    else:
        user = int(write.user_id)
        if user not in snap.discord:
            return None
        roles = snap.discord[user]
        held = roles is not None and int(write.role_id) in roles
    return held == (write.op == "add")


def _action(binding: Binding, write: RoleWrite, *, recovered: bool = False) -> ActionIn:
    details: Mapping[str, object] = {**(write.details or {}), "side": write.side}
    if recovered:
        details = {**details, "recovered": True}
    return ActionIn(
        guild_id=binding.guild_id,
        discord_user_id=SYNC_ACTOR_ID,
        discord_user_name=SYNC_ACTOR_NAME,
        group_id=binding.group_id,
        action=ACTIONS[(write.side, write.op)],
        target_id=write.user_id if write.side == "vrchat" else (write.details or {}).get("vrchat_user_id"),
        details=dict(details),
    )
