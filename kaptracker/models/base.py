"""Column types and helpers shared by every model."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, DateTime, Enum, ForeignKey, String, TypeDecorator
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

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


def set_together(name: str, *columns: str) -> CheckConstraint:
    """A CHECK that ``columns`` are either all NULL or all set (a step recorded with its who, when
    and why, or not at all)."""
    unset = " AND ".join(f"{column} IS NULL" for column in columns)
    done = " AND ".join(f"{column} IS NOT NULL" for column in columns)
    return CheckConstraint(f"({unset}) OR ({done})", name=name)


def not_empty(column: str) -> CheckConstraint:
    """A CHECK that the text ``column`` is not the empty string."""
    return CheckConstraint(f"length({column}) > 0", name=f"{column}_not_empty")


ERROR_MARK = ("entered_in_error_at", "entered_in_error_by_id", "error_reason")


class EnteredInError:
    """A record that is never edited: a wrong one is marked entered in error (when, by whom, why),
    stays in the history, and is typed in again. The table checks the three are set together:
    ``set_together("error_marked_together", *ERROR_MARK)``."""

    entered_in_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    entered_in_error_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    error_reason: Mapped[str | None] = mapped_column(String(200))

    @declared_attr
    def entered_in_error_by(cls):
        """The User who marked it (named as a string: base.py imports no model)."""
        return relationship("User", foreign_keys=lambda: [cls.entered_in_error_by_id])

    @property
    def in_error(self) -> bool:
        return self.entered_in_error_at is not None
