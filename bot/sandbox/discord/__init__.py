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
It imports nothing from the bot, so the bot cannot pass by agreeing with itself.
"""

from .client_patch import current_base, pointed_at
from .models import (
    RecordedFile,
    RecordedRequest,
    StandInAttachment,
    StandInChannel,
    StandInMessage,
    StandInUser,
)
from .ratelimit import bucket_hash
from .server import DiscordStandIn
from .state import ApiError

__all__ = [
    "ApiError",
    "DiscordStandIn",
    "RecordedFile",
    "RecordedRequest",
    "StandInAttachment",
    "StandInChannel",
    "StandInMessage",
    "StandInUser",
    "bucket_hash",
    "current_base",
    "pointed_at",
]
