"""What ``check-config`` tells the operator about a configuration: a summary and notes.

Notes are not problems: the configuration is usable, but something about it is worth knowing before
``groupbridge run`` (no saved VRChat session yet, or no way to log in again unattended).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config.models import Config, VRChatConfig, env_var_name

#: Secret keys, for the "where did the secrets come from" summary.
SECRET_KEYS: tuple[str, ...] = ("vrchat.password", "vrchat.totp_secret", "discord.token")

NOTE_NO_RELOGIN = (
    "vrchat.password and vrchat.totp_secret are not both set, so the bot cannot log in again by itself "
    "when VRChat ends its session; it will stop calling VRChat and ask for `groupbridge login`."
)


def config_notes(config: Config) -> list[str]:
    """Remarks about a valid configuration that are not problems (without a "note:" prefix)."""
    vrchat = config.vrchat
    return _notes(
        can_relogin=vrchat.password is not None and vrchat.totp_secret is not None,
        session_file=vrchat.session_file,
    )


def notes_from_data(data: dict[str, Any]) -> list[str]:
    """``config_notes`` for a configuration that failed validation: worked out from the raw (merged)
    data as far as it can be read, so ``check-config`` can show the notes next to the problems."""
    vrchat = data.get("vrchat")
    if not isinstance(vrchat, dict):
        return []

    def is_set(key: str) -> bool:
        value = vrchat.get(key)
        return isinstance(value, str) and bool(value.strip())

    raw_file = vrchat.get("session_file")
    session_file: Path | None = None
    if raw_file is None:
        session_file = VRChatConfig.model_fields["session_file"].default
    elif isinstance(raw_file, str) and raw_file.strip():
        session_file = Path(raw_file.strip())
    return _notes(can_relogin=is_set("password") and is_set("totp_secret"), session_file=session_file)


def _notes(*, can_relogin: bool, session_file: Path | None) -> list[str]:
    notes = []
    if not can_relogin:
        notes.append(NOTE_NO_RELOGIN)
    if session_file is not None and not _exists(session_file):
        notes.append(
            f"no saved VRChat session at {session_file} yet: run `groupbridge login` once before "
            "`groupbridge run`."
        )
    return notes


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _command_registration(config: Config) -> str:
    """Where the slash commands get registered, and by which command: `run` only ever syncs to the
    configured servers (bot.bot.sync_tree), a global sync is `groupbridge sync`'s alone."""
    guild_ids = config.discord.guild_ids
    if not guild_ids:
        return (
            "no discord.guild_ids, so `groupbridge run` registers none; run `groupbridge sync` once "
            "to register them globally (they can take up to an hour to appear)"
        )
    servers = ", ".join(str(g) for g in guild_ids)
    if not config.discord.sync_commands_on_start:
        return (
            f"servers {servers}; `groupbridge run` does not register them "
            "(discord.sync_commands_on_start = false): run `groupbridge sync`"
        )
    return f"registered in servers {servers} at every start of `groupbridge run`"


def describe_config(config: Config) -> list[str]:
    """Human-readable summary lines for ``check-config``; never contains a secret value."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    account = config.vrchat.username or "(no username: `groupbridge login` asks for it)"
    out = [
        f"VRChat account {account} via {config.vrchat.base_url} "
        f"(2FA: {'TOTP secret configured' if config.vrchat.totp_secret else 'code asked at login'})",
        f"User-Agent: {config.vrchat.user_agent}",
    ]
    out.append(f"slash commands: {_command_registration(config)}")
    out.append(
        f"{plural(len(config.groups), 'allowed group')}:" if config.groups else "allowed groups: none yet"
    )
    out += [f"  {g.id}" + (f" ({g.name})" if g.name else "") for g in config.groups]
    out.append(f"{plural(len(config.bindings), 'binding')} in the config file")
    for b in config.bindings:
        out.append(f"  {b.group_id} -> server {b.guild_id}, feed channel {b.feed_channel_id}")
    out.append(f"database: {config.database.masked_url}")
    out.append(
        f"logging: {config.logging.level}" + (f" to {config.logging.file}" if config.logging.file else "")
    )
    feed = config.feed
    out.append(
        f"feed: poll every {feed.poll_interval_seconds:g}s (quiet groups up to "
        f"{feed.quiet_ceiling:g}s), backfill {feed.backfill}, retention {_kept(feed.retention_days)}"
    )
    out.append(
        f"retention of the bot's records: action log {_kept(feed.action_log_retention_days)}, decided "
        f"ban prompts and resolved alerts {_kept(feed.decided_retention_days)}, moderator notes forever"
    )
    sources = []
    for key in SECRET_KEYS:
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value is None:
            continue
        origin = f"environment ({env_var_name(section, name)})" if key in config.env_keys else "config file"
        sources.append(f"{key} from {origin}")
    out.append("secrets: " + "; ".join(sources))
    others = [k for k in config.env_keys if k not in SECRET_KEYS]
    if others:
        out.append("also from the environment: " + ", ".join(others))
    return out


def _kept(days: int) -> str:
    return f"{days} days" if days else "forever"
