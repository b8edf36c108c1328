"""A local stand-in for the slice of Discord's REST API v10 the bot uses, for tests, demos and
benchmarks.  The real discord.py HTTP client is pointed at it; tests assert on what Discord would
have received (``requests``, ``messages``) and on what Discord would have refused (``violations``).

    standin = DiscordStandIn(token="fake-token", rate_limit=(5, 5.0), nonce_window=300.0)
    await standin.start(host="127.0.0.1", port=0)
    standin.add_channel(123, guild_id=456, name="feed")
    with pointed_at(standin):
        client = discord.Client(intents=discord.Intents.none())
        await client.login("fake-token")
        await client.get_partial_messageable(123).send(
            "hi", allowed_mentions=discord.AllowedMentions.none()
        )
        await client.close()
    assert [m.content for m in standin.messages(123)] == ["hi"] and not standin.violations
    await standin.close()

Routes: ``GET /users/@me``, ``GET /oauth2/applications/@me`` (``Client.login`` calls both),
``GET /gateway``, ``GET /gateway/bot``, ``GET /channels/{id}``, ``GET|POST /channels/{id}/messages``,
``GET|PATCH|DELETE /channels/{id}/messages/{id}``; uploads are served back under ``/attachments/``.
Apart from the base-URL hook it re-exports (bot.discord_endpoint) it imports nothing from the bot,
so the bot cannot pass by agreeing with itself.  Every request is checked against Discord's official
OpenAPI description (``openapi.py``, the spec vendored in ``spec/``) and then against Discord's
documented limits where they are tighter (``limits.py``, ``commands.py``); what either refuses is
answered 400 50035 like Discord and recorded in ``violations``.

Gateway and interactions (a real bot connects over a websocket and answers interactions):

    standin.add_guild(GUILD_ID, "Guild", owner_id=ADMIN_ID)
    moderator = standin.add_member(GUILD_ID, 42, "mod", role_ids=(MOD_ROLE_ID,))
    with pointed_at(standin, gateway=standin.gateway_url):
        ...  # bot.start(TOKEN) as a task; tests/fixtures/discord_gateway.py does all this
        exchange = await standin.dispatch_interaction(
            slash_command("ping", {"text": "hi"}, member=moderator, channel_id=FEED_ID)
        )
        assert (await exchange.wait()).type == 4

``standin.gateway.pause()`` / ``flush(pieces=n)`` / ``resume()`` deliver gateway frames as a
network may: several in one TCP write, or one frame cut across writes.

Routes added for that: ``GET /gateway`` (websocket), ``POST /interactions/{id}/{token}/callback``,
``POST /webhooks/{app}/{token}``, ``GET|PATCH|DELETE /webhooks/{app}/{token}/messages/{id|@original}``,
``GET|PUT /applications/{app}/commands`` and ``.../guilds/{guild}/commands``.

Members, roles and bans (``roster.py``, ``member_routes.py``, ``guild_events.py``): ``GET
/guilds/{g}/members`` (paged by user id), ``GET /guilds/{g}/members/{u}``, ``PUT|DELETE
/guilds/{g}/members/{u}/roles/{r}`` with Discord's refusals (403 50013 for a role at or above the
bot's highest, a managed role, or no Manage Roles; 404 10007 / 10011), ``GET /guilds/{g}/roles``,
``GET /guilds/{g}/bans[/{u}]``; their answers are checked against the spec's response schemas too.
The world changes under the bot through ``create_role`` / ``update_role`` / ``delete_role``,
``join`` / ``update_member`` / ``give_role`` / ``take_role`` / ``leave``, ``ban`` / ``unban``, each
sending the gateway event Discord sends, only for the intents the bot identified with:

    await standin.create_role(GUILD_ID, VERIFIED_ID, "Verified", position=1)  # below the bot's role
    await member.add_roles(verified)          # discord.py: PUT .../roles/{r}, then on_member_update
    await standin.ban(GUILD_ID, MEMBER_ID)    # on_member_ban (GUILD_MODERATION intent)

``standin.state.privileged_intents`` is the Developer Portal's switch for privileged intents.
"""

from .commands import CommandRegistry, CommandSync
from .endpoint import current_base, pointed_at
from .gateway import GatewayConnection, GatewayServer, GatewaySession
from .guild_events import GuildControls
from .guilds import StandInGuild, StandInMember, StandInRole
from .interactions import (
    ExchangeEvent,
    InteractionExchange,
    autocomplete,
    button_click,
    modal_submit,
    slash_command,
)
from .models import (
    RecordedFile,
    RecordedRequest,
    StandInAttachment,
    StandInChannel,
    StandInMessage,
    StandInUser,
)
from .ratelimit import bucket_hash
from .responses import CommandUnavailable
from .server import DiscordStandIn
from .state import ApiError

__all__ = [
    "ApiError",
    "CommandRegistry",
    "CommandSync",
    "CommandUnavailable",
    "DiscordStandIn",
    "ExchangeEvent",
    "GatewayConnection",
    "GatewayServer",
    "GatewaySession",
    "GuildControls",
    "InteractionExchange",
    "RecordedFile",
    "RecordedRequest",
    "StandInAttachment",
    "StandInChannel",
    "StandInGuild",
    "StandInMember",
    "StandInMessage",
    "StandInRole",
    "StandInUser",
    "autocomplete",
    "bucket_hash",
    "button_click",
    "current_base",
    "modal_submit",
    "pointed_at",
    "slash_command",
]
