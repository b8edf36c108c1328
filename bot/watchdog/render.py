"""The alert message: who, how many of what, which entries; the one role it may ping.

Everything that came from VRChat or Discord (names) goes through bot.text; the only mention the
message may make is the configured role's, and its allowed_mentions name exactly that role.
"""

from __future__ import annotations

import discord

from bot.store.moderator_alerts import AlertSettingsRecord, ModeratorAlert
from bot.text import clip, safe_text

from .detector import KIND_LABELS, KINDS

ENTRIES_SHOWN = 10
COLOUR = discord.Colour.red()
RESOLVED_COLOUR = discord.Colour.dark_grey()
FOOTER_PREFIX = "GroupBridge alert "  # + the alert's id: crash recovery finds the message by it


def allowed_mentions(ping_role_id: int | None) -> discord.AllowedMentions:
    """Nobody, or exactly the one configured role: never @everyone, users or other roles."""
    if ping_role_id is None:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(ping_role_id)], replied_user=False
    )


def content(alert: ModeratorAlert, ping_role_id: int | None) -> str:
    who = actor_line(alert)
    text = f"Possible runaway moderator: {who}."
    return f"<@&{ping_role_id}> {text}" if ping_role_id is not None else text


def actor_line(alert: ModeratorAlert) -> str:
    name = safe_text(alert.actor_name or "unknown", 64, single_line=True)
    if alert.actor_discord_id is not None:
        return f"<@{alert.actor_discord_id}> ({name}, through GroupBridge)"
    return f"{name} ({safe_text(alert.actor_vrchat_id or 'no VRChat id', 64, single_line=True)})"


def counts_line(alert: ModeratorAlert) -> str:
    parts = [f"{alert.counts.get(k, 0)} {KIND_LABELS[k]}" for k in KINDS if alert.counts.get(k, 0)]
    return ", ".join(parts) or "none"


def alert_embed(alert: ModeratorAlert, record: AlertSettingsRecord | None) -> discord.Embed:
    resolved = alert.resolution is not None
    embed = discord.Embed(
        title="Runaway moderator alert" + (" (handled)" if resolved else ""),
        colour=RESOLVED_COLOUR if resolved else COLOUR,
        timestamp=alert.started_at,
    )
    embed.add_field(name="Who", value=actor_line(alert), inline=False)
    counted = counts_line(alert)
    if record is not None:
        counted += (
            f" (limits: more than {record.max_kicks} kicks, {record.max_bans} bans or "
            f"{record.max_role_removals} role removals within {record.window_minutes} min)"
        )
    embed.add_field(name="Counted", value=clip(counted, 1024), inline=False)
    shown = [safe_text(i, 60, single_line=True) for i in alert.entry_ids[:ENTRIES_SHOWN]]
    more = len(alert.entry_ids) - len(shown)
    entries = "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")
    entries = entries if entries.strip() else "none kept"  # Discord refuses a blank field
    embed.add_field(name="Audit entries", value=clip(entries, 1024), inline=False)
    if alert.resolution_note:
        embed.add_field(name="Outcome", value=safe_text(alert.resolution_note, 1000), inline=False)
    embed.set_footer(text=f"{FOOTER_PREFIX}{alert.id}")
    return embed
