"""The base of every configuration table: unknown keys forbidden, frozen, plain values stripped."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

ENV_PREFIX = "GROUPBRIDGE_"


def env_var_name(section: str, key: str) -> str:
    """The environment variable that overrides ``[section] key``, e.g. GROUPBRIDGE_VRCHAT__PASSWORD."""
    return f"{ENV_PREFIX}{section.upper()}__{key.upper()}"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Name of the TOML table, used for environment variable names in messages.
    SECTION: ClassVar[str] = ""
    #: Fields holding secrets: never stripped, never shown.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _strip_strings(cls, data: Any) -> Any:
        # Surrounding whitespace in a plain value is a copy/paste accident; in a password it may be real.
        if isinstance(data, dict):
            return {
                k: v.strip() if isinstance(v, str) and k not in cls.SECRET_FIELDS else v
                for k, v in data.items()
            }
        return data

    @classmethod
    def _require_text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                f"is empty: fill it in, or set the environment variable "
                f"{env_var_name(cls.SECTION, info.field_name or '')}"
            )
        return value
