"""Two people saving the same record: the second save is refused, never applied over the first.

The refused person gets a conflict page (status 409) that shows, field by field, the version now
saved (who saved it and when) beside the one they tried to save, with the differences marked;
what they typed stays on the page to copy, and the form starts again from the saved version.

A stale form is caught by the version it carries (a hidden field); two saves racing at the same
moment are caught by the database, where the UPDATE names the version it read (SQLAlchemy's
``version_id_col``) and raises :class:`StaleDataError` for the loser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import AuditAction, AuditEvent, User
from ..templating import localtime

__all__ = ["Conflict", "Row", "StaleDataError", "compare", "fingerprint", "last_saved"]

NEVER_SHOWN = {"csrf_token", "submit", "version", "calculate", "previewed_mg"}


@dataclass
class Row:
    label: str
    saved: str
    yours: str

    @property
    def differs(self) -> bool:
        return self.saved.strip() != self.yours.strip()

    @property
    def lines(self) -> int:
        """Rows for the read-only box that holds the user's text to copy."""
        return min(8, max(2, len(self.yours) // 60 + self.yours.count("\n") + 1))


@dataclass
class Conflict:
    """What the conflict page shows."""

    what: str  # "client", "preparation session", "account"...
    rows: list[Row] = field(default_factory=list)
    saved_by: str | None = None
    saved_at: dt.datetime | None = None
    restart_url: str | None = None  # the form again, from the saved version
    saved_known: bool = True  # False: only what the user sent is known (see errors.py)

    @property
    def differences(self) -> list[Row]:
        return [row for row in self.rows if row.differs]


def shown(form_field) -> str:
    """A form field's value as a person reads it: choice labels, Yes/No, clinic-time dates."""
    data = form_field.data
    kind = form_field.type
    if kind in ("SelectField", "RadioField"):
        labels = {str(c.value): c.label for c in form_field.choices}
        return "" if data in (None, "") else str(labels.get(str(data), data))
    if kind in ("MultiCheckboxField", "SelectMultipleField"):
        chosen = {str(v) for v in data or []}
        return ", ".join(str(c.label) for c in form_field.choices if str(c.value) in chosen)
    if kind == "BooleanField":
        return "Yes" if data else "No"
    if isinstance(data, dt.datetime):
        return localtime(data) if data.tzinfo else data.strftime("%d %b %Y %H:%M")
    if isinstance(data, dt.date):
        return data.strftime("%d %b %Y")
    if isinstance(data, Decimal):
        return f"{data.normalize():f}"
    return "" if data is None else str(data)


def compare(saved_form, yours_form, *, skip=()) -> list[Row]:
    """One row per field of the form: the saved value beside the one the user sent."""
    rows = []
    for name, saved_field in saved_form._fields.items():
        if name in NEVER_SHOWN or name in skip or name not in yours_form._fields:
            continue
        rows.append(Row(str(saved_field.label.text), shown(saved_field), shown(yours_form[name])))
    return rows


def last_saved(record_type: str, record_id: int | None) -> tuple[str | None, dt.datetime | None]:
    """(name, time) of the latest recorded creation or change of a record, from the audit trail."""
    stmt = (
        select(User.name, AuditEvent.at)
        .select_from(AuditEvent)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.record_type == record_type,
               AuditEvent.action.in_([AuditAction.CREATE, AuditAction.UPDATE]))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    stmt = stmt.where(AuditEvent.record_id.is_(None) if record_id is None else AuditEvent.record_id == record_id)
    row = db.session.execute(stmt).first()
    return (row[0], row[1]) if row else (None, None)


def fingerprint(*values) -> str:
    """A version for a record without a version column: a digest of the values a form edits."""
    text = "\x1f".join("" if v is None else str(v) for v in values)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
