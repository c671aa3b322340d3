"""The service layer: one command per clinical write.

Every clinical action (register a client, start or end a course, record a score, co-sign…) is a
plain function in a module of this package::

    command(record_or_parent, data: Mapping, user) -> Outcome

- ``record_or_parent`` is the record the view has already loaded through :mod:`kaptracker.access`
  (so the user may see it): the record changed, or the parent of the record created.
- ``data`` is the form's data (``form.data``, a plain mapping of field name to value), never the
  form: a command runs the same from a view, a test or a script, without HTTP.
- ``user`` is the acting user (``current_user`` in a view).

A command applies the clinical rules and the ownership check (the one
:func:`kaptracker.rules.access.may_write` rule), writes the audit change event and **commits**:
the command is the transaction. A refused command writes nothing and returns problems; it commits
nothing. Commit is done in the command (not left to the view) so that a write and its audit event
can never be separated by a view that forgets one of them.

The :class:`Outcome` carries ``problems`` keyed by form field name (``""`` for the form as a
whole), the created or changed ``record``, and the ``message`` to flash (with its category).
Views are load → form → command → render: :func:`apply_problems` puts the problems beside the
fields (a problem of the whole form goes to the view, which flashes or shows it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from ..auditing import record as audit
from ..extensions import db
from ..models import AuditAction

FORM = ""  # the problems key of the form as a whole


@dataclasses.dataclass
class Outcome:
    problems: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    record: Any = None
    message: str | None = None
    category: str = "success"
    conflict: bool = False  # the record was saved by someone else since the form was read

    @property
    def ok(self) -> bool:
        return not self.problems and not self.conflict

    @classmethod
    def refused(cls, field: str, message: str, *, record: Any = None) -> Outcome:
        return cls(problems={field: [message]}, record=record)


def refusal(message: str, field: str = FORM, *, category: str = "error", record: Any = None) -> Outcome:
    """A refused command whose one problem is also its ``message``: what a view that redirects
    flashes (with ``category``), and what a view that renders puts beside ``field``."""
    return Outcome(problems={field: [message]}, record=record, message=message, category=category)


def apply_problems(form, outcome: Outcome) -> list[str]:
    """Put the outcome's problems beside the form's fields (a message the field shows already,
    one the form found itself, is not repeated); return those of the form as a whole (and of
    fields the form does not have) for the view to show."""
    rest: list[str] = []
    for name, messages in outcome.problems.items():
        field = form._fields.get(name) if name else None
        if field is None:
            rest.extend(messages)
            continue
        if not isinstance(field.errors, list):  # WTForms keeps a tuple until validation
            field.errors = list(field.errors)
        field.errors.extend(m for m in messages if m not in field.errors)
    return rest


def created(row, user, *, audit_as: str, message: str, client_id: int | None = None,
            detail: str | None = None) -> Outcome:
    """Add ``row``, audit its creation (as an ``audit_as`` record) and commit: the outcome of a
    command that creates one record."""
    db.session.add(row)
    db.session.flush()
    audit(AuditAction.CREATE, audit_as, row.id, client_id=client_id, detail=detail, user=user)
    db.session.commit()
    return Outcome(record=row, message=message)


def changes_saved(row, fields: list[str], user, *, audit_as: str, message: str, client_id: int | None = None,
                  also: str = "") -> Outcome:
    """Audit the changed ``fields`` of ``row`` (``also`` added to the detail) and commit; no field
    changed is said, nothing written. A save of ``row`` by someone else that won the race by a
    moment (its version no longer matches) is a conflict: rolled back."""
    if not fields:
        return Outcome(record=row, message="Nothing was changed.", category="info")
    audit(AuditAction.UPDATE, audit_as, row.id, client_id=client_id,
          detail="changed: " + ", ".join(fields) + also, user=user)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        return Outcome(record=row, conflict=True)
    return Outcome(record=row, message=message)


def data_of(data: Mapping, *names: str) -> dict:
    return {name: data.get(name) for name in names}
