"""Whether a Discord user is in a server, asked of Discord's REST API.

The bot has no Server Members intent, so its cache knows only the members it has seen in
interactions. `GET /guilds/{guild}/members/{user}` needs no privileged intent and works in a worker
process that never connects to the gateway. It is asked only about linked users (a card's requester,
a /whois answer), one request each.
"""

from __future__ import annotations

import discord


class DiscordMembers:
    """bot.links.requesters.MemberLookup, on a discord.py client."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def in_guild(self, guild_id: int, user_id: int) -> bool:
        guild = self._client.get_guild(guild_id)
        if guild is not None and guild.get_member(user_id) is not None:
            return True
        try:
            # discord.py's Guild.fetch_member needs a cached Guild, which a worker process never has;
            # the HTTP client it calls underneath does not.
            await self._client.http.get_member(guild_id, user_id)
        except discord.NotFound:  # Unknown Member (or a server the bot has left)
            return False
        return True
