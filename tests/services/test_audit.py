"""Audit search and CSV export over the mirrored log: moderators only, filters checked first."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.services.audit import EXPORT_CAP
from bot.services.registry import InvalidInput, PermissionDenied, Services
from bot.store import AuditEntryIn, Store
from tests.fixtures.vrchat_sim import SeededSim
from tests.services.conftest import EVE, MAYA, actions

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ALICE = "usr_00000000-0000-4000-8000-00000000a11c"
BOB = "usr_00000000-0000-4000-8000-000000000b0b"


@pytest.fixture
async def logged(bound: Store, seeded_sim: SeededSim) -> Store:
    """Ten entries, one a minute after T0: even ones bans by Alice on Bob, odd ones group updates."""
    entries = [
        AuditEntryIn(
            f"gaud_{n:04d}",
            T0 + timedelta(minutes=n),
            "group.user.ban" if n % 2 == 0 else "group.update",
            ALICE if n % 2 == 0 else "usr_someone",
            "Alice" if n % 2 == 0 else '=HYPERLINK("x")',
            BOB if n % 2 == 0 else seeded_sim.group.id,
            f"entry {n}\nsecond line, “quoted”",
        )
        for n in range(10)
    ]
    await bound.ingest(seeded_sim.group.id, entries, enqueue=False)
    return bound


async def test_search_filters_and_pages(services: Services, logged: Store, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    first = await services.audit.search(MAYA, gid, page_size=4)
    assert [e.id for e in first.entries] == ["gaud_0009", "gaud_0008", "gaud_0007", "gaud_0006"]
    second = await services.audit.search(MAYA, gid, page_size=4, cursor=first.next_cursor)
    assert [e.id for e in second.entries] == ["gaud_0005", "gaud_0004", "gaud_0003", "gaud_0002"]

    bans = await services.audit.search(MAYA, gid, actor_id=f"https://vrchat.com/home/user/{ALICE}")
    assert [e.id for e in bans.entries] == [f"gaud_{n:04d}" for n in (8, 6, 4, 2, 0)]
    assert (await services.audit.search(MAYA, gid, target_id=BOB)).entries == bans.entries
    assert (await services.audit.search(MAYA, gid, event_type="moderation")).entries == bans.entries
    assert (await services.audit.search(MAYA, gid, event_type="group.user.*")).entries == bans.entries
    window = await services.audit.search(
        MAYA, gid, event_type="group.update", since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=7)
    )
    assert [e.id for e in window.entries] == ["gaud_0005", "gaud_0003"]
    assert window.next_cursor is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actor_id": "Alice"}, "The actor must be a user ID like"),
        ({"target_id": "two words"}, "is not a VRChat ID"),
        ({"event_type": "bans; DROP TABLE"}, "is not an event type"),
        ({"event_type": "other"}, "“other” cannot be searched for"),
        ({"since": T0, "until": T0}, "The start of the time range must be before its end."),
        ({"cursor": "garbage"}, "That page is no longer valid; run the search again."),
        ({"page_size": 0}, "A page shows between 1 and 25 entries."),
    ],
)
async def test_bad_search_input(
    services: Services, logged: Store, seeded_sim: SeededSim, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        await services.audit.search(MAYA, seeded_sim.group.id, **kwargs)  # type: ignore[arg-type]


async def test_moderators_only(services: Services, logged: Store, seeded_sim: SeededSim) -> None:
    with pytest.raises(PermissionDenied):
        await services.audit.search(EVE, seeded_sim.group.id)
    with pytest.raises(PermissionDenied):
        await services.audit.export_csv(EVE, seeded_sim.group.id)
    assert await actions(logged) == []


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


async def test_export_csv(services: Services, logged: Store, seeded_sim: SeededSim) -> None:
    gid = seeded_sim.group.id
    full = await services.audit.export_csv(MAYA, gid)
    rows = _rows(full.data)
    assert rows[0][:3] == ["id", "created_at", "event_type"]
    assert [r[0] for r in rows[1:]] == [f"gaud_{n:04d}" for n in range(9, -1, -1)]
    assert rows[1][4] == '\'=HYPERLINK("x")'  # neutralised formula
    assert rows[1][6] == "entry 9\nsecond line, “quoted”"
    assert (full.rows, full.capped, full.note) == (10, False, "Exported 10 matching entries.")
    assert full.filename.startswith(f"audit-{gid}-") and full.filename.endswith(".csv")

    capped = await services.audit.export_csv(MAYA, gid, limit=3)
    rows = _rows(capped.data)
    assert [r[0] for r in rows[1:]] == ["gaud_0009", "gaud_0008", "gaud_0007"]
    assert (capped.rows, capped.capped) == (3, True)
    assert capped.note.startswith("Exported the newest 3 matching entries; that is the limit for one file.")

    exact = await services.audit.export_csv(MAYA, gid, event_type="moderation", limit=5)
    assert (exact.rows, exact.capped) == (5, False)

    log = await actions(logged, action="audit.export")
    assert [(a.details["rows"], a.details["capped"]) for a in reversed(log)] == [
        (10, False),
        (3, True),
        (5, False),
    ]
    with pytest.raises(InvalidInput, match="between 1 and"):
        await services.audit.export_csv(MAYA, gid, limit=EXPORT_CAP + 1)
