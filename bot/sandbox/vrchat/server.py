"""The simulator server: aiohttp app, the request pipeline and the public VRChatSimulator API.

Pipeline for every request under /api/1: record it -> validate it against the spec (violations
are recorded and answered 400) -> apply faults -> route to the handler -> validate the response
(violations recorded, response still sent).  Requests outside /api/1, or to endpoints the spec
has but the simulator does not implement, are recorded as violations too, so a test cannot pass
while its client silently calls something unexpected. The one exception is ``/``: VRChat's
pipeline websocket (bot.sandbox.vrchat.pipeline), which records its own connections.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

import bot.sandbox.vrchat.auth as auth
import bot.sandbox.vrchat.callers as callers
import bot.sandbox.vrchat.group_content as group_content
import bot.sandbox.vrchat.groups as groups
import bot.sandbox.vrchat.instances as instances
import bot.sandbox.vrchat.member_roles as member_roles
import bot.sandbox.vrchat.users as users
from bot.sandbox import serving
from bot.sandbox.serving import AppServer

from .common import STATE_KEY, ApiError, envelope
from .faults import FAULT_MARK, FaultSet
from .pipeline import PIPELINE_PATH, SimPipeline
from .render import UNCHECKED_SERVED
from .state import SimState
from .validation import SpecRequest, SpecValidator, load_validator

API_PREFIX = "/api/1"


@dataclass
class RecordedRequest(serving.RecordedRequest):
    """What the simulator received (``path`` is without /api/1)."""

    body: bytes = b""
    remote: str | None = None  # the caller's address, as VRChat sees it
    account: str | None = None  # the user the request acts as (its session's, or its login's)
    ended: float | None = None  # when its answer was ready (callers.overlaps)


def _decode_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class VRChatSimulator(AppServer):
    """A local, stateful fake of the VRChat group API that validates traffic against the spec."""

    def __init__(
        self, validate: bool = True, *, state: SimState | None = None, spec_path: str | Path | None = None
    ):
        self.validate = validate
        self.state = state or SimState()
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        # Responses that carried a test's unchecked_json and so were not validated (render.unchecked).
        self.unchecked_responses = 0
        self.faults = FaultSet()
        self._spec_path = spec_path
        self._validator: SpecValidator | None = None
        self._sessions = auth.SessionStore()
        # VRChat's websocket (bot.sandbox.vrchat.pipeline): outside /api/1, not in `requests`.
        self.pipeline = SimPipeline(self.state, self._sessions, lambda: self._validator, self.violations)

    # ------------------------------------------------------------ public API
    @property
    def base_url(self) -> str:
        """``http://<host>:<port>/api/1`` once started."""
        return self.origin + API_PREFIX

    @property
    def pipeline_url(self) -> str:
        """``ws://<host>:<port>/`` once started: the pipeline, like ``wss://pipeline.vrchat.cloud/``."""
        return self.websocket_url(PIPELINE_PATH)

    @property
    def password_logins(self) -> int:
        """How many Basic-auth logins created a new session."""
        return self._sessions.password_logins

    def expire_sessions(self, *, forget_devices: bool = False) -> None:
        """Invalidate every ``auth`` cookie; ``forget_devices`` also drops twoFactorAuth cookies."""
        self._sessions.expire(forget_devices=forget_devices)

    def account_overlaps(
        self, caller: Callable[[RecordedRequest], str | None] = callers.by_address
    ) -> list[callers.Overlap]:
        """Each moment one account was used by two callers at once (by address, or another key)."""
        return callers.overlaps(self.requests, caller)

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Recorded requests with that method whose path matches the regex (search)."""
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and pattern.search(r.path)]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Load the spec (cached per process) and start serving."""
        self._refuse_second_start()
        if self.validate and self._validator is None:
            self._validator = await asyncio.to_thread(load_validator, self._spec_path)
        self.faults.arm_delays()
        await self._serve(self._build_app(), host, port)

    async def _before_stop(self) -> None:
        self.faults.release_delays()
        await self.pipeline.shutdown()

    # ------------------------------------------------------------ internals
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._pipeline], client_max_size=1024**2)
        app[STATE_KEY] = self.state
        app[auth.SESSIONS_KEY] = self._sessions
        for module in (auth, groups, group_content, instances, member_roles, users):
            module.add_routes(app, API_PREFIX)
        app.router.add_get(PIPELINE_PATH, self.pipeline.handle)
        return app

    @web.middleware
    async def _pipeline(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path == PIPELINE_PATH:  # the websocket keeps its own record (SimPipeline.attempts)
            return await handler(request)
        body = await request.read()
        rel = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else None
        record = RecordedRequest(
            method=request.method,
            path=rel if rel is not None else path,
            query=dict(request.query.items()),
            headers=dict(request.headers.items()),
            json=_decode_json(body),
            at=time.monotonic(),
            body=body,
            remote=request.remote,
            account=auth.account_of(request),
        )
        self.requests.append(record)
        if rel is None:
            self.violations.append(f"{request.method} {path}: outside {API_PREFIX}")
            response: web.StreamResponse = envelope(404, '"Not Found"')
        else:
            response = await self._handle(request, handler, rel, body)
        record.status, record.ended = response.status, time.monotonic()
        return response

    async def _handle(
        self, request: web.Request, handler: Handler, rel: str, body: bytes
    ) -> web.StreamResponse:
        validator = self._validator if self.validate else None
        template = None
        if validator is not None:
            template, _ = validator.find(request.method, rel)
            problems = validator.check_request(
                SpecRequest(
                    request.method,
                    rel,
                    list(request.query.items()),
                    dict(request.headers.items()),
                    body,
                    request.headers.get("Content-Type", ""),
                )
            )
            if problems:
                self.violations.extend(f"request: {p}" for p in problems)
                return envelope(400, "Request does not match the VRChat API spec: " + problems[0])
        fault_response = await self.faults.apply(request.method, rel)
        if fault_response is not None:
            return fault_response
        match_error = request.match_info.http_exception
        resource = request.match_info.route.resource
        route_template = None if match_error or resource is None else resource.canonical
        if match_error is not None or (template is not None and route_template != API_PREFIX + template):
            # The spec has it (or validation is off) but the simulator does not implement it.
            self.violations.append(f"{request.method} {rel}: not implemented by the simulator")
            return envelope(501, f'"{request.method} {rel} is not implemented by the simulator"')
        served: list[bool] = []
        token = UNCHECKED_SERVED.set(served)
        try:
            response = await handler(request)
        except ApiError as exc:
            response = envelope(exc.status, exc.message)
        finally:
            UNCHECKED_SERVED.reset(token)
        if served:  # a test's hostile JSON (render.unchecked) may break the spec on purpose
            self.unchecked_responses += 1
            return response
        if validator is not None and not response.get(FAULT_MARK) and isinstance(response, web.Response):
            data = response.body if isinstance(response.body, bytes) else b""
            problems = validator.check_response(
                request.method,
                rel,
                response.status,
                data,
                response.content_type if data else "",
                list(response.headers.items()),
            )
            self.violations.extend(f"response: {p}" for p in problems)
        return response
