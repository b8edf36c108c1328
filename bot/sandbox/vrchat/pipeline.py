"""The pipeline: VRChat's receive-only websocket, as the simulator serves it.

``GET /?authToken=<auth cookie>`` with a User-Agent upgrades to a websocket, like
``wss://pipeline.vrchat.cloud/?authToken=…`` (same host as the API here, at the root). A token that
is not a live, verified session gets ``{"err": "authToken doesn't correspond with an active
session"}`` and a close, as VRChat answers. A handshake without a User-Agent is refused (403).

When a player asks to join a group (``SimState.request_to_join``), every open connection of a user
who may manage the group's join requests gets a ``notification-v2`` message of type
``group.joinRequest``; its ``content`` is the NotificationV2 as a JSON *string* (double-encoded, as
VRChat sends it), checked against the spec's ``NotificationV2`` schema (problems are recorded in the
simulator's violations, like those of HTTP responses). How much the message says is
``payload``: "full" (``data.groupId``, a ``group:`` link and the requester), "link" (only the link),
"bare" (no group at all: a client must fall back to looking).

Tests steer it: ``refuse()`` (HTTP 503 to every handshake: the pipeline is down), ``reject_with()``
(each new connection gets that err and a close, e.g. a token from another IP), ``go_silent()``
(connections stay open and get nothing), ``restore()``; ``send_error()`` and ``close_all()`` act on
the open connections. ``attempts`` records every handshake. ``expire_sessions`` on the simulator
leaves open connections alone (they were authenticated when they opened); the next handshake with
such a token gets the err.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web

from .auth import SessionStore
from .models import iso, new_id
from .state import SimState
from .validation import SpecValidator

PIPELINE_PATH = "/"
MSG_NOT_ACTIVE = "authToken doesn't correspond with an active session"
MANAGES_REQUESTS = "group-invites-manage"

Payload = Literal["full", "link", "bare"]


@dataclass
class PipelineAttempt:
    """One handshake as the simulator saw it. ``outcome``: "open" (then "closed"), "err", "refused",
    "no user agent", "not a websocket"."""

    at: float  # time.monotonic()
    user_agent: str
    user_id: str | None = None
    outcome: str = "pending"
    closed_at: float | None = None


@dataclass
class Notification:
    """A join-request notification the simulator made (``delivered``: to how many connections)."""

    group_id: str
    user_id: str
    at: float  # time.monotonic()
    wall: float  # time.time()
    delivered: int = 0


_CLOSE = object()


@dataclass(eq=False)
class _Live:
    ws: web.WebSocketResponse
    user_id: str
    outbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class SimPipeline:
    def __init__(
        self,
        state: SimState,
        sessions: SessionStore,
        validator: Callable[[], SpecValidator | None],
        violations: list[str],
    ) -> None:
        self._state = state
        self._sessions = sessions
        self._validator = validator
        self._violations = violations
        self._live: set[_Live] = set()
        self._refuse_status: int | None = None
        self._reject_message: str | None = None
        self.silent = False
        self.payload: Payload = "full"
        self.attempts: list[PipelineAttempt] = []
        self.notifications: list[Notification] = []
        state.join_request_listeners.append(self.notify_join_request)

    # ------------------------------------------------------------ steering
    def refuse(self, status: int = 503) -> None:
        """Answer every handshake with this HTTP status (the pipeline is down)."""
        self._refuse_status = status

    def reject_with(self, message: str = MSG_NOT_ACTIVE) -> None:
        """Every new connection gets ``{"err": message}`` and a close, whatever its token."""
        self._reject_message = message

    def go_silent(self) -> None:
        """Keep connections open but send them nothing."""
        self.silent = True

    def restore(self) -> None:
        self._refuse_status = self._reject_message = None
        self.silent = False

    async def send_error(self, message: str = MSG_NOT_ACTIVE) -> int:
        """``{"err": message}`` then a close, to every open connection; returns how many."""
        return await self._to_all([json.dumps({"err": message}), _CLOSE])

    async def close_all(self) -> int:
        """Close every open connection (as a restart of VRChat's pipeline would); returns how many."""
        return await self._to_all([_CLOSE])

    async def _to_all(self, items: list[Any]) -> int:
        live = list(self._live)
        for conn in live:
            for item in items:
                conn.outbox.put_nowait(item)
        if live:  # a client that does not answer the close is cut off after aiohttp's close timeout
            await asyncio.wait([asyncio.create_task(conn.ended.wait()) for conn in live])
        return len(live)

    # ------------------------------------------------------------ what tests read
    @property
    def open_connections(self) -> int:
        return len(self._live)

    def attempts_since(self, moment: float) -> list[PipelineAttempt]:
        return [a for a in self.attempts if a.at >= moment]

    # ------------------------------------------------------------ notifications
    def notify_join_request(self, group_id: str, user_id: str) -> None:
        """A player asked to join: tell every connection of someone who manages the requests."""
        record = Notification(group_id, user_id, time.monotonic(), time.time())
        self.notifications.append(record)
        if self.silent:
            return
        for conn in list(self._live):
            if self._state.has_permission(group_id, conn.user_id, MANAGES_REQUESTS):
                conn.outbox.put_nowait(self._message(group_id, user_id, conn.user_id))
                record.delivered += 1

    def _message(self, group_id: str, requester_id: str, receiver_id: str) -> str:
        state = self._state
        group = state.group(group_id)
        requester = state.user(requester_id)
        group_name = group.name if group else group_id
        name = requester.display_name if requester else requester_id
        now = state.clock()
        linked = self.payload in ("full", "link")
        content = {
            "id": new_id("ntf"),
            "version": 2,
            "type": "group.joinRequest",
            "category": "social.group",
            "isSystem": False,
            "ignoreDND": False,
            "senderUserId": requester_id,
            "senderUsername": requester.username if requester else None,
            "receiverUserId": receiver_id,
            "relatedNotificationsId": None,
            "title": group_name,
            "titleKey": None,
            "message": f"{name} has requested to join {group_name}",
            "messageKey": None,
            "imageUrl": None,
            "link": f"group:{group_id}" if linked else "",
            "linkText": "View requests" if linked else "",
            "linkTextKey": None,
            "responses": [],
            # The spec's data is a oneOf whose first branch is any object, so a data object that also
            # fits another branch (groupId *and* groupName) matches two: groupId alone keeps it valid.
            "data": {"groupId": group_id} if self.payload == "full" else {},
            "expiresAt": iso(now + timedelta(days=30)),
            "expiryAfterSeen": None,
            "requireSeen": False,
            "seen": False,
            "canDelete": True,
            "createdAt": iso(now),
            "updatedAt": iso(now),
        }
        validator = self._validator()
        if validator is not None:
            problems = validator.check_schema("NotificationV2", content)
            self._violations.extend(f"pipeline: {p}" for p in problems)
        return json.dumps({"type": "notification-v2", "content": json.dumps(content)})

    # ------------------------------------------------------------ the endpoint
    async def handle(self, request: web.Request) -> web.StreamResponse:
        attempt = PipelineAttempt(at=time.monotonic(), user_agent=request.headers.get("User-Agent", ""))
        self.attempts.append(attempt)
        if self._refuse_status is not None:
            attempt.outcome = "refused"
            return web.Response(status=self._refuse_status, text="Service Unavailable")
        if not attempt.user_agent.strip():
            attempt.outcome = "no user agent"
            return web.Response(status=403, text="A User-Agent is required")
        ws = web.WebSocketResponse(autoping=True)
        if not ws.can_prepare(request).ok:
            attempt.outcome = "not a websocket"
            return web.Response(status=400, text="Expected a websocket upgrade")
        await ws.prepare(request)
        session = self._sessions.lookup(request.query.get("authToken", ""), request.remote)
        reason = self._reject_message
        if reason is None and (session is None or not session.verified):
            reason = MSG_NOT_ACTIVE
        if reason is not None or session is None:
            attempt.outcome = "err"
            await ws.send_str(json.dumps({"err": reason}))
            await ws.close()
            return ws
        attempt.user_id, attempt.outcome = session.user_id, "open"
        conn = _Live(ws, session.user_id)
        self._live.add(conn)
        try:
            await self._serve(conn)
        finally:
            self._live.discard(conn)
            attempt.outcome, attempt.closed_at = "closed", time.monotonic()
            conn.ended.set()
        return ws

    async def _serve(self, conn: _Live) -> None:
        # Reading answers the client's pings and notices its close; the pipeline itself is receive-only.
        reader = asyncio.create_task(self._drain(conn.ws))
        try:
            while True:
                getter = asyncio.create_task(conn.outbox.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    return
                item = getter.result()
                if item is _CLOSE:
                    await conn.ws.close()
                    return
                await conn.ws.send_str(item)
        except ConnectionResetError:
            return
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            if not conn.ws.closed:
                await conn.ws.close()

    @staticmethod
    async def _drain(ws: web.WebSocketResponse) -> None:
        async for _ in ws:
            pass

    async def shutdown(self) -> None:
        """Close every connection (the simulator is stopping)."""
        await self.close_all()
