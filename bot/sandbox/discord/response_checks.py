"""Checks on what the bot answers to interactions (choices, modals), and on what a test may claim a
user did (clicked an existing component, filled a modal the bot opened).  Message components are
checked with every message body (``limits.py``).

Bot mistakes become Discord's 400 50035 plus a violation; impossible user actions become
``ValueError`` at dispatch, because Discord could never have sent them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .state import ApiError, StandInState
from .validation import MAX_CUSTOM_ID, FormErrors

ACTION_ROW, TEXT_INPUT, TEXT_DISPLAY, LABEL = 1, 4, 10, 18
SELECTS = (3, 5, 6, 7, 8)
MAX_ROWS = 5
MAX_CHOICES, MAX_CHOICE = 25, 100


def form_error(name: str, code: str, message: str) -> ApiError:
    return ApiError(
        400, 50035, "Invalid Form Body", {name: {"_errors": [{"code": code, "message": message}]}}
    )


def _raise(state: StandInState, method: str, errors: FormErrors) -> None:
    if errors:
        state.violations.extend(f"{method}: {p}" for p in errors.problems)
        raise ApiError(400, 50035, "Invalid Form Body", errors.tree)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every component dict in a (possibly nested, v2) component tree."""
    if isinstance(node, list):
        for child in node:
            yield from _walk(child)
    elif isinstance(node, dict):
        yield node
        for key in ("components", "component", "accessory"):
            if key in node:
                yield from _walk(node[key])


def check_choices(state: StandInState, method: str, data: dict[str, Any]) -> None:
    """An autocomplete answer: at most 25 choices, names 1-100 characters, string values <= 100."""
    choices = data.get("choices")
    errors = FormErrors()
    if not isinstance(choices, list):
        errors.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
    else:
        if len(choices) > MAX_CHOICES:
            errors.add(
                ("data", "choices"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length."
            )
        for i, choice in enumerate(choices):
            name = choice.get("name") if isinstance(choice, dict) else None
            if not isinstance(name, str) or not name:
                errors.add(("data", "choices", i, "name"), "BASE_TYPE_REQUIRED", "This field is required")
            errors.too_long(("data", "choices", i, "name"), name, MAX_CHOICE)
            value = choice.get("value") if isinstance(choice, dict) else None
            if isinstance(value, str):
                errors.too_long(("data", "choices", i, "value"), value, MAX_CHOICE)
            elif not isinstance(value, int | float) or isinstance(value, bool):
                errors.add(
                    ("data", "choices", i, "value"), "BASE_TYPE_REQUIRED", "Must be a string or number."
                )
    _raise(state, method, errors)


def _text_input(
    errors: FormErrors, at: tuple[str | int, ...], item: dict[str, Any], *, labelled: bool
) -> None:
    errors.too_long((*at, "custom_id"), item.get("custom_id"), MAX_CUSTOM_ID)
    if not item.get("custom_id"):
        errors.add((*at, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
    if item.get("style") not in (1, 2):
        errors.add((*at, "style"), "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
    if not labelled and not item.get("label"):
        errors.add((*at, "label"), "BASE_TYPE_REQUIRED", "This field is required")
    errors.too_long((*at, "label"), item.get("label"), 45)
    errors.too_long((*at, "placeholder"), item.get("placeholder"), 100)
    errors.too_long((*at, "value"), item.get("value"), 4000)
    for key in ("min_length", "max_length"):
        if key in item and item[key] is not None and not 0 <= int(item[key]) <= 4000:
            errors.add((*at, key), "NUMBER_TYPE_MAX", "Must be between 0 and 4000.")


def check_modal(state: StandInState, method: str, data: dict[str, Any]) -> None:
    """A modal: custom_id <= 100, title <= 45, 1-5 rows each holding one text input (or labels)."""
    errors = FormErrors()
    for key, limit in (("custom_id", MAX_CUSTOM_ID), ("title", 45)):
        if not data.get(key):
            errors.add(("data", key), "BASE_TYPE_REQUIRED", "This field is required")
        errors.too_long(("data", key), data.get(key), limit)
    rows = data.get("components")
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        errors.add(("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        rows = rows if isinstance(rows, list) else []
    for i, row in enumerate(rows):
        at: tuple[str | int, ...] = ("data", "components", i)
        kind = row.get("type") if isinstance(row, dict) else None
        if kind == ACTION_ROW:
            inner = row.get("components") or []
            if len(inner) != 1 or not isinstance(inner[0], dict) or inner[0].get("type") != TEXT_INPUT:
                errors.add(at, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A modal row holds exactly one text input.")
            else:
                _text_input(errors, (*at, "components", 0), inner[0], labelled=False)
        elif kind == LABEL:
            errors.too_long((*at, "label"), row.get("label"), 45)
            inner_item = row.get("component")
            if isinstance(inner_item, dict) and inner_item.get("type") == TEXT_INPUT:
                _text_input(errors, (*at, "component"), inner_item, labelled=True)
            elif not isinstance(inner_item, dict) or inner_item.get("type") not in SELECTS:
                errors.add(
                    (*at, "component"), "UNION_TYPE_CHOICES", "A label holds a text input or a select."
                )
        elif kind != TEXT_DISPLAY:
            errors.add(at, "UNION_TYPE_CHOICES", f"Component type {kind!r} is not allowed in a modal.")
    _raise(state, method, errors)


def clicked_message(payload: dict[str, Any]) -> int:
    """The id of the message a component click happened on; the component must exist and be enabled."""
    message = payload.get("message")
    data = payload["data"]
    if not isinstance(message, dict):
        raise ValueError("a component interaction needs the message the component is on")
    found = next(
        (c for c in _walk(message.get("components")) if c.get("custom_id") == data["custom_id"]), None
    )
    if found is None:
        raise ValueError(f"message {message['id']} has no component with custom_id {data['custom_id']!r}")
    if found.get("disabled"):
        raise ValueError(f"component {data['custom_id']!r} is disabled; Discord would not send the click")
    data["component_type"] = found["type"]
    if found["type"] in SELECTS:
        data.setdefault("values", [])
    return int(message["id"])


def shape_modal_submit(modal: dict[str, Any], submitted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The submitted fields in the layout of the modal the bot opened, as Discord sends them back.

    Refuses unknown fields, and empty or out-of-range required text inputs (Discord's client blocks
    such a submit)."""
    given = {c["custom_id"]: c for c in _walk(submitted) if "custom_id" in c}
    inputs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for row in modal.get("components", []):
        item = row.get("component") if row.get("type") == LABEL else (row.get("components") or [None])[0]
        if isinstance(item, dict) and "custom_id" in item:  # text displays carry nothing back
            inputs.append((row, item))
    known = {item["custom_id"] for _, item in inputs}
    unknown = set(given) - known
    if unknown:
        raise ValueError(f"the modal has no field(s) {sorted(unknown)}; it has {sorted(known)}")
    out: list[dict[str, Any]] = []
    for row, item in inputs:
        custom_id = item["custom_id"]
        sent = given.get(custom_id, {})
        if item["type"] == TEXT_INPUT:
            value = str(sent.get("value", ""))
            low, high = item.get("min_length") or 0, item.get("max_length") or 4000
            required = item.get("required", True)
            if (required and not value) or (value and not low <= len(value) <= high):
                raise ValueError(
                    f"modal field {custom_id!r}: {value!r} is not a valid entry (required={required})"
                )
            result: dict[str, Any] = {"type": TEXT_INPUT, "custom_id": custom_id, "value": value}
        else:
            result = {"type": item["type"], "custom_id": custom_id, "values": list(sent.get("values", []))}
        if "id" in item:
            result["id"] = item["id"]
        if row.get("type") == LABEL:
            out.append({"type": LABEL, "id": row.get("id"), "component": result})
        else:
            out.append({"type": ACTION_ROW, "components": [result]})
    return out
