"""Two interactions arriving in one TCP write are both handled by the real bot at once: the stand-in
writes nothing more to the gateway until both have been answered (see
tests/sandbox/test_discord_framing.py for why, and for frames cut across writes)."""

from __future__ import annotations

import asyncio

from bot.sandbox.discord import DiscordStandIn, slash_command
from tests.discord.conftest import answered
from tests.fixtures.discord_gateway import ADMIN_ID, FEED_CHANNEL_ID, GUILD_ID, MOD_ID


async def test_an_interaction_right_behind_another_is_handled_at_once(
    make_bot, gateway_standin: DiscordStandIn
) -> None:
    async with make_bot():
        gateway = gateway_standin.gateway
        connection = next(c for c in reversed(gateway.connections) if c.session is not None)
        admin, moderator = (gateway_standin.member(GUILD_ID, who) for who in (ADMIN_ID, MOD_ID))
        gateway.pause()
        status = await gateway_standin.dispatch_interaction(
            slash_command("bridge", member=admin, channel_id=FEED_CHANNEL_ID, subcommand="status")
        )
        requests = await gateway_standin.dispatch_interaction(
            slash_command("vrc", member=moderator, channel_id=FEED_CHANNEL_ID, subcommand="requests")
        )
        await gateway.flush()  # both INTERACTION_CREATEs in a single write, then nothing more
        await asyncio.gather(
            status.wait_for(lambda ex: bool(ex.followups), timeout=10, what="the status report"),
            requests.wait_for(answered, timeout=10, what="the pending list"),
        )
        assert connection.writes == 1
        await gateway.resume()
    assert status.followups and "GroupBridge status" in str(status.followups[0].body)
    assert requests.followups and "Carol" in str(requests.followups[0].body)
