"""The interaction desk: completes and dispatches interactions, then takes the bot's answers.

Routes (no ``Authorization`` header: Discord authenticates these by the interaction token):
``POST /interactions/{id}/{token}/callback``, ``POST /webhooks/{app_id}/{token}`` (follow-up,
``?wait=true`` returns the message), ``GET|PATCH|DELETE /webhooks/{app_id}/{token}/messages/{id}``
where ``{id}`` may be ``@original``.

Discord's rules kept here: one callback per interaction (400 40060), within ``response_deadline``
seconds (3 s; later -> 404 10062 Unknown interaction), callback types allowed per interaction type,
follow-ups only after the callback and for ``token_lifetime`` (15 min), and the first follow-up
after a deferral (type 5) *fills the loading message* rather than posting a new one.  Ephemeral
messages are stored in the channel but hidden from channel routes, like Discord.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

import bot.sandbox.discord.response_checks as checks

from .commands import CHAT_INPUT, CommandRegistry, type_options
from .gateway import GatewayServer
from .handlers import API_PREFIX, BODY_KEY, SPEC_ERROR_KEY, ParsedBody, json_response
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    EventKind,
    ExchangeEvent,
    InteractionExchange,
)
from .models import MessageWrite, StandInMessage
from .state import ApiError, StandInState

EPHEMERAL, LOADING = 64, 128
CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, CHOICES, MODAL = 4, 5, 6, 7, 8, 9
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL},
    AUTOCOMPLETE: {CHOICES},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # Discord's default upload limit for an unboosted guild


class CommandUnavailable(LookupError):
    """Discord would never send this interaction (command not synced, or hidden from the member)."""


@dataclass
class PendingInteraction:
    """What the stand-in remembers about one dispatched interaction."""

    id: int
    token: str
    type: int
    channel_id: int
    user_id: int
    created_at: float
    exchange: InteractionExchange
    source_message_id: int | None = None  # the message a component (or its modal) sits on
    response_type: int | None = None
    original_id: int | None = None
    message_ids: set[int] = field(default_factory=set)
    loading: bool = False


@dataclass(eq=False)
class InteractionDesk:
    state: StandInState
    registry: CommandRegistry
    gateway: GatewayServer
    render: Callable[[StandInMessage], dict[str, Any]]
    require_synced: bool = True
    response_deadline: float = 3.0
    token_lifetime: float = 15 * 60.0
    pending: dict[int, PendingInteraction] = field(default_factory=dict)
    by_token: dict[str, PendingInteraction] = field(default_factory=dict)
    modals: dict[tuple[int, str], tuple[dict[str, Any], PendingInteraction]] = field(default_factory=dict)
    exchanges: list[InteractionExchange] = field(default_factory=list)

    # ------------------------------------------------------------ dispatch
    async def dispatch(self, payload: dict[str, Any], *, force: bool = False) -> InteractionExchange:
        """Complete ``payload`` the way Discord does and send it as INTERACTION_CREATE."""
        message = payload.get("message")
        payload = copy.deepcopy({k: v for k, v in payload.items() if k != "message"})
        if isinstance(message, StandInMessage):
            payload["message"] = self.render(message)
        elif message is not None:
            payload["message"] = copy.deepcopy(message)
        kind = payload["type"]
        channel = self.state.channels.get(int(payload["channel_id"]))
        if channel is None:
            raise ValueError(f"channel {payload['channel_id']} is not in the stand-in (add_channel it)")
        guild = self.state.guilds.get(channel.guild_id)
        if guild is None or str(guild.id) != payload.get("guild_id"):
            raise ValueError(f"channel {channel.id} is not in the member's guild (or add_guild is missing)")
        user_id = int(payload["member"]["user"]["id"])
        permissions = payload["member"]["permissions"]
        source_id: int | None = None
        if kind in (APPLICATION_COMMAND, AUTOCOMPLETE):
            self._complete_command(payload, guild.id, int(permissions), force)
        elif kind == MESSAGE_COMPONENT:
            source_id = checks.clicked_message(payload)
        elif kind == MODAL_SUBMIT:
            source_id = self._complete_modal(payload, user_id)
        for resolved_channel in payload.get("data", {}).get("resolved", {}).get("channels", {}).values():
            resolved_channel["permissions"] = permissions
        interaction_id = self.state.snowflakes.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)  # Discord's tokens start "interaction:"
        bot_member = guild.members.get(self.state.bot.id)
        payload.update(
            id=str(interaction_id),
            token=token,
            application_id=str(self.state.bot.id),
            version=1,
            app_permissions=str(bot_member.permissions if bot_member else 0),
            entitlements=[],
            authorizing_integration_owners={"0": str(guild.id)},  # installed to the guild
            context=0,  # guild
            attachment_size_limit=ATTACHMENT_SIZE_LIMIT,
            channel={**channel.to_payload(), "permissions": permissions},
        )
        payload.setdefault("locale", "en-US")
        payload["guild_locale"] = guild.locale
        payload["guild"] = {"id": str(guild.id), "locale": guild.locale, "features": []}
        exchange = InteractionExchange(interaction_id, token, payload)
        pending = PendingInteraction(
            interaction_id, token, kind, channel.id, user_id, self.state.clock(), exchange, source_id
        )
        self.pending[interaction_id] = self.by_token[token] = pending
        self.exchanges.append(exchange)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return exchange

    def _complete_command(self, payload: dict[str, Any], guild_id: int, perms: int, force: bool) -> None:
        data = payload["data"]
        command = self.registry.find(data["name"], guild_id, data.get("type", CHAT_INPUT))
        if command is None:
            if self.require_synced:
                raise CommandUnavailable(
                    f"/{data['name']} is not synced for guild {guild_id} or globally; Discord only "
                    "sends interactions for registered commands (call tree.sync first)"
                )
            return
        if not force and not self.registry.visible_to(command, perms):
            raise CommandUnavailable(
                f"Discord hides /{data['name']} from this member (default_member_permissions "
                f"{command['default_member_permissions']}, member has {perms}); force=True delivers anyway"
            )
        data["id"] = command["id"]
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        data["options"] = type_options(command.get("options", []), data.get("options", []), data["name"])

    def _complete_modal(self, payload: dict[str, Any], user_id: int) -> int | None:
        data = payload["data"]
        opened = self.modals.get((user_id, data["custom_id"]))
        if opened is None:
            raise CommandUnavailable(f"the bot never opened modal {data['custom_id']!r} for user {user_id}")
        modal, source = opened
        data["components"] = checks.shape_modal_submit(modal, data["components"])
        if source.source_message_id is not None and "message" not in payload:
            channel = self.state.channels[source.channel_id]
            message = next((m for m in channel.messages if m.id == source.source_message_id), None)
            if message is not None:
                payload["message"] = self.render(message)
        return source.source_message_id

    # ------------------------------------------------------------ helpers
    def _refuse(self, pending: PendingInteraction | None, event: ExchangeEvent, error: ApiError) -> ApiError:
        event.status = error.status
        if pending is not None:
            pending.exchange.record(event)
        return error

    def _violation(self, text: str) -> None:
        self.state.violations.append(text)

    def _message(self, pending: PendingInteraction, message_id: int) -> StandInMessage:
        channel = self.state.channels[pending.channel_id]
        for message in channel.messages:
            if message.id == message_id and not message.deleted:
                return message
        raise ApiError(404, 10008, "Unknown Message")

    def _metadata(self, pending: PendingInteraction) -> dict[str, Any]:
        user = pending.exchange.payload["member"]["user"]
        return {
            "id": str(pending.id),
            "type": pending.type,
            "user": user,
            "authorizing_integration_owners": pending.exchange.payload["authorizing_integration_owners"],
        }

    def _new_message(self, pending: PendingInteraction, write: MessageWrite) -> StandInMessage:
        kind = 20 if pending.type == APPLICATION_COMMAND and pending.original_id is None else 0
        message = self.state.post_message(
            pending.channel_id,
            write,
            message_type=kind,
            webhook_id=self.state.bot.id,
            interaction_metadata=self._metadata(pending),
        )
        message.flags &= EPHEMERAL | 4 | 4096 | 32768  # what Discord keeps: ephemeral, suppress, v2
        pending.message_ids.add(message.id)
        return message

    def _edit(
        self, pending: PendingInteraction, message: StandInMessage, write: MessageWrite
    ) -> StandInMessage:
        keep = message.flags & EPHEMERAL  # an edit cannot make a message (non-)ephemeral
        self.state.apply_edit(message, write)
        message.flags = (message.flags & ~(EPHEMERAL | LOADING)) | keep
        if message.id == pending.original_id:
            pending.loading = False
        return message

    # ------------------------------------------------------------ callback
    async def callback(self, request: web.Request) -> web.Response:
        raw_id = request.match_info["interaction_id"]
        pending = self.pending.get(int(raw_id)) if raw_id.isdigit() else None
        method = f"POST /interactions/{raw_id}/callback"
        parsed: ParsedBody = request[BODY_KEY]
        body = parsed.json if isinstance(parsed.json, dict) else {}
        event = ExchangeEvent("callback", body, 200)
        if pending is None or pending.token != request.match_info["interaction_token"]:
            self._violation(f"{method}: unknown interaction or wrong token")
            raise self._refuse(pending, event, ApiError(404, 10062, "Unknown interaction"))
        if pending.response_type is not None:
            self._violation(f"{method}: interaction already acknowledged")
            raise self._refuse(
                pending, event, ApiError(400, 40060, "Interaction has already been acknowledged.")
            )
        if self.state.clock() - pending.created_at > self.response_deadline:
            self._violation(f"{method}: answered after {self.response_deadline} s (Discord has expired it)")
            raise self._refuse(pending, event, ApiError(404, 10062, "Unknown interaction"))
        invalid = request.get(SPEC_ERROR_KEY)
        if invalid is not None:  # not acknowledged: the bot may still answer with a valid body
            raise self._refuse(pending, event, invalid)
        try:
            message = self._answer(pending, method, body, parsed)
        except ApiError as error:
            raise self._refuse(pending, event, error) from None
        event.message = message
        pending.exchange.original = message if pending.original_id is not None else None
        pending.exchange.record(event)
        rtype = body["type"]
        interaction: dict[str, Any] = {"id": str(pending.id), "type": pending.type}
        resource: dict[str, Any] = {"type": rtype}
        if message is not None:
            interaction.update(
                response_message_id=str(message.id),
                response_message_loading=pending.loading,
                response_message_ephemeral=message.ephemeral,
            )
            resource["message"] = self.render(message)
        return json_response({"interaction": interaction, "resource": resource})

    def _answer(
        self, pending: PendingInteraction, method: str, body: dict[str, Any], parsed: ParsedBody
    ) -> StandInMessage | None:
        rtype = body.get("type")
        if parsed.invalid or rtype not in ALLOWED_CALLBACKS[pending.type]:
            self._violation(
                f"{method}: callback type {rtype!r} is not valid for interaction type {pending.type}"
            )
            raise checks.form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type")
        data = body.get("data") or {}
        message: StandInMessage | None = None
        if rtype == CHANNEL_MESSAGE:
            message = self._new_message(pending, MessageWrite(method, data, parsed.files, ("data",)))
        elif rtype == DEFERRED_MESSAGE:
            now = self.state.clock()
            message = StandInMessage(
                id=self.state.snowflakes.next(),
                channel_id=pending.channel_id,
                author_id=self.state.bot.id,
                content="",
                embeds=[],
                components=[],
                nonce=None,
                allowed_mentions=None,
                attachments=[],
                timestamp=now,
                flags=LOADING | (int(data.get("flags") or 0) & EPHEMERAL),
                message_type=20 if pending.type == APPLICATION_COMMAND else 0,
                webhook_id=self.state.bot.id,
                interaction_metadata=self._metadata(pending),
            )
            self.state.channels[pending.channel_id].messages.append(message)
            pending.message_ids.add(message.id)
            pending.loading = True
        elif rtype in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            if pending.source_message_id is None:
                self._violation(f"{method}: type {rtype} needs a message (this modal came from a command)")
                raise checks.form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type")
            message = self._message(pending, pending.source_message_id)
            if rtype == UPDATE_MESSAGE:
                self._edit(pending, message, MessageWrite(method, data, parsed.files, ("data",)))
        elif rtype == CHOICES:
            checks.check_choices(self.state, method, data)
        elif rtype == MODAL:
            checks.check_modal(self.state, method, data)
            self.modals[(pending.user_id, data["custom_id"])] = (data, pending)
        pending.response_type = rtype
        if message is not None:
            pending.original_id = message.id
            pending.message_ids.add(message.id)
        return message

    # ------------------------------------------------------------ webhooks
    def _webhook(self, request: web.Request, event: ExchangeEvent) -> PendingInteraction:
        pending = self.by_token.get(request.match_info["webhook_token"])
        where = f"{request.method} /webhooks/{request.match_info['application_id']}/<token>"
        if pending is None or request.match_info["application_id"] != str(self.state.bot.id):
            self._violation(f"{where}: unknown webhook (wrong application id or token)")
            raise self._refuse(pending, event, ApiError(404, 10015, "Unknown Webhook"))
        if self.state.clock() - pending.created_at > self.token_lifetime:
            self._violation(f"{where}: interaction token used after {self.token_lifetime:.0f} s")
            raise self._refuse(pending, event, ApiError(401, 50027, "Invalid Webhook Token"))
        if pending.response_type is None:
            self._violation(f"{where}: follow-up/edit before the interaction was answered")
            raise self._refuse(pending, event, ApiError(404, 10015, "Unknown Webhook"))
        invalid = request.get(SPEC_ERROR_KEY)
        if invalid is not None:
            raise self._refuse(pending, event, invalid)
        return pending

    async def followup(self, request: web.Request) -> web.Response:
        parsed: ParsedBody = request[BODY_KEY]
        body = parsed.json if isinstance(parsed.json, dict) else {}
        event = ExchangeEvent("followup", body, 200)
        pending = self._webhook(request, event)
        method = f"POST /webhooks/{self.state.bot.id}/<token>"
        try:
            write = MessageWrite(method, body, parsed.files)
            if pending.loading and pending.original_id is not None:
                message = self._edit(pending, self._message(pending, pending.original_id), write)
            else:
                message = self._new_message(pending, write)
        except ApiError as error:
            raise self._refuse(pending, event, error) from None
        event.message = message
        pending.exchange.record(event)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(self.render(message))
        return web.Response(status=204)

    async def webhook_message(self, request: web.Request) -> web.Response:
        parsed: ParsedBody = request[BODY_KEY]
        body = parsed.json if isinstance(parsed.json, dict) else {}
        raw = request.match_info["message_id"]
        kinds: dict[str, EventKind] = {"GET": "fetch", "DELETE": "delete"}
        event = ExchangeEvent(kinds.get(request.method, "edit"), body, 200, message_id=raw)
        pending = self._webhook(request, event)
        method = f"{request.method} /webhooks/{self.state.bot.id}/<token>/messages/{raw}"
        try:
            target = pending.original_id if raw == "@original" else (int(raw) if raw.isdigit() else None)
            if target is None or target not in pending.message_ids:
                raise ApiError(404, 10008, "Unknown Message")
            message = self._message(pending, target)
            if request.method == "DELETE":
                message.deleted = True
            elif request.method == "PATCH":
                self._edit(pending, message, MessageWrite(method, body, parsed.files))
        except ApiError as error:
            if request.method != "GET":  # a bot may probe whether a message still exists
                self._violation(f"{method}: {error.code} {error.message}")
            raise self._refuse(pending, event, error) from None
        event.message = message
        pending.exchange.record(event)
        return web.Response(status=204) if request.method == "DELETE" else json_response(self.render(message))


def add_routes(app: web.Application, desk: InteractionDesk) -> None:
    api = API_PREFIX
    app.router.add_post(
        f"{api}/interactions/{{interaction_id}}/{{interaction_token}}/callback", desk.callback
    )
    app.router.add_post(f"{api}/webhooks/{{application_id}}/{{webhook_token}}", desk.followup)
    message = f"{api}/webhooks/{{application_id}}/{{webhook_token}}/messages/{{message_id}}"
    app.router.add_get(message, desk.webhook_message)
    app.router.add_patch(message, desk.webhook_message)
    app.router.add_delete(message, desk.webhook_message)
