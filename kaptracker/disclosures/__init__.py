"""Disclosures of a client's data and their accounting (45 CFR 164.528).

A disclosure is a copy of a client's data leaving the tracker (a PDF summary, a CSV, a FHIR
bundle) or an emergency opening of their record outside the care team (break-glass), recorded
with who, when, what and why in the append-only ``disclosure`` table. A client may ask for the
list of the last six years: ``/clients/<id>/disclosures`` (page and CSV).

Every way of disclosing is a *kind* in :data:`KINDS`; every export states its *purpose*, one of
:data:`PURPOSES`, chosen by the person exporting (:func:`purpose_or_page`). A new way of
disclosing (the ledger's lot traces) calls :func:`register_kind` and :func:`disclose`: the table
stores kinds as text, so it needs no migration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dataclasses import dataclass

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import insert
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, ValidationError

from .. import clock
from ..extensions import db
from ..forms import Form, choices, max_length, no_control_characters, stripped
from ..models import Disclosure, utcnow

bp = Blueprint("disclosures", __name__)

KINDS: dict[str, str] = {
    "summary_pdf": "Course summary (PDF)",
    "vitals_csv": "Vitals of a course (CSV)",
    "caseload_csv": "Row of a caseload list (CSV)",
    "fhir_bundle": "Whole record (FHIR R4 bundle)",
    "break_glass": "Emergency access (break-glass)",
}

# The purposes a person exporting chooses from; "emergency" is the break-glass form's own.
PURPOSES: dict[str, str] = {
    "treatment": "Treatment: sent to another provider",
    "client_request": "The client asked for a copy",
    "payment": "Payment or insurance",
    "operations": "Clinic operations (quality review, audit)",
    "legal": "Required by law (court order, subpoena, public health)",
}
EMERGENCY = "emergency"
PURPOSE_LABELS: dict[str, str] = {**PURPOSES, EMERGENCY: "Emergency care outside the care team"}

ACCOUNTING_YEARS = 6  # 45 CFR 164.528(a): the six years before the request


def register_kind(key: str, label: str) -> None:
    """A new way of disclosing (for example ``"lot_trace"`` once the ledger exists)."""
    if len(key) > 40:
        raise ValueError(f"disclosure kind {key!r} is longer than 40 characters")
    KINDS.setdefault(key, label)


def _checked(kind: str, purpose: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown disclosure kind {kind!r}: register it in kaptracker.disclosures")
    if purpose not in PURPOSE_LABELS:
        raise ValueError(f"unknown disclosure purpose {purpose!r}")


def disclose(kind: str, *, client_id: int, purpose: str, record_type: str, record_id: int | None,
             what: str, recipient: str | None = None, reason: str | None = None, user=None) -> Disclosure:
    """Add a disclosure to the session: it is committed with the export's audit event."""
    _checked(kind, purpose)
    disclosure = Disclosure(
        at=utcnow(), client_id=client_id, user_id=(user or current_user).id, kind=kind, purpose=purpose,
        record_type=record_type, record_id=record_id, what=what[:2000], recipient=recipient,
        reason=reason and reason[:2000],
    )
    db.session.add(disclosure)
    return disclosure


def disclose_many(kind: str, client_ids: Iterable[int], *, purpose: str, record_type: str, what: str,
                  recipient: str | None = None, user=None) -> None:
    """One disclosure per client (a caseload list): a single multi-row INSERT whatever their number."""
    _checked(kind, purpose)
    now, user_id = utcnow(), (user or current_user).id
    rows = [{"at": now, "client_id": cid, "user_id": user_id, "kind": kind, "purpose": purpose,
             "record_type": record_type, "record_id": cid, "what": what, "recipient": recipient,
             "reason": None}
            for cid in client_ids]
    if rows:
        db.session.execute(insert(Disclosure), rows)


def accounting_start(today: dt.date) -> dt.date:
    """The first day of the accounting period: the same date six years earlier (28 February for
    a 29 February)."""
    try:
        return today.replace(year=today.year - ACCOUNTING_YEARS)
    except ValueError:
        return today.replace(year=today.year - ACCOUNTING_YEARS, day=28)


def accounting_since() -> dt.datetime:
    return clock.day_start(accounting_start(clock.today()))


def _recipient_needed(form, field):
    if form.purpose.data in PURPOSES and form.purpose.data != "client_request" and not field.data:
        raise ValidationError("Write who receives the data (a person or an organisation): the client "
                              "may ask, and the accounting must say.")


class PurposeForm(Form):
    """Why an export is made and who receives it, asked before anything leaves. Posted (with its
    CSRF token): the recipient is free text, which a URL must not carry."""

    purpose = SelectField(
        "Purpose of the export",
        choices=choices([("", "Choose a purpose"), *PURPOSES.items()]),
        validate_choice=False,
        validators=[AnyOf(list(PURPOSES), message="Choose why the data is leaving the tracker: "
                                                  "it is listed in the client's accounting of disclosures.")],
        description="Why the data leaves the tracker. Recorded with the export, and shown to the client "
                    "if they ask who received their data.",
    )
    recipient = StringField(
        "Who receives it", filters=[stripped],
        validators=[_recipient_needed, max_length(200), no_control_characters],
        description="A person or an organisation, for example: Dr Imani Osei, Riverside Psychiatry. "
                    "Not needed when the client asked for their own copy.",
    )


@dataclass(frozen=True)
class Purpose:
    code: str
    recipient: str | None

    @property
    def label(self) -> str:
        return PURPOSE_LABELS[self.code]


def purpose_or_page(*, title: str, what: str, back_url: str, **context):
    """(the purpose, None) when the request posts a valid purpose and recipient; otherwise
    (None, the page that asks for them: 200 on GET, 422 with the messages beside the fields)."""
    form = PurposeForm()
    if request.method == "POST" and form.validate_on_submit():
        return Purpose(form.purpose.data, form.recipient.data), None
    page = render_template("disclosures/purpose.html", form=form, title=title, what=what,
                           back_url=back_url, **context)
    return None, (page, 422 if request.method == "POST" else 200)
