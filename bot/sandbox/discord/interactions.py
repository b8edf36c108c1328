"""Interaction payload builders and ``InteractionExchange``, the record of how the bot answered one.

The builders write what a *user* did (which command with which options, which button on which
message, what they typed in a modal); ``DiscordStandIn.dispatch_interaction`` adds what Discord
adds (id, token, application id, the synced command's id and option types, channel object,
app permissions, locale, ``attachment_size_limit``...) and sends the result over the gateway.

    exchange = await standin.dispatch_interaction(
        slash_command("request", {"user": "alice"}, member=moderator, channel_id=REQUESTS)
    )
    callback = await exchange.wait()
    assert callback.type == 4 and callback.data["flags"] == 64
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .guilds import StandInMember, StandInRole
from .models import StandInChannel, StandInMessage, StandInUser

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
BUTTON, STRING_SELECT = 2, 3
OptionValue = str | int | float | bool | StandInMember | StandInUser | StandInRole | StandInChannel
Options = Mapping[str, OptionValue] | Sequence[dict[str, Any]]


def _interaction(
    kind: int, data: dict[str, Any], channel_id: int, member: StandInMember, locale: str
) -> dict[str, Any]:
    """What every interaction carries besides its ``data``; who acted is a guild member, with the
    permissions discord.py turns into ``interaction.permissions``. (DM interactions - a top-level
    ``user`` instead - are not modelled.)"""
    return {
        "type": kind,
        "data": data,
        "channel_id": str(channel_id),
        "locale": locale,
        "guild_id": str(member.guild_id),
        "member": member.to_payload(with_permissions=True),
    }


def _options(options: Options, resolved: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Options as ``{"name", "value"}``; users, roles and channels become ids plus resolved data
    (the option ``type`` is added at dispatch from the synced command)."""
    if not isinstance(options, Mapping):
        return [dict(o) for o in options]
    out = []
    for name, value in options.items():
        if isinstance(value, StandInMember):
            member = value.to_payload(with_permissions=True)
            resolved.setdefault("users", {})[str(value.id)] = member.pop("user")
            resolved.setdefault("members", {})[str(value.id)] = member
            value = str(value.id)
        elif isinstance(value, StandInUser):
            resolved.setdefault("users", {})[str(value.id)] = value.to_payload()
            value = str(value.id)
        elif isinstance(value, StandInRole):
            resolved.setdefault("roles", {})[str(value.id)] = value.to_payload()
            value = str(value.id)
        elif isinstance(value, StandInChannel):
            channel = value.to_payload()
            channel["permissions"] = "0"  # filled at dispatch with the actor's permissions
            resolved.setdefault("channels", {})[str(value.id)] = channel
            value = str(value.id)
        out.append({"name": name, "value": value})
    return out


def _nest(path: str | None, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``"group sub"`` -> ``[{"name": "group", "options": [{"name": "sub", "options": options}]}]``."""
    for name in reversed((path or "").split()):
        options = [{"name": name, "options": options}]
    return options


def _command(
    kind: int,
    name: str,
    options: Options,
    focused: tuple[str, str] | None,
    subcommand: str | None,
    member: StandInMember,
    channel_id: int,
    locale: str,
) -> dict[str, Any]:
    """A slash command's payload, or (``focused`` = (option, typed text)) its autocomplete's."""
    resolved: dict[str, dict[str, Any]] = {}
    opts = _options(options, resolved)
    if focused is not None:
        focused_name, typed = focused
        opts = [o for o in opts if o["name"] != focused_name]
        opts.append({"name": focused_name, "value": typed, "focused": True})  # partial input: a string
    data: dict[str, Any] = {"name": name, "type": 1, "options": _nest(subcommand, opts)}
    if resolved:
        data["resolved"] = resolved
    return _interaction(kind, data, channel_id, member, locale)


def slash_command(
    name: str,
    options: Options = (),
    *,
    channel_id: int,
    member: StandInMember,
    subcommand: str | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """``/name [subcommand path] option:value...`` used by ``member`` in ``channel_id``.

    ``options`` maps option names to values; members, users, roles and channels may be given as
    the stand-in's records and arrive as ids with ``resolved`` data, like Discord sends them.
    """
    return _command(APPLICATION_COMMAND, name, options, None, subcommand, member, channel_id, locale)


def autocomplete(
    name: str,
    focused: str,
    value: str,
    options: Options = (),
    *,
    channel_id: int,
    member: StandInMember,
    subcommand: str | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """The user typed ``value`` into option ``focused`` of ``/name`` (other options already filled)."""
    return _command(AUTOCOMPLETE, name, options, (focused, value), subcommand, member, channel_id, locale)


def button_click(
    custom_id: str,
    message: StandInMessage,
    *,
    member: StandInMember,
    values: Sequence[str] | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """A click on the component ``custom_id`` of ``message`` (a select when ``values`` is given).

    The message is rendered at dispatch time, so the click sees it as it is then, and dispatch
    refuses a custom_id the message does not carry (Discord cannot send such a click).
    """
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": BUTTON}
    if values is not None:
        data.update(component_type=STRING_SELECT, values=list(values))
    return {**_interaction(MESSAGE_COMPONENT, data, message.channel_id, member, locale), "message": message}


def modal_submit(
    custom_id: str,
    fields: Mapping[str, str | Sequence[str]],
    *,
    channel_id: int,
    member: StandInMember,
    locale: str = "en-US",
) -> dict[str, Any]:
    """The user submitted the modal ``custom_id`` with ``fields`` (input custom_id -> text, or a
    list of values for a select).  Dispatch re-shapes the components to the layout of the modal
    the bot opened (action rows or labels) and refuses a modal the bot never opened."""
    rows = []
    for field_id, value in fields.items():
        if isinstance(value, str):
            rows.append({"type": 1, "components": [{"type": 4, "custom_id": field_id, "value": value}]})
        else:
            component = {"type": STRING_SELECT, "custom_id": field_id, "values": list(value)}
            rows.append({"type": 1, "components": [component]})
    return _interaction(
        MODAL_SUBMIT, {"custom_id": custom_id, "components": rows}, channel_id, member, locale
    )


# ------------------------------------------------------------------ the exchange
EventKind = Literal["callback", "followup", "edit", "delete", "fetch"]


@dataclass
class ExchangeEvent:
    """One call the bot made for an interaction (``kind``: callback, followup, edit, delete, or fetch
    = GET of a webhook message): ``body`` as received, ``status`` as answered,
    ``message`` the stored message it created or changed (None for refused calls, autocomplete
    and modals)."""

    kind: EventKind
    body: dict[str, Any]
    status: int
    message: StandInMessage | None = None
    message_id: str | None = None  # edits, deletes, fetches: the path's id ("@original" or a number)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def type(self) -> int | None:
        """The callback type (4 message, 5 deferred, 6 deferred update, 7 update, 8 choices, 9 modal)."""
        return self.body.get("type") if self.kind == "callback" else None

    @property
    def data(self) -> dict[str, Any]:
        """The callback's ``data`` (or, for follow-ups and edits, the body itself)."""
        return (self.body.get("data") or {}) if self.kind == "callback" else self.body


class InteractionExchange:
    """Everything the bot sent for one interaction, in arrival order (refused calls included)."""

    def __init__(self, interaction_id: int, token: str, payload: dict[str, Any]) -> None:
        self.id = interaction_id
        self.token = token
        self.payload = payload  # what went out over the gateway
        self.events: list[ExchangeEvent] = []
        self.original: StandInMessage | None = None  # the message @original refers to, once known
        self._changed = asyncio.Event()

    def record(self, event: ExchangeEvent) -> None:
        self.events.append(event)
        # Wake every waiter and start a fresh event for the next change (no polling, no sleeps).
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    @property
    def callback(self) -> ExchangeEvent | None:
        """The accepted callback, or None while unanswered."""
        return next((e for e in self.events if e.kind == "callback" and e.ok), None)

    @property
    def refused(self) -> list[ExchangeEvent]:
        return [e for e in self.events if not e.ok]

    @property
    def followups(self) -> list[ExchangeEvent]:
        return [e for e in self.events if e.kind == "followup" and e.ok]

    @property
    def edits(self) -> list[ExchangeEvent]:
        """Accepted edits of the original response (``PATCH .../messages/@original``)."""
        return [e for e in self.events if e.kind == "edit" and e.ok and e.message_id == "@original"]

    async def wait_for(
        self,
        predicate: Callable[[InteractionExchange], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Until ``predicate(self)`` holds; on timeout, fail with what did arrive."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self):
                    await self._changed.wait()
        except TimeoutError:
            seen = [(e.kind, e.type, e.status) for e in self.events] or "nothing"
            raise AssertionError(
                f"interaction {self.id}: no {what} within {timeout} s; the bot sent {seen} "
                "(an exception in the handler is logged by discord.py, not raised here)"
            ) from None

    # The waits own their deadline so a missing answer fails with what did arrive (ASYNC109 noqa).
    async def wait(self, timeout: float = 5.0) -> ExchangeEvent:  # noqa: ASYNC109
        """Until the interaction has been answered (the initial callback); returns it."""
        await self.wait_for(lambda ex: ex.callback is not None, timeout, "callback")
        assert self.callback is not None
        return self.callback

    async def wait_for_edit(self, count: int = 1, timeout: float = 5.0) -> ExchangeEvent:  # noqa: ASYNC109
        """Until ``count`` edits of the original arrived; returns the last."""
        await self.wait_for(lambda ex: len(ex.edits) >= count, timeout, f"{count} edit(s) of @original")
        return self.edits[count - 1]

    async def wait_for_followup(self, count: int = 1, timeout: float = 5.0) -> ExchangeEvent:  # noqa: ASYNC109
        """Until ``count`` follow-up messages arrived; returns the last."""
        await self.wait_for(lambda ex: len(ex.followups) >= count, timeout, f"{count} follow-up(s)")
        return self.followups[count - 1]

    def __repr__(self) -> str:
        kinds = ", ".join(f"{e.kind}:{e.type or ''}:{e.status}" for e in self.events)
        return f"<InteractionExchange {self.id} [{kinds}]>"
