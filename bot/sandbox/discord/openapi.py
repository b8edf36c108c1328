"""Every request the stand-in receives, checked against Discord's official OpenAPI description.

The spec (vendored in ``spec/``, MIT) is the contract for what the bot may send: the route and
method must exist, path and query parameters must have the declared types, and a JSON body (or a
multipart ``payload_json``) must validate against the operation's ``requestBody`` schema.  Discord's
documented limits that are tighter than the spec are checked afterwards by ``limits.py``.

Cost: the spec is parsed once per process, and a JSON Schema validator is built per operation the
first time that operation is used (the suite touches a dozen of the spec's few hundred).  Formats
(``uri``, ``date-time``) are not asserted by the schema validator; ``limits.py`` checks the ones
Discord enforces.

Tolerated, because real Discord accepts them and discord.py sends them (see ``spec/SOURCE.md``):
boolean query parameters as ``1``/``0``, and attachment ids as integers.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from bot.sandbox.spec_paths import PathTemplates

from .unions import dispatch_tagged_unions
from .validation import FormErrors

DEFAULT_SPEC_PATH = Path(__file__).parent / "spec" / "openapi.json"
SPEC_URI = "urn:discord-openapi"
_METHODS = ("get", "put", "post", "delete", "patch")
_TRUE, _FALSE = ("true", "1", "True"), ("false", "0", "False")


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class Operation:
    """One spec operation: where its schemas live and what parameters it declares."""

    template: str
    method: str
    path_params: dict[str, dict[str, Any]]
    query_params: dict[str, dict[str, Any]]
    body_pointer: str | None  # JSON pointer to the application/json requestBody schema
    body_required: bool
    body_validator: Draft202012Validator | None = None
    params: dict[str, tuple[Draft202012Validator, set[str]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.template}"


class DiscordSpec:
    """Request checks for the operations of one spec document."""

    def __init__(self, raw: dict[str, Any], *, fast_unions: bool = True) -> None:
        """``raw`` is the parsed spec; with ``fast_unions`` (see ``dispatch_tagged_unions``) it is
        rewritten in place, so pass a copy if you keep it."""
        self._raw = raw
        if fast_unions:
            dispatch_tagged_unions(raw)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(raw))
        self._templates = PathTemplates(raw["paths"])
        self._operations: dict[tuple[str, str], Operation] = {}
        for template, item in raw["paths"].items():
            shared = item.get("parameters", [])
            for method in _METHODS:
                op = item.get(method)
                if op is None:
                    continue
                params = [*shared, *op.get("parameters", [])]
                body = op.get("requestBody")
                has_json = body is not None and "application/json" in body.get("content", {})
                self._operations[(template, method)] = Operation(
                    template=template,
                    method=method,
                    path_params={p["name"]: p.get("schema", {}) for p in params if p["in"] == "path"},
                    query_params={p["name"]: p.get("schema", {}) for p in params if p["in"] == "query"},
                    body_pointer=(
                        _pointer("paths", template, method, "requestBody", "content", "application/json")
                        + "/schema"
                        if has_json
                        else None
                    ),
                    body_required=bool(body and body.get("required")),
                )

    @property
    def raw(self) -> dict[str, Any]:
        """The spec document (with tagged unions rewritten, see ``__init__``)."""
        return self._raw

    @property
    def registry(self) -> Registry[Any]:
        """The referencing registry that resolves ``urn:discord-openapi#/...`` into the document."""
        return self._registry

    # ------------------------------------------------------------ lookup
    def find(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], str | None]:
        """The operation for ``method path`` (``path`` without /api/v10), its path parameters, and the
        template matched (None when no path matches)."""
        matched = self._templates.match(path)
        if matched is None:
            return None, {}, None
        template, values = matched
        return self._operations.get((template, method.lower())), values, template

    def _body(self, op: Operation, pointer: str) -> Draft202012Validator:
        if op.body_validator is None:
            op.body_validator = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#/{pointer}"}, registry=self._registry
            )
        return op.body_validator

    def _param(self, op: Operation, where: str, name: str) -> tuple[Draft202012Validator, set[str]]:
        """A validator for one parameter's schema, and the JSON types it declares (to coerce to)."""
        key = f"{where}:{name}"
        found = op.params.get(key)
        if found is None:
            schema = (op.path_params if where == "path" else op.query_params)[name]
            target = schema
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                target = self._registry.resolver().lookup(f"{SPEC_URI}{ref}").contents
            kind = target.get("type")
            kinds: set[str] = (
                set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
            )
            found = op.params[key] = (Draft202012Validator(_rebase(schema), registry=self._registry), kinds)
        return found

    # ------------------------------------------------------------ checks
    def check(
        self, method: str, path: str, query: list[tuple[str, str]], body: Any, *, has_body: bool
    ) -> tuple[str | None, FormErrors]:
        """Problems with one request, in Discord's error-tree shape; the operation label (or None
        when the spec has no such route/method) comes first."""
        errors = FormErrors()
        op, path_values, template = self.find(method, path)
        if op is None:
            what = "no such path" if template is None else f"method not allowed on {template}"
            errors.add(("_route",), "UNKNOWN_ROUTE", f"{method} {path}: {what} in Discord's API spec")
            return None, errors
        for name, value in path_values.items():
            if name in op.path_params:
                self._check_param(errors, op, "path", name, value)
        seen: set[str] = set()
        for name, value in query:
            if name not in op.query_params:
                declared = ", ".join(sorted(op.query_params)) or "none"
                errors.add(
                    (name,), "UNKNOWN_QUERY_PARAMETER", f"Unknown query parameter (declared: {declared})."
                )
            elif name in seen:
                errors.add((name,), "DUPLICATE_QUERY_PARAMETER", "Given more than once.")
            else:
                self._check_param(errors, op, "query", name, value)
            seen.add(name)
        if op.body_pointer is None:
            if has_body:
                errors.add(("_body",), "UNEXPECTED_BODY", f"{op.label} takes no request body.")
        elif not has_body:
            if op.body_required:
                errors.add(("_body",), "BASE_TYPE_REQUIRED", "This operation needs a request body.")
        else:
            for error in self._body(op, op.body_pointer).iter_errors(_tolerated(body)):
                for at, code, message in _problems(error):
                    errors.add(at, code, message)
        return op.label, errors

    def _check_param(self, errors: FormErrors, op: Operation, where: str, name: str, raw: str) -> None:
        validator, kinds = self._param(op, where, name)
        for error in validator.iter_errors(_coerce(raw, kinds)):
            errors.add((name,), _code(error), f"Value {raw!r}: {_message(error)}")


def _rebase(schema: Any) -> Any:
    """A parameter schema with its ``#/...`` refs pointed into the spec document."""
    if isinstance(schema, dict):
        return {
            k: (f"{SPEC_URI}{v}" if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


def _coerce(raw: str, kinds: set[str]) -> Any:
    """A query/path string as the type the schema declares (the wire only carries strings)."""
    if "boolean" in kinds:
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
    if "integer" in kinds and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if "number" in kinds:
        try:
            return float(raw)
        except ValueError:
            pass
    return raw


def _int_id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _tolerated(body: Any) -> Any:
    """discord.py sends attachment ids, and the user and role ids of ``allowed_mentions``, as integers
    (``{"id": 0, ...}``, ``{"roles": [123]}``); Discord accepts that."""
    mentions = body.get("allowed_mentions") if isinstance(body, dict) else None
    if isinstance(mentions, dict):
        ids = {
            k: [_int_id(v) for v in mentions[k]]
            for k in ("users", "roles")
            if isinstance(mentions.get(k), list)
        }
        body = {**body, "allowed_mentions": {**mentions, **ids}}
    if isinstance(body, dict) and isinstance(body.get("attachments"), list):
        attachments = [
            {**a, "id": str(a["id"])}
            if isinstance(a, dict) and isinstance(a.get("id"), int) and not isinstance(a.get("id"), bool)
            else a
            for a in body["attachments"]
        ]
        body = {**body, "attachments": attachments}
    if isinstance(body, dict) and isinstance(body.get("data"), dict):  # an interaction callback
        body = {**body, "data": _tolerated(body["data"])}
    return body


Problem = tuple[tuple[str | int, ...], str, str]  # (path, code, message)


def _discriminator_failed(errors: list[ValidationError]) -> bool:
    """Whether a union branch was ruled out by its tag (``enum``/``const`` on "type") or its JSON type."""
    return any(list(e.relative_path) == ["type"] and e.validator in ("enum", "const") for e in errors) or any(
        e.validator == "type" and not e.relative_path for e in errors
    )


def _problems(error: ValidationError) -> Iterator[Problem]:
    """What is wrong, at the field it is wrong in: a failed ``oneOf``/``anyOf`` over tagged unions
    (components, command options, callbacks) descends into the one branch whose ``type`` matched,
    and names the ``type`` itself when no branch allows it here."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        yield tuple(error.absolute_path), _code(error), _message(error)
        return
    branches: dict[int, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[int(sub.relative_schema_path[0])].append(sub)
    candidates = [errs for errs in branches.values() if not _discriminator_failed(errs)]
    if len(candidates) == 1:
        for sub in candidates[0]:
            yield from _problems(sub)
        return
    if candidates:
        # Untagged unions (autocomplete data, nonce): the branch that came closest.
        explained = [[p for sub in errs for p in _problems(sub)] for errs in candidates]
        yield from min(explained, key=lambda found: (len(found), -max(len(p[0]) for p in found)))
        return
    instance = error.instance
    if isinstance(instance, dict) and "type" in instance:
        kind = instance["type"]
        yield (*error.absolute_path, "type"), "BASE_TYPE_CHOICES", f"Type {kind!r} is not allowed here."
        return
    best = best_match([error]) or error
    yield tuple(best.absolute_path), _code(best), _message(best)


_CODES = {
    "maxLength": "BASE_TYPE_MAX_LENGTH",
    "minLength": "BASE_TYPE_MIN_LENGTH",
    "maxItems": "BASE_TYPE_MAX_LENGTH",
    "minItems": "BASE_TYPE_MIN_LENGTH",
    "maximum": "NUMBER_TYPE_MAX",
    "minimum": "NUMBER_TYPE_MIN",
    "required": "BASE_TYPE_REQUIRED",
    "type": "BASE_TYPE_INVALID",
    "enum": "BASE_TYPE_CHOICES",
    "const": "BASE_TYPE_CHOICES",
    "pattern": "BASE_TYPE_INVALID",
}


def _code(error: ValidationError) -> str:
    return _CODES.get(str(error.validator), "BASE_TYPE_INVALID")


_MESSAGES = {  # Discord's wording; {limit} is the schema's bound
    "maxLength": "Must be {limit} or fewer in length.",
    "maxItems": "Must be {limit} or fewer in length.",
    "minLength": "Must be {limit} or more in length.",
    "minItems": "Must be {limit} or more in length.",
    "maximum": "int value should be less than or equal to {limit}.",
    "minimum": "int value should be greater than or equal to {limit}.",
    "required": "This field is required",
}


def _message(error: ValidationError) -> str:
    template = _MESSAGES.get(str(error.validator))
    if template is not None:
        return template.format(limit=error.validator_value)
    text = error.message
    return text if len(text) <= 300 else text[:297] + "..."


@functools.cache
def _load(path: str) -> DiscordSpec:
    with open(path, encoding="utf-8") as handle:
        return DiscordSpec(json.load(handle))


def load_spec(path: str | Path | None = None) -> DiscordSpec:
    """The checks for a spec file (default: the vendored copy), parsed once per process."""
    return _load(str(Path(path or DEFAULT_SPEC_PATH).resolve()))
