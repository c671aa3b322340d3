"""Column types and helpers shared by every model."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DateTime, Enum, TypeDecorator

from .. import clock


def utcnow() -> dt.datetime:
    """The current instant (UTC), from the clinic's clock (kaptracker.clock)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as naive UTC
    and given their zone back on the way out. Naive values on the way in are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A string column restricted to ``enum_cls``'s values by a named CHECK constraint.

    Not a native PostgreSQL enum: adding a value is then one migration that replaces a CHECK,
    the same on SQLite and PostgreSQL.
    """
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )
