"""``DiscordStandIn``: the aiohttp server, its request pipeline and the public test API.

Pipeline for every request: parse and record it -> unknown route? 404/405 + violation -> check
``Authorization: Bot <token>`` (401) -> count it against its rate limit bucket (429) -> check it
against Discord's OpenAPI description (``openapi.py``: 400 50035 + violation) -> handler, which
applies Discord's documented limits where they are tighter than the spec (``limits.py``) -> add
the ``X-RateLimit-*`` headers and ``Via``.  discord.py treats a 429 *without* a ``Via`` header
as a Cloudflare ban and raises instead of waiting, so every response carries ``Via`` like Discord's.
Interaction callbacks and ``/webhooks/{id}/{token}`` routes skip the ``Authorization`` check: Discord
authenticates them by the token in the path, and discord.py sends them without the bot token.

The gateway (``gateway.py``) is served at ``/gateway`` on the same port; interactions are completed,
dispatched and answered by ``responses.InteractionDesk``; commands live in ``commands.CommandRegistry``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler

import bot.sandbox.discord.commands as commands
import bot.sandbox.discord.handlers as handlers
import bot.sandbox.discord.member_routes as member_routes
import bot.sandbox.discord.responses as responses
from bot.sandbox.serving import AppServer

from .commands import REGISTRY_KEY, CommandRegistry
from .gateway import GatewayServer
from .guild_events import GuildControls
from .handlers import (
    API_PREFIX,
    BODY_KEY,
    SPEC_ERROR_KEY,
    STATE_KEY,
    URLS_KEY,
    ParsedBody,
    Urls,
    json_response,
)
from .interactions import InteractionExchange
from .models import Clock, RecordedFile, RecordedRequest, StandInMessage, StandInUser
from .openapi import DiscordSpec, load_spec
from .ratelimit import RateLimiter
from .response_spec import ResponseChecker
from .state import ApiError, StandInState

CREATE_MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"
# Authenticated by the interaction token in the path, not by the bot token.
TOKEN_ROUTES = (f"{API_PREFIX}/interactions/", f"{API_PREFIX}/webhooks/{{application_id}}/{{webhook_token}}")


async def _parse_body(request: web.Request) -> ParsedBody:
    """JSON bodies as they are; multipart as ``payload_json`` + ``files[n]`` parts (discord.py's shape)."""
    if request.content_type.startswith("multipart/"):
        parsed = ParsedBody()
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue  # nested multipart: discord.py never sends it
            data = await part.read()
            if part.name == "payload_json":
                try:
                    parsed.json = json.loads(data)
                except ValueError:
                    parsed.invalid = True
            else:
                content_type = part.headers.get("Content-Type")
                parsed.files.append(RecordedFile(part.name, part.filename or "", bytes(data), content_type))
        return parsed
    raw = await request.read()
    if not raw:
        return ParsedBody()
    try:
        return ParsedBody(json=json.loads(raw))
    except ValueError:
        return ParsedBody(invalid=True)


P = ParamSpec("P")
R = TypeVar("R")


def _on_state(
    method: Callable[Concatenate[StandInState, P], R],
) -> Callable[Concatenate[DiscordStandIn, P], R]:
    """The stand-in's method that does what the state's `method` does (same signature and docs)."""
    name = method.__name__

    def forwarded(self: DiscordStandIn, /, *args: P.args, **kwargs: P.kwargs) -> R:
        on_state: Callable[P, R] = getattr(self.state, name)
        return on_state(*args, **kwargs)

    forwarded.__name__ = forwarded.__qualname__ = name
    forwarded.__doc__ = method.__doc__
    return forwarded


class DiscordStandIn(GuildControls, AppServer):
    """A local fake of the slice of Discord's REST API v10 the bot uses.

    ``rate_limit`` is (requests, seconds) per channel for message creation; ``other_rate_limit``
    applies per route + channel to everything else.  ``nonce_window`` is how long an
    ``enforce_nonce`` duplicate returns the earlier message.  ``clock`` returns epoch seconds.
    ``spec`` checks every request against Discord's OpenAPI description (None: the vendored copy).
    """

    def __init__(
        self,
        token: str,
        *,
        rate_limit: tuple[int, float] = (5, 5.0),
        other_rate_limit: tuple[int, float] = (50, 1.0),
        nonce_window: float = 300.0,
        strict_mentions: bool = True,
        clock: Clock = time.time,
        bot_id: int = 1_100_000_000_000_000_001,
        bot_name: str = "GroupBridge",
        spec: DiscordSpec | None = None,
    ) -> None:
        self.token = token
        self.spec = spec or load_spec()
        self.spec_checked = 0  # requests checked against the spec (and found valid or not)
        self.response_checker = ResponseChecker(self.spec)
        self.rate_limit = rate_limit
        self.other_rate_limit = other_rate_limit
        self.clock = clock
        self.state = StandInState(
            bot=StandInUser(id=bot_id, username=bot_name),
            clock=clock,
            nonce_window=nonce_window,
            strict_mentions=strict_mentions,
        )
        self.requests: list[RecordedRequest] = []
        self.rate_limited_count = 0
        self.limiter = RateLimiter()
        self.gateway = GatewayServer(self.state, token)
        self.commands = CommandRegistry(bot_id, self.state.snowflakes)
        self.desk = responses.InteractionDesk(self.state, self.commands, self.gateway, self.render_message)

    # ------------------------------------------------------------ public API
    @property
    def base_url(self) -> str:
        """``http://<host>:<port>/api/v10`` once started: what ``Route.BASE`` gets pointed at."""
        return self.origin + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The gateway websocket (what ``/gateway`` answers and READY's ``resume_gateway_url``)."""
        return self.websocket_url("/gateway")

    @property
    def bot_user(self) -> StandInUser:
        return self.state.bot

    @property
    def violations(self) -> list[str]:
        """Everything Discord would reject or the bot must not do; clear it after provoking one."""
        return self.state.violations

    @property
    def strict_mentions(self) -> bool:
        return self.state.strict_mentions

    @strict_mentions.setter
    def strict_mentions(self, value: bool) -> None:
        self.state.strict_mentions = value

    # Set-up without gateway events, as the state does it (GuildControls has the ones the bot sees).
    add_channel = _on_state(StandInState.add_channel)
    add_guild = _on_state(StandInState.add_guild)
    add_role = _on_state(StandInState.add_role)
    add_member = _on_state(StandInState.add_member)
    member = _on_state(StandInState.member)

    async def dispatch_interaction(
        self, payload: dict[str, Any], *, force: bool = False
    ) -> InteractionExchange:
        """Complete a builder's payload like Discord, send INTERACTION_CREATE to the connected bot,
        and return the exchange that records its answers.  Raises ``CommandUnavailable`` for a
        command Discord would not deliver (not synced; hidden by default_member_permissions unless
        ``force``) and ``ValueError`` for a click or modal submit a user could not have made."""
        return await self.desk.dispatch(payload, force=force)

    @property
    def exchanges(self) -> list[InteractionExchange]:
        """Every dispatched interaction's exchange, oldest first."""
        return self.desk.exchanges

    def synced_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The commands as stored after the last bulk overwrite (``guild_id`` None: global)."""
        return self.commands.scopes.get(guild_id, [])

    def render_message(self, message: StandInMessage) -> dict[str, Any]:
        """A stored message as Discord's JSON (what a fetch would return)."""
        return message.to_payload(self.state.bot, self.origin, with_nonce=False)

    def set_channel_error(self, channel_id: int, status: int | None) -> None:
        """Make a channel answer 403 Missing Permissions / 404 Unknown Channel, or (None) work again."""
        if status not in (403, 404, None):
            raise ValueError("status must be 403, 404 or None")
        self.state.channels[channel_id].error = status

    def messages(self, channel_id: int) -> list[StandInMessage]:
        """The channel's messages (deleted ones left out), oldest first."""
        return self.state.channels[channel_id].live_messages()

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests with that method and exact path (without /api/v10)."""
        return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def message_creations(self, channel_id: int) -> list[RecordedRequest]:
        """Successful (200) message-create requests to a channel, in arrival order."""
        return [r for r in self.requests_to("POST", f"/channels/{channel_id}/messages") if r.status == 200]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving; ``port=0`` picks a free port (see ``base_url``)."""
        self._refuse_second_start()
        app = web.Application(middlewares=[self._pipeline], client_max_size=25 * 1024**2)
        handlers.add_routes(app)
        commands.add_routes(app)
        responses.add_routes(app, self.desk)
        member_routes.add_routes(app, self.gateway)
        app.router.add_get("/gateway", self.gateway.handle)
        app[STATE_KEY] = self.state
        app[REGISTRY_KEY] = self.commands
        urls = app[URLS_KEY] = Urls()  # filled in once the port is known
        await self._serve(app, host, port)
        urls.origin, urls.gateway = self.origin, self.gateway_url
        self.gateway.url = self.gateway_url

    async def _before_stop(self) -> None:
        await self.gateway.close_all()

    # ------------------------------------------------------------ pipeline
    @web.middleware
    async def _pipeline(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        now = self.clock()
        try:
            parsed = await _parse_body(request)
        except ValueError:  # malformed multipart: the handler answers 50109 like for bad JSON
            parsed = ParsedBody(invalid=True)
        request[BODY_KEY] = parsed
        path = request.path
        record = RecordedRequest(
            method=request.method,
            path=path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path,
            query=dict(request.query.items()),
            headers=dict(request.headers.items()),
            json=parsed.json,
            at=now,
            files=parsed.files,
        )
        self.requests.append(record)
        try:
            response = await self._dispatch(request, handler, record.path, now)
        except Exception as exc:  # a stand-in bug: fail fast (discord.py retries a 500 for ~16 s)
            self.violations.append(f"{request.method} {record.path}: stand-in error {exc!r}")
            response = json_response({"message": f"stand-in error: {exc!r}", "code": 0}, 400)
        if not response.prepared:  # a websocket has already sent its headers
            response.headers["Via"] = "1.1 google"
        record.status = response.status
        return response

    async def _dispatch(
        self, request: web.Request, handler: Handler, rel: str, now: float
    ) -> web.StreamResponse:
        match_error = request.match_info.http_exception
        if match_error is not None:
            status = 405 if isinstance(match_error, web.HTTPMethodNotAllowed) else 404
            self.violations.append(f"{request.method} {rel}: not a route the stand-in knows")
            return json_response({"message": f"{status}: {match_error.reason}", "code": 0}, status)
        resource = request.match_info.route.resource
        assert resource is not None  # a matched route always has its resource
        template = resource.canonical
        if not template.startswith(API_PREFIX + "/"):
            return await handler(request)  # attachment downloads: CDN, no auth, no bucket
        token_route = template.startswith(TOKEN_ROUTES)
        if not token_route and request.headers.get("Authorization") != f"Bot {self.token}":
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        route = f"{request.method} {template[len(API_PREFIX) :]}"
        limit, per = self.rate_limit if route == CREATE_MESSAGE_ROUTE else self.other_rate_limit
        info = request.match_info
        major = (
            info.get("channel_id")
            or info.get("guild_id")
            or info.get("webhook_token")
            or info.get("interaction_id", "")
        )
        decision = self.limiter.hit(route, major, limit, per, now)
        if not decision.allowed:
            self.rate_limited_count += 1
            body = {
                "message": "You are being rate limited.",
                "retry_after": decision.reset_after,
                "global": False,
            }
            headers = {
                **decision.headers(),
                "Retry-After": str(math.ceil(decision.reset_after)),
                "X-RateLimit-Scope": "user",
            }
            return json_response(body, 429, headers)
        try:
            refusal = self._check_spec(request, rel)
            if refusal is not None:
                if not token_route:
                    raise refusal
                # The desk refuses it once it knows the interaction (an unknown token is a 404 first).
                request[SPEC_ERROR_KEY] = refusal
            response = await handler(request)
            self._check_response(request.method, rel, response)
        except ApiError as exc:
            response = json_response(exc.body(), exc.status)
        response.headers.update(decision.headers())
        return response

    def _check_response(self, method: str, rel: str, response: web.StreamResponse) -> None:
        """What the stand-in answers must be what Discord could answer (``response_spec.py``)."""
        if isinstance(response, web.Response) and response.content_type == "application/json":
            answer = json.loads(response.body) if isinstance(response.body, bytes) else None
            problems = self.response_checker.check(method, rel, response.status, answer)
            self.violations.extend(f"response: {p}" for p in problems)

    def _check_spec(self, request: web.Request, rel: str) -> ApiError | None:
        """Discord's 400 50035 for a request its OpenAPI description does not allow, else None."""
        parsed: ParsedBody = request[BODY_KEY]
        if parsed.invalid:
            return None  # the handler answers 50109 (invalid JSON)
        has_body = parsed.json is not None
        self.spec_checked += 1
        label, errors = self.spec.check(
            request.method, rel, list(request.query.items()), parsed.json, has_body=has_body
        )
        if not errors:
            return None
        where = label or f"{request.method} {rel}"
        self.violations.extend(f"{where}: {problem}" for problem in errors.problems)
        return ApiError(400, 50035, "Invalid Form Body", errors.tree)

    def __repr__(self) -> str:
        where = self._origin or "not started"
        return f"<DiscordStandIn {where} channels={len(self.state.channels)} requests={len(self.requests)}>"
