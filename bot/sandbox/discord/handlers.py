"""Route handlers: HTTP in, ``StandInState`` calls, Discord-shaped JSON out.

Every JSON response goes through ``json_response``: discord.py only parses a body as JSON when
``Content-Type`` is *exactly* ``application/json`` (``json_or_text`` compares the header string),
and aiohttp's ``web.json_response`` - or ``web.Response(text=...)`` - appends ``; charset=utf-8``.
Passing bytes as ``body`` keeps the header bare.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .models import RecordedFile
from .state import ApiError, StandInState

API_PREFIX = "/api/v10"


@dataclass
class ParsedBody:
    """The request body: JSON (or multipart ``payload_json``) plus any uploaded file parts."""

    json: Any = None
    files: list[RecordedFile] = field(default_factory=list)
    invalid: bool = False  # the body was present but not parseable JSON


@dataclass
class Urls:
    """Where the stand-in is reachable: ``origin`` (attachment URLs) and the gateway URL it hands out.

    Mutable because the port is only known after the app (whose state is frozen by then) is bound.
    """

    origin: str = ""
    gateway: str = ""


STATE_KEY = web.AppKey("discord_standin_state", StandInState)
URLS_KEY = web.AppKey("discord_standin_urls", Urls)
BODY_KEY = web.RequestKey("discord_standin_body", ParsedBody)
# A spec refusal the interaction desk answers itself (after checking the interaction token).
SPEC_ERROR_KEY = web.RequestKey("discord_standin_spec_error", ApiError)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (see module docstring)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json", headers=headers
    )


def form_error(state: StandInState, name: str, code: str, message: str) -> ApiError:
    """A 50035 for a bad path or query parameter, recorded as a violation."""
    state.violations.append(f"{name}: {message}")
    return ApiError(
        400, 50035, "Invalid Form Body", {name: {"_errors": [{"code": code, "message": message}]}}
    )


def _state(request: web.Request) -> StandInState:
    return request.app[STATE_KEY]


def _snowflake(request: web.Request, name: str, raw: str | None = None) -> int:
    value = request.match_info[name] if raw is None else raw
    if not value.isdigit():
        raise form_error(_state(request), name, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
    return int(value)


def _body(request: web.Request) -> tuple[dict[str, Any], list[RecordedFile]]:
    parsed: ParsedBody = request[BODY_KEY]
    if parsed.invalid or not isinstance(parsed.json, dict):
        _state(request).violations.append(f"{request.method} {request.path}: body is not a JSON object")
        raise ApiError(400, 50109, "The request body contains invalid JSON.")
    return parsed.json, parsed.files


def _render(request: web.Request, message: Any, *, with_nonce: bool = False) -> dict[str, Any]:
    return message.to_payload(_state(request).bot, request.app[URLS_KEY].origin, with_nonce=with_nonce)


# ------------------------------------------------------------------ users, application, gateway
async def get_me(request: web.Request) -> web.Response:
    bot = _state(request).bot
    return json_response(
        {**bot.to_payload(), "flags": 0, "mfa_enabled": False, "verified": True, "locale": "en-US"}
    )


async def get_application(request: web.Request) -> web.Response:
    """``Client.login`` fetches this right after ``/users/@me``; for a bot, app id == user id."""
    bot = _state(request).bot
    return json_response(
        {
            "id": str(bot.id),
            "name": bot.username,
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": {**bot.to_payload(), "bot": False},
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
        }
    )


async def get_gateway(request: web.Request) -> web.Response:
    return json_response({"url": request.app[URLS_KEY].gateway})


async def get_gateway_bot(request: web.Request) -> web.Response:
    return json_response(
        {
            "url": request.app[URLS_KEY].gateway,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
        }
    )


# ------------------------------------------------------------------ guilds
async def get_guild_member(request: web.Request) -> web.Response:
    """``GET /guilds/{guild}/members/{user}``: no privileged intent needed, as on Discord; 404 Unknown
    Member for someone not in the server (Unknown Guild for a server the bot is not in)."""
    guild = _state(request).guilds.get(_snowflake(request, "guild_id"))
    if guild is None:
        raise ApiError(404, 10004, "Unknown Guild")
    member = guild.members.get(_snowflake(request, "user_id"))
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    return json_response(member.to_payload(with_permissions=False))


# ------------------------------------------------------------------ channels and messages
async def get_channel(request: web.Request) -> web.Response:
    return json_response(_state(request).channel(_snowflake(request, "channel_id")).to_payload())


async def create_message(request: web.Request) -> web.Response:
    body, files = _body(request)
    message, _created = _state(request).create_message(_snowflake(request, "channel_id"), body, files)
    # Discord answers 200 both for a new message and for a nonce duplicate.
    return json_response(_render(request, message, with_nonce=True))


async def edit_message(request: web.Request) -> web.Response:
    body, files = _body(request)
    state = _state(request)
    message = state.edit_message(
        _snowflake(request, "channel_id"), _snowflake(request, "message_id"), body, files
    )
    return json_response(_render(request, message))


async def delete_message(request: web.Request) -> web.Response:
    _state(request).delete_message(_snowflake(request, "channel_id"), _snowflake(request, "message_id"))
    return web.Response(status=204)


async def get_message(request: web.Request) -> web.Response:
    message = _state(request).message(_snowflake(request, "channel_id"), _snowflake(request, "message_id"))
    return json_response(_render(request, message))


async def list_messages(request: web.Request) -> web.Response:
    state = _state(request)
    channel_id = _snowflake(request, "channel_id")
    raw_limit = request.query.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise form_error(state, "limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
    anchors = {
        key: _snowflake(request, key, request.query[key])
        for key in ("before", "after", "around")
        if key in request.query
    }
    messages = state.list_messages(channel_id, limit=int(raw_limit), **anchors)
    return json_response([_render(request, m) for m in messages])


async def get_attachment(request: web.Request) -> web.Response:
    """Serves uploaded bytes (outside /api/v10, like Discord's CDN) so ``Attachment.read()`` works."""
    state = _state(request)
    channel = state.channels.get(_snowflake(request, "channel_id"))
    attachment_id = _snowflake(request, "attachment_id")
    for message in channel.messages if channel else []:
        for attachment in message.attachments:
            if attachment.id == attachment_id:
                return web.Response(body=attachment.data, content_type=attachment.content_type)
    return web.Response(status=404, text="Not Found")


def add_routes(app: web.Application) -> None:
    """Register every route; the middleware keys rate limits by these templates."""
    api = API_PREFIX
    app.router.add_get(f"{api}/users/@me", get_me)
    app.router.add_get(f"{api}/oauth2/applications/@me", get_application)
    app.router.add_get(f"{api}/gateway", get_gateway)
    app.router.add_get(f"{api}/gateway/bot", get_gateway_bot)
    app.router.add_get(f"{api}/guilds/{{guild_id}}/members/{{user_id}}", get_guild_member)
    app.router.add_get(f"{api}/channels/{{channel_id}}", get_channel)
    app.router.add_get(f"{api}/channels/{{channel_id}}/messages", list_messages)
    app.router.add_post(f"{api}/channels/{{channel_id}}/messages", create_message)
    app.router.add_get(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", get_message)
    app.router.add_patch(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", edit_message)
    app.router.add_delete(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", delete_message)
    app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", get_attachment)
