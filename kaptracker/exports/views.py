"""Export routes. Each asks why the data leaves (the purpose page), reads in a fixed number of
queries (exports.rows), records what it exported through its command (services.exports), then
answers with an attachment."""

from __future__ import annotations

import dataclasses
import json

from flask import current_app, url_for
from flask_login import current_user

from . import bp, fhir, rows
from .. import clock, disclosures
from ..access import get_client_for, get_course_for, requires
from ..scope import listing_clause
from ..models import utcnow
from ..rules.access import Permission
from ..services import exports
from .tables import attachment, csv_text, filename_part


@dataclasses.dataclass(frozen=True)
class Export:
    """What an export's purpose page says: its title, what leaves the clinic, and the page its
    Back link returns to (an endpoint, given the exported record's id)."""

    title: str
    what: str
    back: str


FHIR = Export("Export the whole record (FHIR R4)",
              "Every course, session, dose, reading and score of this client as one FHIR R4 bundle (JSON), to move "
              "the record to another system.", "clients.show")
CASELOAD = Export("Download the caseload (CSV)",
                  "One row per client you can see: record number, name, therapist, status, course and last contact.",
                  "clients.index")
COURSE_VITALS = Export("Download the vitals of this course (CSV)",
                       "Every reading of every session of the course, readings marked in error included.",
                       "courses.show")


def _once_asked(export: Export, send, **record):
    """``send(purpose, *record)``, the attachment, once the user has said why the data leaves and
    to whom; until then the page that asks it. ``record``: the exported client (``client=``) or
    course (``course=``), if any, named on the page."""
    back_url = url_for(export.back, **{f"{name}_id": value.id for name, value in record.items()})
    purpose, page = disclosures.purpose_or_page(title=export.title, what=export.what, back_url=back_url, **record)
    return page or send(purpose, *record.values())


@bp.route("/clients/<int:client_id>/fhir", methods=["GET", "POST"])
@requires(Permission.EXPORT_RECORDS)
def client_fhir(client_id: int):
    """The client's whole record as a FHIR R4 Bundle (JSON), for moving it to another system."""
    return _once_asked(FHIR, _fhir_bundle, client=get_client_for(current_user, client_id))


@bp.route("/exports/caseload.csv", methods=["GET", "POST"])
@requires(Permission.EXPORT_RECORDS)
def caseload_csv():
    """One row per client in the user's scope: three queries whatever the caseload's size."""
    return _once_asked(CASELOAD, _caseload_csv)


@bp.route("/courses/<int:course_id>/vitals.csv", methods=["GET", "POST"])
@requires(Permission.EXPORT_VITALS)
def course_vitals_csv(course_id: int):
    """Every reading of every session of the course, readings marked in error included."""
    return _once_asked(COURSE_VITALS, _course_vitals_csv, course=get_course_for(current_user, course_id))


def _fhir_bundle(purpose, client):
    bundle = fhir.client_bundle(
        fhir.load_client_record(client), now=utcnow(),
        record_number_system=current_app.config.get("FHIR_RECORD_NUMBER_SYSTEM") or fhir.RECORD_NUMBER_SYSTEM,
    )
    exports.fhir_bundle(client, fhir.resource_counts(bundle), purpose, current_user)
    return attachment(json.dumps(bundle, ensure_ascii=False, indent=1),
                      f"record-{filename_part(client.record_number)}-fhir-r4.json", "application/fhir+json")


def _caseload_csv(purpose):
    clients, table = rows.caseload(listing_clause(current_user))
    exports.caseload(clients, purpose, current_user)
    return attachment(csv_text(rows.CASELOAD_HEADER, table), f"caseload-{clock.today().isoformat()}.csv",
                      "text/csv")


def _course_vitals_csv(purpose, course):
    table, sessions = rows.course_vitals(course)
    exports.course_vitals(course, len(table), sessions, purpose, current_user)
    return attachment(csv_text(rows.VITALS_HEADER, table), f"course-{course.id}-vitals.csv", "text/csv")
