"""The base of every model of VRChat's JSON (see bot.vrchat.models): liberal field reading, and parsing
one object or a list of them into models."""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic.alias_generators import to_camel

from .errors import MalformedResponse

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class VRChatModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=False)

    @field_validator("*", mode="wrap")
    @classmethod
    def _liberal(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            field = cls.model_fields.get(info.field_name or "")
            required = field is None or field.is_required()
            # A number where text was expected reads as its digits; a list or object where optional
            # text was expected as its JSON (identifying fields take no JSON: that is no id).
            if isinstance(value, int | float) and not isinstance(value, bool):
                as_text: str | None = str(value)
            elif isinstance(value, list | dict) and not required:
                as_text = json.dumps(value, ensure_ascii=False, default=str)
            else:
                as_text = None
            if as_text is not None:
                try:
                    return handler(as_text)
                except ValidationError:
                    pass
            if field is None or required:
                raise
            return field.get_default(call_default_factory=True)


def brief_error(exc: ValidationError) -> str:
    """The first problem of a validation error in one line, without the input (it can be huge)."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "unreadable"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "value"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def parse_one(model: type[M], data: Any, what: str = "") -> M:
    """`data` as `model`; MalformedResponse (a VRChatError) when even a liberal reading fails."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedResponse(f"unreadable {what or model.__name__}: {brief_error(exc)}") from None


def parse_items(model: type[M], data: Any, what: str = "") -> list[M]:
    """Each item of a JSON list as `model`; items that cannot be read are logged and skipped, so one
    broken item never costs the others. Anything but a list reads as no items."""
    out: list[M] = []
    for index, item in enumerate(data if isinstance(data, list) else []):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            log.info(
                "Skipped unreadable %s #%d from VRChat: %s", what or model.__name__, index, brief_error(exc)
            )
    return out
