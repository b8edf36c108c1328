"""The watchdog's decisions, without Discord: count, record episodes, the kill switch, Dismiss, settings.

`check_group` reads the group's recently mirrored kicks, bans and role removals, finds episodes
(bot.watchdog.detector) for each binding that has alerts on, and records the new ones as undelivered
alerts in the same transaction: from then on a crash cannot lose them, and repeating the check
cannot add them again. Delivering them is the loop's business (bot.watchdog.loop).

The kill switch removes every group role of the actor's VRChat account (a Discord moderator's
linked account, when the bot acted for one). It is for members with Manage Server in the binding's
server, checked on every click, and it never touches the bot's own account or the group's owner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.services.access import Access
from bot.services.common import (
    ActionLog,
    Actor,
    Clock,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ServiceError,
    utcnow,
)
from bot.store import Binding
from bot.store.feature_ports import ModeratorAlerts
from bot.store.moderator_alerts import ENTRY_IDS_KEPT, AlertSettingsRecord, EpisodeWrite, ModeratorAlert
from bot.vrchat import Forbidden, VRChatAPI, VRChatError
from bot.vrchat.permissions import ROLES_ASSIGN, refused_because

from .detector import Episode, KnownEpisode, counted, counted_types, detect
from .settings import EffectiveAlerts, default_record, effective

log = logging.getLogger(__name__)

KILL_ACTION = "alert.kill_switch"  # credited on the role removals it causes (bot.events)
AUTO_KILL_ACTION = "alert.auto_kill_switch"
DISMISS_ACTION = "alert.dismiss"
SETTINGS_ACTION = "alert.settings"
MAX_WINDOW = 1440
MAX_LIMIT = 10_000
MIN_LOOKBACK = timedelta(hours=1)  # entries older than this (and than two windows) are not counted
AUTOMATIC = Actor(
    user_id=0, name="automatic kill switch", guild_id=None, role_ids=frozenset(), manage_guild=False
)


@dataclass(frozen=True, slots=True)
class KillResult:
    user_id: str
    removed: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def text(self) -> str:
        if not self.removed and not self.failed:
            return f"{self.user_id} holds no group roles: nothing to remove."
        done = f"Removed {len(self.removed)} group role(s) from {self.user_id}."
        if self.failed:
            done += f" {len(self.failed)} could not be removed: {', '.join(self.failed)}."
        return done


@dataclass(frozen=True, slots=True)
class AlertChanges:
    """`/bridge alerts set` options; None leaves a setting as it is."""

    window_minutes: int | None = None
    max_kicks: int | None = None
    max_bans: int | None = None
    max_role_removals: int | None = None
    alert_channel_id: int | None = None
    ping_role_id: int | None = None
    clear_ping_role: bool = False
    auto_kill_switch: bool | None = None


class WatchdogService:
    def __init__(
        self,
        vrchat: VRChatAPI,
        store: ModeratorAlerts,
        access: Access,
        actions: ActionLog,
        clock: Clock = utcnow,
    ) -> None:
        self._vrchat = vrchat
        self._store = store
        self._access = access
        self._actions = actions
        self._clock = clock

    # -- detection -------------------------------------------------------------------------------

    async def watched_bindings(self, group_id: str) -> list[EffectiveAlerts]:
        bindings = await self._store.list_bindings(group_id=group_id)
        records = await self._store.alert_settings(b.id for b in bindings)
        found = (effective(b, records.get(b.id)) for b in bindings)
        return [e for e in found if e is not None]

    async def check_group(self, group_id: str) -> list[int]:
        """Record the new episodes of every binding of the group with alerts on; their alert ids."""
        watched = await self.watched_bindings(group_id)
        if not watched:
            return []
        longest = max(w.thresholds.window for w in watched)
        since = self._clock() - max(MIN_LOOKBACK, 2 * longest)
        items = counted(await self._store.entries_of_types(group_id, counted_types(), since))
        if not items:
            return []
        new_ids: list[int] = []
        for alerts in watched:
            latest = await self._store.latest_alerts(alerts.binding.id, {i.actor.key for i in items})
            known = {key: _known(alert) for key, alert in latest.items()}
            episodes = detect(items, known, alerts.thresholds)
            if episodes:
                writes = [_write(alerts, group_id, ep) for ep in episodes]
                new_ids += await self._store.record_episodes(writes)
        if new_ids:
            log.warning("Runaway-moderator alert(s) recorded for %s: %s", group_id, new_ids)
        return new_ids

    # -- the buttons -----------------------------------------------------------------------------

    async def _alert_and_binding(self, actor: Actor, alert_id: int) -> tuple[ModeratorAlert, Binding]:
        alert = await self._store.get_alert(alert_id)
        binding = await self._store.get_binding(alert.binding_id) if alert is not None else None
        if alert is None or binding is None:
            raise NotFoundError("This alert no longer exists (its server link may have been removed).")
        self._access.require_same_guild(actor, binding.guild_id)
        self._access.require_admin(actor)
        return alert, binding

    async def dismiss(self, actor: Actor, alert_id: int) -> ModeratorAlert:
        alert, binding = await self._alert_and_binding(actor, alert_id)
        if not await self._store.resolve_alert(
            alert_id, "dismissed", actor.user_id, f"Dismissed by {actor.name}"
        ):
            raise InvalidInput(_already(alert))
        await self._actions.record(
            actor,
            binding.group_id,
            DISMISS_ACTION,
            target_id=alert.actor_vrchat_id,
            details={"alert_id": alert_id},
        )
        return await self._reload(alert_id)

    async def kill_target(self, actor: Actor, alert_id: int) -> tuple[ModeratorAlert, str]:
        """The VRChat account the kill switch would strip, after every check that needs no change."""
        alert, binding = await self._alert_and_binding(actor, alert_id)
        if alert.resolution is not None:
            raise InvalidInput(_already(alert))
        return alert, await self._target(alert, binding.group_id)

    async def kill_switch(self, actor: Actor, alert_id: int) -> KillResult:
        """Remove the actor's group roles (the moderator confirmed already); checks everything again."""
        alert, user_id = await self.kill_target(actor, alert_id)
        result = await self._strip_roles(actor, alert, user_id, KILL_ACTION)
        await self._store.resolve_alert(
            alert_id, "roles_removed", actor.user_id, f"{result.text} By {actor.name}."
        )
        return result

    async def auto_kill(self, alert_id: int) -> KillResult | None:
        """The automatic kill switch of a binding that opted in; None when it does not apply."""
        alert = await self._store.get_alert(alert_id)
        binding = await self._store.get_binding(alert.binding_id) if alert is not None else None
        if alert is None or binding is None or alert.resolution is not None:
            return None
        record = (await self._store.alert_settings([binding.id])).get(binding.id)
        if record is None or not record.auto_kill_switch:
            return None
        try:
            user_id = await self._target(alert, binding.group_id)
        except ServiceError as exc:
            await self._store.note_alert(alert_id, f"Automatic kill switch not applied: {exc}")
            return None
        # Claimed first: a restart never strips the same account twice for one episode.
        if not await self._store.resolve_alert(
            alert_id, "roles_removed", None, "Automatic kill switch started."
        ):
            return None
        try:
            result = await self._strip_roles(AUTOMATIC, alert, user_id, AUTO_KILL_ACTION)
        except ServiceError as exc:  # the buttons come back: a moderator can still act
            await self._store.reopen_alert(alert_id, f"Automatic kill switch failed: {exc}")
            return None
        await self._store.note_alert(alert_id, f"Automatic kill switch: {result.text}")
        return result

    async def _target(self, alert: ModeratorAlert, group_id: str) -> str:
        user_id = alert.actor_vrchat_id
        if user_id is None and alert.actor_discord_id is not None:
            link = await self._store.link_of_discord(alert.actor_discord_id)
            if link is None:
                raise InvalidInput(
                    "This moderator acted through GroupBridge and has no linked VRChat account: take "
                    "their Discord moderator role instead."
                )
            user_id = link.vrchat_user_id
        if user_id is None:
            raise InvalidInput("This alert names no VRChat account.")
        if user_id == self._vrchat.user_id_for(group_id):
            raise PermissionDenied("That is the bot's own VRChat account: the kill switch never strips it.")
        try:
            group = await self._vrchat.get_group(group_id)
        except VRChatError as exc:
            raise ServiceError(f"Could not read the group from VRChat: {exc}") from None
        if group.owner_id == user_id:
            raise PermissionDenied("That account owns the group: VRChat cannot take the owner's roles.")
        return user_id

    async def _strip_roles(
        self, actor: Actor, alert: ModeratorAlert, user_id: str, action: str
    ) -> KillResult:
        group_id = alert.group_id
        try:
            member = await self._vrchat.get_group_member(group_id, user_id)
        except VRChatError as exc:
            raise ServiceError(f"Could not read the member's roles from VRChat: {exc}") from None
        removed: list[str] = []
        failed: list[str] = []
        for role_id in member.role_ids if member is not None else []:
            details = {"role_id": role_id, "alert_id": alert.id}
            try:
                await self._vrchat.remove_member_role(group_id, user_id, role_id)
            except VRChatError as exc:
                await self._actions.record_failure(
                    actor, group_id, action, exc, target_id=user_id, details=details
                )
                if isinstance(exc, Forbidden) and not removed:
                    raise PermissionDenied(f"VRChat refused: {refused_because(ROLES_ASSIGN)}") from None
                failed.append(role_id)
                continue
            await self._actions.record(actor, group_id, action, target_id=user_id, details=details)
            removed.append(role_id)
        return KillResult(user_id, tuple(removed), tuple(failed))

    async def _reload(self, alert_id: int) -> ModeratorAlert:
        alert = await self._store.get_alert(alert_id)
        if alert is None:
            raise NotFoundError("This alert no longer exists.")
        return alert

    async def alert(self, alert_id: int) -> ModeratorAlert | None:
        return await self._store.get_alert(alert_id)

    # -- /bridge alerts --------------------------------------------------------------------------

    async def show(
        self, actor: Actor, guild_id: int, group: str | None
    ) -> tuple[Binding, EffectiveAlerts | None]:
        binding = await self._access.admin_binding(actor, guild_id, group)
        record = (await self._store.alert_settings([binding.id])).get(binding.id)
        return binding, effective(binding, record)

    async def configure(
        self, actor: Actor, guild_id: int, group: str | None, changes: AlertChanges
    ) -> EffectiveAlerts:
        """Turn alerts on (the defaults where nothing was set before) with these changes."""
        binding = await self._access.admin_binding(actor, guild_id, group)
        c = changes
        _check_changes(c, binding.guild_id)
        old = (await self._store.alert_settings([binding.id])).get(binding.id) or default_record(binding.id)
        record = replace(
            old,
            enabled=True,
            window_minutes=c.window_minutes or old.window_minutes,
            max_kicks=c.max_kicks or old.max_kicks,
            max_bans=c.max_bans or old.max_bans,
            max_role_removals=c.max_role_removals or old.max_role_removals,
            alert_channel_id=c.alert_channel_id or old.alert_channel_id,
            ping_role_id=None if c.clear_ping_role else c.ping_role_id or old.ping_role_id,
            auto_kill_switch=old.auto_kill_switch if c.auto_kill_switch is None else c.auto_kill_switch,
        )
        updates = {k: v for k, v in vars_of(changes).items() if v is not None}
        saved = await self._store.put_alert_settings(record)
        await self._actions.record(
            actor, binding.group_id, SETTINGS_ACTION, details={"enabled": True, **updates}
        )
        result = effective(binding, saved)
        assert result is not None
        return result

    async def turn_off(self, actor: Actor, guild_id: int, group: str | None) -> Binding:
        binding = await self._access.admin_binding(actor, guild_id, group)
        record = (await self._store.alert_settings([binding.id])).get(binding.id)
        if record is not None and record.enabled:
            await self._store.put_alert_settings(replace(record, enabled=False))
        await self._actions.record(actor, binding.group_id, SETTINGS_ACTION, details={"enabled": False})
        return binding


def _check_changes(c: AlertChanges, guild_id: int) -> None:
    """The cog's option ranges, checked again here: nothing is saved when one is off."""
    if c.window_minutes is not None and not 1 <= c.window_minutes <= MAX_WINDOW:
        raise InvalidInput(f"The window must be 1 to {MAX_WINDOW} minutes, not {c.window_minutes}.")
    for name, value in (("kicks", c.max_kicks), ("bans", c.max_bans), ("role removals", c.max_role_removals)):
        if value is not None and not 1 <= value <= MAX_LIMIT:
            raise InvalidInput(f"The limit for {name} must be 1 to {MAX_LIMIT}, not {value}.")
    if c.ping_role_id is not None and c.ping_role_id == guild_id:
        raise InvalidInput("An alert cannot ping @everyone: choose a role of moderators.")
    if c.ping_role_id is not None and c.clear_ping_role:
        raise InvalidInput("Choose a role to ping or no_ping, not both.")


def vars_of(changes: AlertChanges) -> dict[str, object]:
    return {
        "window_minutes": changes.window_minutes,
        "max_kicks": changes.max_kicks,
        "max_bans": changes.max_bans,
        "max_role_removals": changes.max_role_removals,
        "alert_channel_id": changes.alert_channel_id,
        "ping_role_id": changes.ping_role_id,
        "auto_kill_switch": changes.auto_kill_switch,
    }


def _already(alert: ModeratorAlert) -> str:
    if alert.resolution == "dismissed":
        return "This alert was dismissed already."
    if alert.resolution == "roles_removed":
        return "The kill switch was used on this alert already."
    return "This alert was handled already."


def _known(alert: ModeratorAlert) -> KnownEpisode:
    return KnownEpisode(
        started_at=alert.started_at,
        last_entry_at=alert.last_entry_at,
        entry_ids=alert.entry_ids,
        counts=alert.counts,
        ids_complete=len(alert.entry_ids) < ENTRY_IDS_KEPT,
    )


def _write(alerts: EffectiveAlerts, group_id: str, episode: Episode) -> EpisodeWrite:
    return EpisodeWrite(
        binding_id=alerts.binding.id,
        group_id=group_id,
        actor_key=episode.actor.key,
        actor_vrchat_id=episode.actor.vrchat_id,
        actor_discord_id=episode.actor.discord_id,
        actor_name=episode.actor.name,
        started_at=episode.started_at,
        last_entry_at=episode.last_entry_at,
        counts=dict(episode.counts),
        entry_ids=list(episode.entry_ids),
        channel_id=alerts.channel_id,
        new=episode.new,
    )


__all__ = ["AlertChanges", "AlertSettingsRecord", "KillResult", "WatchdogService"]
