"""The declarative base of every table and the column types they share, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, ForeignKey, Integer, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

# Explicit constraint names: SQLite batch migrations can only drop/alter constraints that have names,
# and identical names on both backends keep the autogenerate comparison meaningful.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend.

    SQLite has no timezone type: SQLAlchemy would silently drop the offset of an aware value, so we
    normalise to UTC first and store it naive; the fixed-width ISO text it writes sorts correctly.
    Naive input is refused rather than guessed at: it is always a bug upstream.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only accepts timezone-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Surrogate keys: 64-bit on PostgreSQL, but SQLite only auto-increments a column declared INTEGER.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
# Python None stored as SQL NULL rather than the JSON literal 'null'.
JSONValue = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONValue,
        list[Any]: JSONValue,
    }


def surrogate_id() -> MappedColumn[int]:
    """A table's own auto-incremented key."""
    return mapped_column(BigIntPK, primary_key=True, autoincrement=True)


def binding_fk(**options: Any) -> MappedColumn[int]:
    """The binding a row belongs to: removing the binding removes its rows (ON DELETE CASCADE)."""
    return mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"), **options)
