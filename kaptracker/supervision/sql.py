"""Small SQL expressions that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import DateTime


class plus_hours(FunctionElement):  # noqa: N801 - used like a SQL function
    """``column + hours`` for a timestamp column, on either engine."""

    type = DateTime(timezone=True)
    inherit_cache = True
    name = "plus_hours"

    def __init__(self, column: ColumnElement, hours: int):
        self.hours = int(hours)
        super().__init__(column)


@compiles(plus_hours)
def _plus_hours_default(element, compiler, **kw):
    column = list(element.clauses)[0]
    return f"({compiler.process(column, **kw)} + interval '{element.hours} hours')"


@compiles(plus_hours, "sqlite")
def _plus_hours_sqlite(element, compiler, **kw):
    column = list(element.clauses)[0]
    # Stored as naive UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'; keep the same shape for comparison.
    # Not strftime's %f: it has milliseconds ('SS.SSS'), and text comparison then put a note signed
    # exactly at (or microseconds before) the limit after it. Whole seconds, then the stored fraction.
    value = compiler.process(column, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%S', {value}, '+{element.hours} hours') || substr({value}, 20))"


__all__ = ["plus_hours", "func", "literal_column"]
