"""Check requests and responses against the community VRChat OpenAPI spec (openapi-core).

The point of the simulator is to catch a client that drifts from the real API, so on top of
openapi-core's checks (parameter types/limits, body schema, response schema) it also flags what
OpenAPI itself tolerates but VRChat would not act on: query parameters the operation does not
declare, request-body properties the schema does not list, and bodies sent to operations that
take none.  Auth is deliberately *not* validated here: missing cookies are the auth layer's 401.

The spec is parsed once per process (``load_validator`` is cached) because that takes a while.
Local URLs are mapped onto the spec's server, ``https://api.vrchat.cloud/api/1``.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema_path import SchemaPath
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import V30RequestBodyValidator, V30RequestParametersValidator
from openapi_core.validation.response.validators import V30ResponseValidator
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from bot.sandbox.spec_paths import PathTemplates

# A vendored copy of the community spec (MIT): the tests must not depend on files outside the repo.
DEFAULT_SPEC_PATH = Path(__file__).parent / "spec" / "openapi.yaml"
SPEC_PATH_ENV = "GROUPBRIDGE_VRCHAT_SPEC"
SPEC_HOST = "https://api.vrchat.cloud"
SPEC_BASE_PATH = "/api/1"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def spec_path(explicit: str | Path | None = None) -> Path:
    """Where the spec lives: argument, then $GROUPBRIDGE_VRCHAT_SPEC, then the vendored copy."""
    return Path(explicit or os.environ.get(SPEC_PATH_ENV) or DEFAULT_SPEC_PATH)


@dataclass(frozen=True)
class Operation:
    """What the extra checks need to know about one spec operation."""

    template: str
    method: str
    query_params: frozenset[str]
    takes_body: bool
    statuses: frozenset[str]

    @property
    def label(self) -> str:
        """``GET /groups/{groupId}`` for messages."""
        return f"{self.method.upper()} {self.template}"


class SpecRequest:
    """A request as read (``path`` without /api/1; no content type: JSON), and the openapi-core
    Request protocol over it, rebased onto the spec host."""

    def __init__(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
        ctype: str,
    ) -> None:
        self.api_method, self.api_path, self.query = method, path, query
        self.host_url = SPEC_HOST
        self.path = SPEC_BASE_PATH + path
        self.method = method.lower()
        self.body = body
        self.content_type = (ctype or "application/json").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(list(headers.items()))
        )


class _SpecResponse:
    """openapi-core Response protocol over a finished aiohttp response."""

    def __init__(self, status: int, data: bytes, ctype: str, headers: list[tuple[str, str]]) -> None:
        self.status_code = status
        self.data = data
        self.content_type = ctype.lower()
        self.headers = Headers(headers)


def _schema_error_text(err: Any) -> str:
    where = "/".join(str(p) for p in getattr(err, "absolute_path", ()))
    return f"{where or '<root>'}: {getattr(err, 'message', err)}"


def describe(exc: BaseException) -> str:
    """One readable line for an openapi-core error, including the jsonschema details."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if schema_errors:
        return f"{text}: " + "; ".join(_schema_error_text(e) for e in list(schema_errors)[:5])
    if cause is not None:
        return f"{text}: {cause}"
    return text


def _error_envelope_problem(status: int, data: bytes) -> str | None:
    """Every VRChat error is ``{"error": {"message": str, "status_code": <status>}}``."""
    try:
        body = json.loads(data)
    except ValueError:
        return "error body is not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "error body lacks the 'error' object"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "error.message must be a non-empty string"
    if error.get("status_code") != status:
        return f"error.status_code {error.get('status_code')!r} does not match HTTP status {status}"
    return None


class SpecValidator:
    """Request/response validation for the operations of one spec file."""

    def __init__(self, raw: dict[str, Any]) -> None:
        spec = SchemaPath.from_dict(raw)
        self._components = raw.get("components", {})
        self._params = V30RequestParametersValidator(spec)
        self._body = V30RequestBodyValidator(spec, forbid_unspecified_additional_properties=True)
        self._response = V30ResponseValidator(spec)
        self._templates = PathTemplates(raw["paths"])
        self._operations: dict[tuple[str, str], Operation] = {}
        components = raw.get("components", {}).get("parameters", {})

        def resolve(param: dict[str, Any]) -> dict[str, Any]:
            ref = param.get("$ref")
            return components[ref.rsplit("/", 1)[-1]] if ref else param

        for template, item in raw["paths"].items():
            shared = [resolve(p) for p in item.get("parameters", [])]
            for method in _METHODS:
                op = item.get(method)
                if op is None:
                    continue
                params = shared + [resolve(p) for p in op.get("parameters", [])]
                self._operations[(template, method)] = Operation(
                    template=template,
                    method=method,
                    query_params=frozenset(p["name"] for p in params if p.get("in") == "query"),
                    takes_body="requestBody" in op,
                    statuses=frozenset(str(code) for code in op.get("responses", {})),
                )

    def find(self, method: str, path: str) -> tuple[str | None, Operation | None]:
        """The spec template matching ``path`` (without /api/1) and its operation for ``method``."""
        matched = self._templates.match(path)
        if matched is None:
            return None, None
        template, _values = matched
        return template, self._operations.get((template, method.lower()))

    def check_request(self, request: SpecRequest) -> list[str]:
        """Problems with a request; empty when it conforms."""
        method, path = request.api_method, request.api_path
        template, op = self.find(method, path)
        if template is None:
            return [f"{method} {path}: no such path in the VRChat API spec"]
        if op is None:
            return [f"{method} {path}: method not allowed on {template} by the spec"]
        problems = [
            f"{op.label}: unknown query parameter {name!r} (declared: {sorted(op.query_params) or 'none'})"
            for name in dict.fromkeys(k for k, _ in request.query)
            if name not in op.query_params
        ]
        if request.body and not op.takes_body:
            problems.append(f"{op.label}: the operation takes no request body but one was sent")
        problems += [f"{op.label}: {describe(e)}" for e in self._params.iter_errors(request)]
        if op.takes_body:
            problems += [f"{op.label}: {describe(e)}" for e in self._body.iter_errors(request)]
        return problems

    def check_schema(self, name: str, instance: Any) -> list[str]:
        """Problems with a value that must match ``components/schemas/<name>`` (what the simulator
        sends outside HTTP responses: the pipeline's messages); empty when it conforms."""
        validator = OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": self._components})
        return [f"{name}: {_schema_error_text(e)}" for e in validator.iter_errors(instance)]

    def check_response(
        self,
        method: str,
        path: str,
        status: int,
        data: bytes,
        content_type: str,
        headers: list[tuple[str, str]],
    ) -> list[str]:
        """Problems with a response the simulator produced; empty when it conforms.

        Error statuses the operation does not declare (VRChat answers 401/403/404 on many
        operations whose spec entry omits them) are accepted when the body is the standard
        error envelope; an undeclared success status is always a problem.
        """
        _, op = self.find(method, path)
        if op is None:
            return []  # the request itself was already reported
        problems: list[str] = []
        if status >= 400:
            envelope_problem = _error_envelope_problem(status, data)
            if envelope_problem:
                problems.append(f"{op.label} -> {status}: {envelope_problem}")
        declared = str(status) in op.statuses or "default" in op.statuses
        if not declared:
            if status < 400:
                problems.append(
                    f"{op.label}: status {status} is not declared (declared: {sorted(op.statuses)})"
                )
            return problems
        response = _SpecResponse(status, data, content_type, headers)
        request = SpecRequest(method, path, [], {}, b"", "")
        problems += [
            f"{op.label} -> {status}: {describe(e)}" for e in self._response.iter_errors(request, response)
        ]
        return problems


@functools.cache
def _load(path: str) -> SpecValidator:
    with open(path, encoding="utf-8") as handle:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader, chosen for speed
    return SpecValidator(raw)


def load_validator(path: str | Path | None = None) -> SpecValidator:
    """The validator for a spec file, parsed once per process and cached."""
    return _load(str(spec_path(path).resolve()))
