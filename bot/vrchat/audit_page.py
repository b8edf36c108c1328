"""One page of a group's audit log as models: the entries that can be read, and those set aside as
unreadable in their place (see bot.vrchat.models for how liberally fields are read)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from .model_base import VRChatModel, brief_error

EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)
MAX_ENTRY_ID = 200  # longer "ids" are not VRChat's: such an entry is unreadable, keyed by a digest


class AuditLogEntry(VRChatModel):
    id: str = Field(min_length=1, max_length=MAX_ENTRY_ID)
    group_id: str | None = None
    created_at: datetime = Field(alias="created_at")
    event_type: str = ""
    actor_id: str | None = None
    actor_display_name: str | None = None
    target_id: str | None = None
    description: str = ""
    # VRChat documents no shape for it; anything but an object is kept as {"value": ...}.
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        # Beyond these a poller's arithmetic (overlap windows) would overflow; VRChat has no such entries.
        if not EARLIEST.year <= value.year <= LATEST.year:
            raise ValueError(f"implausible time {value.isoformat()}")
        return value

    @field_validator("data", mode="before")
    @classmethod
    def _data_object(cls, value: Any) -> Any:
        if value is None:
            return {}
        return value if isinstance(value, dict) else {"value": value}


class UnreadableEntry(BaseModel):
    """An audit-log entry not even a liberal reading could make sense of (no id, no usable time...).

    `raw` is what VRChat sent (already made safe); `position` its index in the page's results, so it
    can be set aside in its place; `key` identifies it: its own id when it has a usable one, else a
    digest of its content, the same on every poll.
    """

    raw: Any
    reason: str
    position: int
    key: str
    id: str | None = None
    created_at: datetime | None = None
    event_type: str | None = None

    @classmethod
    def of(cls, raw: Any, reason: str, position: int) -> UnreadableEntry:
        fields = raw if isinstance(raw, dict) else {}
        own_id = fields.get("id")
        usable = own_id if isinstance(own_id, str) and 0 < len(own_id) <= MAX_ENTRY_ID else None
        digest = hashlib.sha256(
            json.dumps(raw, sort_keys=True, ensure_ascii=True, default=str).encode()
        ).hexdigest()[:32]
        event_type = fields.get("eventType")
        return cls(
            raw=raw,
            reason=reason,
            position=position,
            key=usable or f"unreadable:{digest}",
            id=usable,
            created_at=_moment(fields.get("created_at")),
            event_type=event_type if isinstance(event_type, str) and event_type else None,
        )


class _Moment(BaseModel):
    at: datetime


def _moment(value: Any) -> datetime | None:
    """A plausible time from a value, or None."""
    if value is None:
        return None
    try:
        moment = _Moment(at=value).at
    except ValidationError:
        return None
    return moment if EARLIEST.year <= moment.year <= LATEST.year else None


class AuditLogPage(VRChatModel):
    """One page of the log. `results` holds the entries that could be read; `unreadable` the others,
    each with its position in the page (`in_order` puts both back in VRChat's order)."""

    results: list[AuditLogEntry] = Field(default_factory=list)
    unreadable: list[UnreadableEntry] = Field(default_factory=list)
    total_count: int | None = None
    has_next: bool = False

    @model_validator(mode="before")
    @classmethod
    def _split_results(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "unreadable" in data:
            return data
        items = data.get("results")
        if not isinstance(items, list):
            return data
        readable: list[AuditLogEntry] = []
        unreadable: list[UnreadableEntry] = []
        for position, item in enumerate(items):
            try:
                readable.append(AuditLogEntry.model_validate(item))
            except ValidationError as exc:
                unreadable.append(UnreadableEntry.of(item, brief_error(exc), position))
        return {**data, "results": readable, "unreadable": unreadable}

    @property
    def size(self) -> int:
        """How many entries VRChat sent in this page, readable or not (what paging counts)."""
        return len(self.results) + len(self.unreadable)

    def in_order(self) -> list[AuditLogEntry | UnreadableEntry]:
        """Every entry of the page in VRChat's order (newest first)."""
        out: list[AuditLogEntry | UnreadableEntry] = list(self.results)
        for item in self.unreadable:  # positions ascend, so each insert lands where it came from
            out.insert(item.position, item)
        return out
