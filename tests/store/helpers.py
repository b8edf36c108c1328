"""Builders for store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.store import AuditEntryIn, BindingIn, Store

GROUP = "grp_00000000-0000-0000-0000-000000000001"
OTHER_GROUP = "grp_00000000-0000-0000-0000-000000000002"
GUILD = 111_111_111_111_111_111
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def entry(
    n: int,
    *,
    event_type: str = "group.user.ban",
    at: datetime | None = None,
    actor_id: str | None = "usr_actor",
    target_id: str | None = "usr_target",
    description: str | None = None,
    data: dict[str, Any] | None = None,
    entry_id: str | None = None,
) -> AuditEntryIn:
    """Entry n, by default n seconds after T0 (so higher n = newer)."""
    return AuditEntryIn(
        id=entry_id or f"gaud_{n:08d}",
        created_at=at if at is not None else T0 + timedelta(seconds=n),
        event_type=event_type,
        actor_id=actor_id,
        actor_display_name="Actor Name",
        target_id=target_id,
        description=description if description is not None else f"entry {n}",
        data=data if data is not None else {"n": n},
    )


def entries(numbers: range | list[int], **kwargs: Any) -> list[AuditEntryIn]:
    return [entry(n, **kwargs) for n in numbers]


def binding(
    channel_id: int,
    *,
    group_id: str = GROUP,
    families: tuple[str, ...] = (),
    guild_id: int = GUILD,
    roles: tuple[int, ...] = (),
) -> BindingIn:
    return BindingIn(
        group_id=group_id,
        guild_id=guild_id,
        feed_channel_id=channel_id,
        requests_channel_id=None,
        moderator_role_ids=roles,
        event_families=families,
    )


async def count_rows(store: Store, table: str, where: str = "") -> int:
    """Raw row count, straight from SQL, so assertions do not trust the store's own read paths."""
    sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {where}" if where else "")  # noqa: S608 - test-only, fixed names
    async with store.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def link_directly(store: Store, discord_id: int, vrchat_id: str) -> None:
    """A link between the two accounts made with the store's own calls, as the Verify button makes
    them (what /link does around them is tested elsewhere)."""
    now = datetime.now(UTC)
    code = await store.issue_link_code(
        discord_id, vrchat_id, "0" * 64, now=now, expires_at=now + timedelta(minutes=10), purge_before=now
    )
    await store.complete_link(code.id, discord_id, vrchat_id, now=now)
