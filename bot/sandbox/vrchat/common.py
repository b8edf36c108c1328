"""Helpers shared by the route modules: the error envelope, app keys, input parsing.

VRChat error messages are deliberately reproduced with look-alike Unicode (U+2024 ONE DOT
LEADER instead of ".", U+01C3 instead of "!", U+02BC instead of "'", U+FF1D instead of "=") as
the spec's own examples show, so a client that matches on message text breaks here first.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .state import SimState

STATE_KEY = web.AppKey("vrchat_sim_state", SimState)

# Messages copied from the spec's examples (look-alike characters included) or modelled on them.
MSG_MISSING_CREDENTIALS = '"Missing Credentials"'
MSG_INVALID_LOGIN = '"Invalid Username/Email or Password"'
MSG_REQUIRES_2FA = '"Requires Two-Factor Authentication"'
MSG_GROUP_NOT_FOUND = "Can\u02bct find group\u01c3"
MSG_USER_NOT_FOUND = '"User Not Found"'
MSG_NOT_MEMBER = "You\u02bcre not a member\u2024"
MSG_NO_PERMISSION = "You don\u02bct have permission\u2024"
MSG_MUST_BE_OWN = "User ID must be your own\u2024"
MSG_ALREADY_BANNED = "User is already banned\u2024"
MSG_NOT_BANNED = "User is not banned\u2024"
MSG_CANT_INVITE = "You can\u02bct invite that user\u2024"
MSG_NOT_INVITED = "You can\u02bct uninvite a user who wasn\u02bct invited\u2024"
MSG_NO_JOIN_REQUEST = (
    "You can\u02bct accept a join request for a user who hasn\u02bct requested to join\u2024"
)
MSG_TARGET_NOT_MEMBER = "That user isn\u02bct a member of this group\u2024"
MSG_CANT_REMOVE_OWNER = "You can\u02bct remove the group owner\u2024"
MSG_POST_NOT_FOUND = "Can\u02bct find post\u01c3"
MSG_ROLE_NOT_FOUND = "Can\u02bct find role\u01c3"


class ApiError(Exception):
    """Raised by handlers; the pipeline turns it into VRChat's JSON error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def envelope(status: int, message: str) -> web.Response:
    """``{"error": {"message": ..., "status_code": ...}}`` with a matching HTTP status."""
    return web.json_response({"error": {"message": message, "status_code": status}}, status=status)


def success(message: str) -> web.Response:
    """``{"success": {"message": ..., "status_code": 200}}`` used by some delete endpoints."""
    return web.json_response({"success": {"message": message, "status_code": 200}})


def ok_empty() -> web.Response:
    """200 with no body, for operations whose spec response has no content."""
    return web.Response(status=200)


def state_of(request: web.Request) -> SimState:
    """The SimState behind this app."""
    return request.app[STATE_KEY]


def query_int(
    request: web.Request, name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    """Parse a paging parameter the way VRChat complains about it (400 with its wording)."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a positive integer\u02f8 {raw!r}") from None
    if value < minimum:
        raise ApiError(400, f"{name} must be a positive integer\u02f8 {raw!r}")
    if maximum is not None and value > maximum:
        raise ApiError(400, f"{name}\uff1d{value} is much too high\u2024 implement paging you savages\u2024")
    return value


def page_params(request: web.Request) -> tuple[int, int]:
    """``n`` (default 60, 1..100) and ``offset`` (>= 0), as declared by the spec."""
    n = query_int(request, "n", 60, minimum=1, maximum=100)
    offset = query_int(request, "offset", 0, minimum=0)
    return n, offset


def query_bool(request: web.Request, name: str) -> bool:
    """Boolean query flag (``true``/``false``); anything else is a 400."""
    raw = request.query.get(name)
    if raw is None:
        return False
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    raise ApiError(400, f"{name} must be a boolean\u02f8 {raw!r}")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON object body, ``{}`` when empty; malformed JSON is a 400 (VRChat does the same)."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Invalid JSON body\u2024") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON body must be an object\u2024")
    return body


def required_str(body: dict[str, Any], key: str) -> str:
    """A required non-empty string field of a request body."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{key} is required\u2024")
    return value
