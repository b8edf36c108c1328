"""The gateway's records (sessions, connections) and one live websocket as the stand-in writes to
it: frames (optionally zlib-stream compressed, like Discord) and the pause/flush machinery
``GatewayServer`` uses to deliver several frames in one TCP write, or one frame cut across writes."""

from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

WS_TEXT, WS_BINARY = 0x1, 0x2


@dataclass
class GatewaySession:
    """One IDENTIFY's session; outlives its connection so RESUME can pick it up."""

    id: str
    intents: int
    identify: dict[str, Any]
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for RESUME replay
    resumable: bool = True


@dataclass
class GatewayConnection:
    """One websocket connection as the stand-in saw it (kept after it closes, for assertions)."""

    query: dict[str, str]
    compressed: bool = False  # frames sent as zlib-stream binary (the client asked for it)
    received: list[dict[str, Any]] = field(default_factory=list)
    frames_sent: int = 0  # frames the stand-in sent (or queued while paused) on this connection
    writes: int = 0  # TCP writes of paused frames (flush)
    session: GatewaySession | None = None
    resumed: bool = False
    close_code: int | None = None


def ws_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked websocket frame (RFC 6455 5.2) as a server writes it."""
    size = len(payload)
    if size < 126:
        length = bytes([size])
    elif size < 1 << 16:
        length = bytes([126]) + size.to_bytes(2, "big")
    else:
        length = bytes([127]) + size.to_bytes(8, "big")
    return bytes([0x80 | opcode]) + length + payload


class Link:
    """A live connection: the socket, its compressor and a write lock (the compressor is stateful,
    and dispatches from tests interleave with replies to the client).  While ``held`` is a list,
    frames are queued there as bytes instead of written (``GatewayServer.pause``)."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        record: GatewayConnection,
        compress: bool,
        transport: asyncio.BaseTransport | None,
    ) -> None:
        self.ws = ws
        self.record = record
        self.compressor = zlib.compressobj() if compress else None
        self.lock = asyncio.Lock()
        self.transport = transport
        self.held: list[bytes] | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                return
            if self.compressor is None:
                opcode, data = WS_TEXT, text.encode()
            else:
                opcode = WS_BINARY
                data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
            record = self.record
            record.frames_sent += 1
            if self.held is not None:
                self.held.append(ws_frame(opcode, data))
            elif opcode == WS_TEXT:
                await self.ws.send_str(text)
            else:
                await self.ws.send_bytes(data)

    async def write_held(self, pieces: int, gap: float, *, final: bool = False) -> int:
        """Write the queued frames as one TCP write, or cut into ``pieces`` writes ``gap`` s apart;
        returns the bytes written.  Frames keep queueing afterwards unless ``final``."""
        async with self.lock:
            data = b"".join(self.held or [])
            self.held = None if final else []
            if not data or self.ws.closed or not isinstance(self.transport, asyncio.WriteTransport):
                return 0
            size = -(-len(data) // max(1, pieces))
            for start in range(0, len(data), size):
                if start:
                    await asyncio.sleep(gap)  # let the client read what came so far on its own
                self.transport.write(data[start : start + size])
                self.record.writes += 1
            return len(data)
