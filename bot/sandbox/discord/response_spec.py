"""What the stand-in answers, checked against the response schemas of Discord's OpenAPI description.

The request side (``openapi.py``) keeps the bot honest; this side keeps the stand-in honest: a
member, role or ban object that lacks a field Discord always sends would let a bot pass here that
fails against Discord.  Checked: every JSON success response of an operation in ``CHECKED`` (the
routes of members, roles and bans); problems go to ``violations`` as ``response: ...``.  A
validator is built per operation and status the first time it is used.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from .openapi import SPEC_URI, DiscordSpec

CHECKED = frozenset(
    {
        "GET /guilds/{guild_id}/members",
        "GET /guilds/{guild_id}/members/{user_id}",
        "GET /guilds/{guild_id}/roles",
        "GET /guilds/{guild_id}/bans",
        "GET /guilds/{guild_id}/bans/{user_id}",
        "GET /guilds/{guild_id}/audit-logs",
    }
)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class ResponseChecker:
    def __init__(self, spec: DiscordSpec) -> None:
        self.spec = spec
        self._validators: dict[tuple[str, str, str], Draft202012Validator | None] = {}

    def _validator(self, template: str, method: str, status: str) -> Draft202012Validator | None:
        key = (template, method, status)
        if key not in self._validators:
            response = self.spec.raw["paths"][template][method].get("responses", {}).get(status, {})
            has_json = "application/json" in response.get("content", {})
            pointer = _pointer("paths", template, method, "responses", status, "content", "application/json")
            self._validators[key] = (
                Draft202012Validator({"$ref": f"{SPEC_URI}#/{pointer}/schema"}, registry=self.spec.registry)
                if has_json
                else None
            )
        return self._validators[key]

    def check(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems with one JSON answer to ``method path`` (``path`` without /api/v10)."""
        op, _, template = self.spec.find(method, path)
        if op is None or template is None or op.label not in CHECKED or not 200 <= status < 300:
            return []
        validator = self._validator(template, op.method, str(status))
        if validator is None:
            return [f"{op.label}: status {status} has no JSON body in the spec"]
        return [
            f"{op.label} -> {status}: {'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in validator.iter_errors(body)
        ][:5]
