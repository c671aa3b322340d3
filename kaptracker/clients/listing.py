"""The client list's query: the user's scope, the filters of the query string and a name search."""

from __future__ import annotations

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import Client, ClientStatus, ClinicalSession, Course, SafetyAlert, Site

# Ids and page numbers in the query string stay within the database's integer range: a larger
# one is ignored rather than a database error (route ids are bounded by the app's int converter).
MAX_INT = 2**31 - 1


def positive_int(value: str) -> int:
    """``type=`` for request.args.get: a whole number from 1 to MAX_INT, else ValueError."""
    number = int(value)
    if not 1 <= number <= MAX_INT:
        raise ValueError(value)
    return number


def filters(values) -> dict:
    """Therapist, status and open-alert filters from the request's values (they are not patient
    data); a value that is not one of the choices is ignored."""
    found = {}
    therapist = values.get("therapist", type=positive_int)
    if therapist:
        found["therapist"] = therapist
    status = values.get("status", "")
    if status in ClientStatus._value2member_map_:
        found["status"] = status
    if values.get("alerts") == "open":
        found["alerts"] = "open"
    return found


def statement(scope, chosen: dict, query_text: str | None):
    """Clients in ``scope`` that pass the ``chosen`` filters and match every word of the search,
    in order of family name, given name and id."""
    stmt = (
        select(Client)
        .where(scope)
        .options(joinedload(Client.therapist), joinedload(Client.home_site), selectinload(Client.indication_rows))
        .order_by(Client.family_name, Client.given_name, Client.id)
    )
    if "therapist" in chosen:
        stmt = stmt.where(Client.therapist_id == chosen["therapist"])
    if "status" in chosen:
        stmt = stmt.where(Client.status == chosen["status"])
    if "alerts" in chosen:
        stmt = stmt.where(Client.id.in_(_with_open_alerts()))
    if query_text:
        # Each word in the names or record number: one expression (a word has no spaces, so it
        # cannot match across two fields), which on PostgreSQL has a trigram index (0006).
        space = literal_column("' '")  # literals, not parameters: the index's expression exactly
        searched = (Client.family_name + space + Client.given_name + space
                    + func.coalesce(Client.preferred_name, literal_column("''")) + space + Client.record_number)
        for term in query_text.split()[:5]:
            stmt = stmt.where(searched.icontains(term, autoescape=True))
    return stmt


def several_sites() -> bool:
    """True when the clinic has more than one site (the list then shows each client's)."""
    return len(db.session.scalars(select(Site.id).limit(2)).all()) > 1


def _with_open_alerts():
    return (
        select(Course.client_id)
        .join(ClinicalSession, ClinicalSession.course_id == Course.id)
        .join(SafetyAlert, SafetyAlert.session_id == ClinicalSession.id)
        .where(SafetyAlert.open_clause())
    )
