"""Shared plumbing for the Store mixins: engine, sessions, clock, dialect helpers, row converters."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, Result, Select, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.store.types as t
from bot.store.models import (
    ActionLogRow,
    AuditEntryRow,
    BindingRow,
    GapRow,
    GroupCursorRow,
    OutboxRow,
    SetAsideRow,
)

T = TypeVar("T")
D = TypeVar("D")  # a frozen dataclass of bot.store.types (or of an Ops module): what callers get
M = TypeVar("M")  # an ORM row class of bot.store.models

# Keeps IN (...) lists well below SQLite's bound-parameter limit and PostgreSQL's 32767.
IN_CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def changed_rows(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an UPDATE or DELETE changed. Session.execute is typed to return any Result; for
    those statements it is a CursorResult, which counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} does not count changed rows")
    return result.rowcount


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StoreBase:
    """State every mixin relies on; Store.open fills it in."""

    _engine: AsyncEngine
    _sessions: async_sessionmaker[AsyncSession]
    _clock: Callable[[], datetime]

    def _now(self) -> datetime:
        return self._clock()

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    def _insert(self, table: Table) -> Any:
        """INSERT that supports on_conflict_do_nothing/do_update on the current backend."""
        if self.dialect_name == "postgresql":
            return postgresql.insert(table)
        if self.dialect_name == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(f"unsupported database backend {self.dialect_name!r}")

    async def _delete(self, model: type[Any], *where: ColumnElement[bool]) -> int:
        """DELETE the rows of `model` that match `where`, in a transaction of its own; how many went."""
        async with self._sessions.begin() as session:
            return await delete_rows(session, model, *where)

    async def _delete_in_batches(
        self, model: type[Any], *where: ColumnElement[bool], children: Sequence[Any] = ()
    ) -> int:
        """Retention's DELETE: the rows of `model` (keyed by `id`) that match `where`, IN_CHUNK at a
        time, each batch in a transaction of its own, so a purge of months of rows never holds the
        database's write lock (SQLite's is the whole file) for long while other processes work. The
        DELETE repeats `where`: a row that changed since it was read (reopened, claimed) stays.

        `children`: the foreign-key columns of rows that go with a deleted row, deleted first in its
        batch's transaction. Explicit rather than ON DELETE CASCADE, which SQLite honours only with
        PRAGMA foreign_keys on, and a connection opened by another tool might not have it."""
        gone = 0
        while True:
            async with self._sessions.begin() as session:
                found = await session.execute(select(model.id).where(*where).limit(IN_CHUNK))
                batch = found.scalars().all()
                if batch:
                    still_matching = select(model.id).where(model.id.in_(batch), *where)
                    for column in children:
                        await delete_rows(session, column.class_, column.in_(still_matching))
                    gone += await delete_rows(session, model, model.id.in_(batch), *where)
            if len(batch) < IN_CHUNK:
                return gone

    async def _update(self, model: type[Any], where: Sequence[ColumnElement[bool]], **values: Any) -> int:
        """UPDATE the rows of `model` that match `where` to `values`, in a transaction of its own; how
        many changed. One statement, so its WHERE decides a race (see CardOps.claim_card)."""
        async with self._sessions.begin() as session:
            return await update_rows(session, model, where, **values)

    async def _update_in(
        self,
        model: type[Any],
        column: Any,
        keys: Iterable[Any],
        where: Sequence[ColumnElement[bool]] = (),
        /,
        **values: Any,
    ) -> int:
        """update_in, in a transaction of its own."""
        async with self._sessions.begin() as session:
            return await update_in(session, model, column, keys, where, **values)

    async def _add(self, row: M) -> M:
        """Insert `row` in a transaction of its own; the row, with its generated id, is returned."""
        async with self._sessions.begin() as session:
            session.add(row)
        return row

    async def _add_unique(self, row: M, conflict: Exception) -> M:
        """Insert `row` in a transaction of its own; `conflict` is raised when a unique constraint
        refuses it (the constraint decides a race between processes, not a read before)."""
        try:
            return await self._add(row)
        except IntegrityError as exc:
            raise conflict from exc

    async def _row(self, model: type[M], key: Any) -> M | None:
        """The row of `model` with this primary key, if there is one."""
        async with self._sessions() as session:
            return await session.get(model, key)

    async def _get(self, model: type[M], key: Any, convert: Callable[[M], D]) -> D | None:
        """The row of `model` with this primary key, converted, if there is one."""
        row = await self._row(model, key)
        return convert(row) if row is not None else None

    async def _all(self, stmt: Select[M], convert: Callable[[M], D]) -> list[D]:
        """Every row `stmt` selects, converted, in its order."""
        async with self._sessions() as session:
            return [convert(row) for row in (await session.execute(stmt)).scalars()]

    async def _one_or_none(self, stmt: Select[M], convert: Callable[[M], D]) -> D | None:
        """The one row `stmt` selects (a unique key), converted, if there is one."""
        async with self._sessions() as session:
            row = (await session.execute(stmt)).scalar_one_or_none()
            return convert(row) if row is not None else None

    async def _upsert(self, model: type[Any], key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Insert the row of `model` with this primary `key`, or overwrite its `values`, in one
        statement of its own transaction: two writers at once leave one of their rows, whole."""
        stmt = self._insert(table(model)).values(**key, **values)
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=values)
        async with self._sessions.begin() as session:
            await session.execute(stmt)

    async def _put_binding_settings(self, model: type[Any], binding_id: int, **values: Any) -> datetime:
        """Insert or overwrite the one settings row of a binding (`model`'s primary key is binding_id),
        stamped with updated_at (returned)."""
        values["updated_at"] = now = self._now()
        await self._upsert(model, {"binding_id": binding_id}, values)
        return now

    async def _rows_in(self, model: type[M], column: Any, values: Iterable[Any]) -> list[M]:
        """The rows of `model` whose `column` is one of `values`, read IN-list chunk by chunk."""
        out: list[M] = []
        async with self._sessions() as session:
            for chunk in chunked(ids_list(values)):
                out.extend((await session.execute(select(model).where(column.in_(chunk)))).scalars())
        return out


# The statements below run with synchronize_session off: their WHERE says what they change, and a
# caller that reads a changed row back in the same session re-reads it (populate_existing) rather
# than trusting the session's copy.


async def delete_rows(session: AsyncSession, model: type[Any], *where: ColumnElement[bool]) -> int:
    """DELETE the rows of `model` that match `where`, in the session's transaction; how many went."""
    result = await session.execute(
        delete(model).where(*where), execution_options={"synchronize_session": False}
    )
    return changed_rows(result)


async def update_rows(
    session: AsyncSession, model: type[Any], where: Sequence[ColumnElement[bool]], /, **values: Any
) -> int:
    """UPDATE the rows of `model` that match `where` to `values`, in the session's transaction; how
    many changed."""
    result = await session.execute(
        update(model).where(*where).values(**values), execution_options={"synchronize_session": False}
    )
    return changed_rows(result)


async def update_in(
    session: AsyncSession,
    model: type[Any],
    column: Any,
    keys: Iterable[Any],
    where: Sequence[ColumnElement[bool]] = (),
    /,
    **values: Any,
) -> int:
    """UPDATE the rows of `model` whose `column` is one of `keys` (in their order, each once) and that
    match `where` to `values`, IN-list chunk by chunk in the session's transaction; how many changed."""
    changed = 0
    for chunk in chunked(ids_list(keys)):
        changed += await update_rows(session, model, [column.in_(chunk), *where], **values)
    return changed


async def reread(session: AsyncSession, model: type[M], *where: ColumnElement[bool]) -> M:
    """The one row of `model` that matches `where`, as the database has it now (after the session's
    own INSERT ... ON CONFLICT and UPDATE statements, which its copy does not follow)."""
    stmt = select(model).where(*where).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


def table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def from_row(cls: type[D], row: object, **converted: Any) -> D:
    """The frozen dataclass `cls` built from an ORM row with the same column names; `converted` gives
    the fields that need more than a copy (a nested value, a JSON list as a tuple). A field the row
    lacks fails here, at the first read, rather than as a silently missing value."""
    names = _FIELD_NAMES.get(cls) or _FIELD_NAMES.setdefault(cls, _field_names(cls))
    return cls(**{name: getattr(row, name) for name in names if name not in converted}, **converted)


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def fields_of(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, the values as they are (dataclasses.asdict copies them deeply):
    the way in for an ORM row whose columns have the same names."""
    return {name: getattr(value, name) for name in _field_names(type(value))}


def entry_from_row(row: AuditEntryRow) -> t.StoredEntry:
    return from_row(t.StoredEntry, row)


def cursor_from_row(row: GroupCursorRow) -> t.GroupCursor:
    return from_row(t.GroupCursor, row)


def binding_from_row(row: BindingRow) -> t.Binding:
    return from_row(
        t.Binding,
        row,
        moderator_role_ids=tuple(int(r) for r in row.moderator_role_ids or ()),
        event_families=tuple(str(f) for f in row.event_families or ()),
    )


def outbox_from_rows(row: OutboxRow, entry: AuditEntryRow, aside: SetAsideRow | None = None) -> t.OutboxItem:
    return from_row(
        t.OutboxItem,
        row,
        entry=entry_from_row(entry),
        set_aside=None if aside is None else from_row(t.SetAside, aside),
    )


def gap_from_row(row: GapRow) -> t.Gap:
    return from_row(t.Gap, row)


def action_from_row(row: ActionLogRow) -> t.ActionRecord:
    return from_row(t.ActionRecord, row)


def action_row(action: t.ActionIn, now: datetime) -> ActionLogRow:
    """The action-log row of `action`, logged at `now` (details copied into a plain dict for JSON)."""
    details = dict(action.details) if action.details is not None else None
    return ActionLogRow(**fields_of(action) | {"details": details, "created_at": now})


def equal_where_given(pairs: Iterable[tuple[Any, object]]) -> list[ColumnElement[bool]]:
    """`column == value` (a mapped column) for each pair whose value is given: the optional filters
    of a list query, where None means "any"."""
    return [column == value for column, value in pairs if value is not None]


def ids_list(ids: Iterable[Any]) -> list[Any]:
    """De-duplicate while keeping order, so chunked IN lists stay small and results stay stable."""
    return list(dict.fromkeys(ids))


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so user-supplied prefixes match literally (use with escape='\\\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
