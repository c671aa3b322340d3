"""Things done once to a record: acknowledging a safety alert or a PHQ-9 item-9 flag, marking a
reading or a score entered in error. Every one of them goes through :func:`do_once`, so each
tells the same things in the same order:

1. already done (before this form was read): told, nothing written;
2. the form's own problems: sent back, nothing written;
3. done by someone else a moment ago (the database's ``set_once`` matched no row): told, and
   nothing of this person's replaces the first's;
4. otherwise written, then ``then()`` adds what follows from it (withdrawn alerts, the audit
   event) and the whole is committed.

Beside it, the small pieces the commands that tell their outcome as a flash share:
:func:`refusal` (a refused outcome with its flash category), :func:`told` (the outcome in one
line), :func:`form_problems` (the form's own errors as problems) and :func:`in_error` (the values
that mark a record entered in error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..auditing import set_once
from ..extensions import db
from ..models import utcnow
from . import FORM, Outcome

NO_ERRORS: Mapping[str, Sequence[str]] = {}


def refusal(message: str, *, category: str = "error", field: str = FORM, record=None) -> Outcome:
    """A refused outcome told as a flash of ``category`` (``"info"`` when nothing was wrong to try)."""
    return Outcome(problems={field: [message]}, record=record, category=category)


def told(outcome: Outcome, default: str = "") -> str:
    """What to tell the user of ``outcome`` in one line: its message, else its problems."""
    return outcome.message or " ".join(m for messages in outcome.problems.values() for m in messages) or default


def form_problems(form_errors: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {name: list(messages) for name, messages in form_errors.items() if messages}


def in_error(data: Mapping, user) -> dict:
    """What marks a reading or a score entered in error by ``user``, for ``data["error_reason"]``."""
    return dict(entered_in_error_at=utcnow(), entered_in_error_by_id=user.id, error_reason=data.get("error_reason"))


def do_once(row, done, values: Mapping, *, already: str, lost: str | Callable[[object], str],
            then: Callable[[], Outcome], still_unset=(),
            form_errors: Mapping[str, Sequence[str]] = NO_ERRORS) -> Outcome:
    """Write ``values`` to ``row`` while its ``done`` column (and each of ``still_unset``) is
    NULL. ``lost`` is what the second of two people doing it at once is told (called with the
    row, read again, when it depends on what the first did)."""
    if getattr(row, done.key) is not None:
        return refusal(already, category="info", record=row)
    if problems := form_problems(form_errors):
        return Outcome(problems=problems, record=row, category="error")
    if not set_once(type(row), row.id, done, *still_unset, **values):
        db.session.rollback()  # the row is read again below, as the first person left it
        return refusal(lost(row) if callable(lost) else lost, record=row)
    db.session.expire(row)
    outcome = then()
    db.session.commit()
    return outcome


__all__ = ["NO_ERRORS", "do_once", "form_problems", "in_error", "refusal", "told"]
