"""Gateway intents the stand-in honours (Discord's bit values), and which of them are privileged.

A privileged intent must also be switched on for the application in the Developer Portal; the
stand-in's ``StandInState.privileged_intents`` plays that switch: an IDENTIFY asking for one that is
off is closed with 4014, and ``GET /guilds/{id}/members`` needs GUILD_MEMBERS on (else 403 50001).
"""

from __future__ import annotations

GUILDS = 1 << 0  # GUILD_CREATE, GUILD_ROLE_CREATE / UPDATE / DELETE
GUILD_MEMBERS = 1 << 1  # GUILD_MEMBER_ADD / UPDATE / REMOVE (privileged)
GUILD_MODERATION = 1 << 2  # GUILD_BAN_ADD / REMOVE (discord.py: Intents.moderation, formerly bans)
GUILD_PRESENCES = 1 << 8  # (privileged)
MESSAGE_CONTENT = 1 << 15  # (privileged)

PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
NAMES = {
    GUILDS: "GUILDS",
    GUILD_MEMBERS: "GUILD_MEMBERS",
    GUILD_MODERATION: "GUILD_MODERATION",
    GUILD_PRESENCES: "GUILD_PRESENCES",
    MESSAGE_CONTENT: "MESSAGE_CONTENT",
}
