"""The gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME, member chunks,
and dispatching events (INTERACTION_CREATE) to the connected bot.

Wire format: JSON text frames, or - when the client asks with ``compress=zlib-stream`` in the URL,
as discord.py does without ``zstandard`` installed - one shared ``zlib.compressobj`` per connection
whose every message ends in a ``Z_SYNC_FLUSH`` (``00 00 ff ff``), exactly like Discord.  discord.py
would read plain text frames either way (it only decompresses *binary* frames); compressing anyway
keeps its production decompression path under test.  ``zstd-stream`` gets plain text frames.

Framing: normally each frame is its own write.  ``pause()`` / ``flush()`` / ``resume()`` let a test
deliver frames as a network may: several in one TCP write (``flush()``), or one frame cut across
writes (``flush(pieces=n)``), with nothing else written meanwhile.

RESUME is supported: a session survives a dropped connection (not a client close with 1000/1001,
which Discord treats as "session over"), events sent meanwhile are replayed after the client's
``seq``, then RESUMED.  An unknown or finished session gets op 9 (invalid session, not resumable),
and discord.py re-identifies.  Close codes follow Discord: 4001 unknown opcode, 4002 decode error,
4003 not authenticated, 4004 authentication failed, 4005 already authenticated, 4012 bad version,
4014 a privileged intent the application may not use (``StandInState.privileged_intents``).

Events of the world (``emit``, used by ``guild_events.py`` and the member routes) reach the bot only
when its IDENTIFY asked for their intent, and wait for a RESUME while its socket is down.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from .gateway_link import GatewayConnection, GatewaySession, Link, ws_frame
from .intents import GUILD_MEMBERS, PRIVILEGED
from .state import StandInState

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11
GUILD_MEMBERS_INTENT = GUILD_MEMBERS

__all__ = ["GatewayConnection", "GatewayServer", "GatewaySession", "ws_frame"]
# A client that ends its session on purpose closes with these; anything else may RESUME.
_FINAL_CLOSE_CODES = (1000, 1001)


class GatewayServer:
    """The stand-in's gateway; ``DiscordStandIn.gateway``."""

    def __init__(self, state: StandInState, token: str, *, heartbeat_interval_ms: int = 41_250) -> None:
        self.state = state
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.url = ""  # set once the server is bound; READY's resume_gateway_url
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        self._live: Link | None = None
        self._latest: GatewaySession | None = None  # the newest IDENTIFY's session
        self._links: set[Link] = set()
        self._ready = asyncio.Event()  # set while a session is READY/RESUMED on an open socket
        self._paused = False

    # ------------------------------------------------------------ test API
    @property
    def identify_count(self) -> int:
        return sum(1 for c in self.connections if c.session is not None and not c.resumed)

    @property
    def resume_count(self) -> int:
        return sum(1 for c in self.connections if c.resumed)

    @property
    def session(self) -> GatewaySession | None:
        """The session of the live connection, if a bot is connected."""
        return self._live.record.session if self._live is not None else None

    # The deadline is part of these test-facing waits (they fail with a message, not hang): ASYNC109.
    async def wait_connected(self, timeout: float = 10.0) -> GatewaySession:  # noqa: ASYNC109
        """Until a bot has been sent READY + its GUILD_CREATEs (or RESUMED) on an open socket."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._ready.wait()
                    session = self.session
                    if session is not None:  # else the socket closed right after READY: wait again
                        return session
                    self._ready.clear()
        except TimeoutError:
            raise TimeoutError(f"no bot connected to the stand-in gateway within {timeout} s") from None

    async def dispatch(self, event: str, data: dict[str, Any], *, timeout: float = 10.0) -> int:  # noqa: ASYNC109
        """Send a DISPATCH (op 0) to the connected bot; returns its sequence number."""
        session = await self.wait_connected(timeout)
        return await self._dispatch(session, event, data)

    async def emit(self, event: str, data: dict[str, Any], *, intent: int) -> int | None:
        """Send an event of the world (a member joined, a role moved) the way Discord does: to the
        current session only if it IDENTIFYed with ``intent``; while its socket is down the event
        waits for a RESUME.  Unlike ``dispatch`` it never waits for a bot to connect: with no
        session, or one without the intent, nothing is sent and None is returned (else the seq)."""
        session = self._latest
        if session is None or not session.resumable or not session.intents & intent:
            return None
        return await self._dispatch(session, event, data)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before moving a session; the client RESUMEs."""
        if self._live is not None:
            await self._live.send({"op": RECONNECT, "d": None})

    async def drop(self, code: int = 4000) -> None:
        """Close the live socket with a resumable code, like a network blip or gateway restart."""
        if self._live is not None:
            # Recorded first: the code the client echoes back (aiohttp reports 1000) must not be
            # mistaken for the client ending its session.
            self._live.record.close_code = code
            await self._live.ws.close(code=code)

    def pause(self) -> None:
        """From now on, frames to the connected bot queue up instead of being written (a stalled
        network); ``flush`` writes them, ``resume`` goes back to writing each frame at once."""
        self._paused = True
        for link in self._links:
            if link.held is None:
                link.held = []

    async def flush(self, *, pieces: int = 1, gap: float = 0.05) -> int:
        """Write what queued up since ``pause`` in ONE TCP write (several frames arrive together), or,
        with ``pieces``, cut the bytes into that many writes ``gap`` seconds apart (a frame arrives
        split).  Stays paused: nothing else reaches the bot until the next flush or ``resume``.
        Returns the bytes written."""
        written = 0
        for link in list(self._links):
            written += await link.write_held(pieces, gap)
        return written

    async def resume(self) -> None:
        """Write anything still queued (one write) and send each frame at once again."""
        self._paused = False
        for link in list(self._links):
            await link.write_held(1, 0.0, final=True)

    async def close_all(self) -> None:
        """Close every socket (stand-in shutdown): 1001 going away."""
        for link in list(self._links):
            await link.ws.close(code=1001)

    # ------------------------------------------------------------ connection
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        compress = request.query.get("compress") == "zlib-stream"
        record = GatewayConnection(query=dict(request.query.items()), compressed=compress)
        self.connections.append(record)
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        link = Link(ws, record, compress, request.transport)
        if self._paused:
            link.held = []
        self._links.add(link)
        try:
            if request.query.get("v") != "10":
                await self._close(link, 4012, "Invalid API version.")
            elif request.query.get("encoding", "json") != "json":
                await self._close(link, 4002, "Only encoding=json is supported by the stand-in.")
            else:
                await link.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
                await self._serve(link)
        finally:
            self._links.discard(link)
            record.close_code = record.close_code or ws.close_code
            if self._live is link:
                self._live = None
                self._ready.clear()
            if record.session is not None and record.close_code in _FINAL_CLOSE_CODES:
                record.session.resumable = False
        return ws

    async def _serve(self, link: Link) -> None:
        async for msg in link.ws:
            if msg.type is not WSMsgType.TEXT:
                await self._close(link, 4002, "Binary frames are not accepted (payload compression).")
                return
            try:
                payload = json.loads(msg.data)
                op = payload["op"]
            except (ValueError, KeyError, TypeError):
                await self._close(link, 4002, "Error while decoding payload.")
                return
            link.record.received.append(payload)
            if not await self._handle_op(link, op, payload.get("d")):
                return

    async def _handle_op(self, link: Link, op: int, data: Any) -> bool:
        """Handle one client payload; False once the connection was closed."""
        session = link.record.session
        if op == HEARTBEAT:
            await link.send({"op": HEARTBEAT_ACK, "d": None})
        elif op == IDENTIFY:
            if session is not None:
                return await self._close(link, 4005, "Already authenticated.")
            return await self._identify(link, data)
        elif op == RESUME:
            if session is not None:
                return await self._close(link, 4005, "Already authenticated.")
            return await self._resume(link, data)
        elif session is None:
            return await self._close(link, 4003, "Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            await self._send_members(session, data)
        elif op not in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            return await self._close(link, 4001, "Unknown opcode.")
        return True

    async def _close(self, link: Link, code: int, reason: str) -> bool:
        link.record.close_code = code
        await link.ws.close(code=code, message=reason.encode())
        return False

    async def _dispatch(self, session: GatewaySession, event: str, data: dict[str, Any]) -> int:
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        link = self._live
        if link is not None and link.record.session is session:
            await link.send(payload)
        return session.seq

    # ------------------------------------------------------------ identify / resume
    async def _identify(self, link: Link, data: Any) -> bool:
        if not isinstance(data, dict) or data.get("token") != self.token:
            return await self._close(link, 4004, "Authentication failed.")
        if not isinstance(data.get("intents"), int):
            return await self._close(link, 4013, "Invalid intent(s).")
        if data["intents"] & PRIVILEGED & ~self.state.privileged_intents:
            return await self._close(link, 4014, "Disallowed intent(s).")
        session = GatewaySession(id=secrets.token_hex(16), intents=data["intents"], identify=data)
        self.sessions[session.id] = session
        self._latest = session
        link.record.session = session
        self._go_live(link)
        bot = self.state.bot
        ready = {
            "v": 10,
            "user": {**bot.to_payload(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.state.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "application": {"id": str(bot.id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "_trace": ['["groupbridge-discord-standin"]'],
        }
        await self._dispatch(session, "READY", ready)
        # Discord streams the guilds after READY ("lazy loading"); discord.py waits for them.
        for guild in list(self.state.guilds.values()):
            channels = self.state.guild_channels(guild.id)
            await self._dispatch(session, "GUILD_CREATE", guild.create_payload(channels, bot.id))
        self._ready.set()
        return True

    async def _resume(self, link: Link, data: Any) -> bool:
        if not isinstance(data, dict) or data.get("token") != self.token:
            return await self._close(link, 4004, "Authentication failed.")
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not session.resumable:
            await link.send({"op": INVALID_SESSION, "d": False})
            return True  # discord.py closes the socket itself and re-identifies
        link.record.session, link.record.resumed = session, True
        self._go_live(link)
        last_seen = data.get("seq") or 0
        for event in [e for e in session.events if e["s"] > last_seen]:
            await link.send(event)
        await self._dispatch(session, "RESUMED", {"_trace": ['["groupbridge-discord-standin"]']})
        self._ready.set()
        return True

    def _go_live(self, link: Link) -> None:
        """The newest authenticated connection is the one dispatches go to."""
        if self._live is not None and self._live is not link:
            previous = self._live.record.session
            if previous is not None and previous is not link.record.session:
                previous.resumable = False  # a new IDENTIFY replaces the old session
        self._live = link

    async def _send_members(self, session: GatewaySession, data: Any) -> None:
        """GUILD_MEMBERS_CHUNK for op 8 (discord.py chunks guilds when the members intent is on)."""
        data = data if isinstance(data, dict) else {}
        guild = self.state.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return  # Discord silently ignores unknown guilds
        query = str(data.get("query") or "").lower()
        wanted = {int(u) for u in data.get("user_ids") or []}
        limit = int(data.get("limit") or 0) or len(guild.members)
        members = [
            m
            for m in guild.members.values()
            if (not wanted or m.id in wanted) and m.user.username.lower().startswith(query)
        ][:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.to_payload(with_permissions=False) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if wanted:
            chunk["not_found"] = [str(u) for u in wanted - {m.id for m in members}]
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)
