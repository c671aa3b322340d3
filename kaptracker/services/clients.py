"""Client registry commands: register, edit, reassign."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select

from ..auditing import changed_fields, record
from ..extensions import db
from ..forms import MAX_INT
from ..models import AuditAction, Client, ClientStatus, Site
from ..rules.access import Role, may_write
from . import FORM, Outcome, changes_saved

PLAIN_FIELDS = (
    "record_number", "given_name", "family_name", "preferred_name", "pronouns",
    "date_of_birth", "phone", "email", "address", "emergency_contact_name",
    "emergency_contact_relationship", "emergency_contact_phone", "therapist_id", "home_site_id",
)

DUPLICATE = ("A client with this name and date of birth is already registered. "
             "Check it is not the same person, then tick this box to register anyway.")


def duplicates(data: Mapping, *, exclude: Client | None = None) -> list[Client]:
    """Existing clients with the same name and date of birth (a likely double registration)."""
    if not (data.get("family_name") and data.get("given_name") and data.get("date_of_birth")):
        return []
    stmt = select(Client).where(
        func.lower(Client.family_name) == data["family_name"].lower(),
        func.lower(Client.given_name) == data["given_name"].lower(),
        Client.date_of_birth == data["date_of_birth"],
    )
    if exclude is not None:
        stmt = stmt.where(Client.id != exclude.id)
    return list(db.session.scalars(stmt.limit(5)))


def _site_problem(data: Mapping, client: Client | None = None) -> str | None:
    """A client's home site is an active site; one since deactivated stays until changed."""
    site_id = data.get("home_site_id")
    if client is not None and site_id == client.home_site_id:
        return None
    site = db.session.get(Site, site_id) if isinstance(site_id, int) and 0 < site_id <= MAX_INT else None
    if site is None or not site.active:
        return "Choose one of the active sites listed."
    return None


def _apply(data: Mapping, client: Client) -> None:
    for name in PLAIN_FIELDS:
        setattr(client, name, data.get(name))
    indications = data.get("indications") or []
    client.status = ClientStatus(data["status"])
    client.indications = indications
    client.indication_other = data.get("indication_other") if "other" in indications else None
    if client.email:
        client.email = client.email.lower()


def register(data: Mapping, user, *, found: list[Client] | None = None) -> Outcome:
    """Register a client. A therapist registers into their own caseload; a likely duplicate
    needs ``confirm_duplicate``. ``found`` is the duplicates already looked up (else looked up)."""
    if not may_write(user.role, user_id=user.id, therapist_id=data.get("therapist_id")):
        return Outcome.refused("therapist_id", "Therapists register clients into their own caseload.")
    site_problem = _site_problem(data)
    if site_problem:
        return Outcome.refused("home_site_id", site_problem)
    found = duplicates(data) if found is None else found
    if found and not data.get("confirm_duplicate"):
        return Outcome.refused("confirm_duplicate", DUPLICATE)
    client = Client()
    _apply(data, client)
    db.session.add(client)
    db.session.flush()
    record(AuditAction.CREATE, "client", client.id, client_id=client.id,
           detail="duplicate name and date of birth confirmed" if found else None, user=user)
    db.session.commit()
    return Outcome(record=client, message=f"{client.full_name} is registered.")


def edit(client: Client, data: Mapping, user, *, changes=changed_fields) -> Outcome:
    """Save the client's details; ``data["version"]`` is the version the form was read at. A save
    by someone else since then is a conflict (nothing written). ``changes`` lists the changed
    fields (the view passes its own name, the seam tests/test_conflicts.py holds two saves at)."""
    if user.role == Role.THERAPIST and data.get("therapist_id") != client.therapist_id:
        return Outcome.refused("therapist_id", "Moving a client to another caseload is a supervisor's decision.")
    if data.get("version") != str(client.version):
        return Outcome(record=client, conflict=True)
    site_problem = _site_problem(data, client)
    if site_problem:
        return Outcome.refused("home_site_id", site_problem, record=client)
    _apply(data, client)
    return changes_saved(client, changes(client), user, audit_as="client", client_id=client.id,
                         message="Changes saved.")


def reassign(client: Client, data: Mapping, user) -> Outcome:
    """Move the client to another therapist's caseload (a supervisor's decision: the view's
    permission)."""
    therapist_id = data.get("therapist_id")
    if therapist_id == client.therapist_id:
        return Outcome(record=client, message=f"{client.full_name} is already with this therapist.",
                       category="info")
    previous = client.therapist_id
    client.therapist_id = therapist_id
    record(AuditAction.UPDATE, "client", client.id, client_id=client.id,
           detail=f"reassigned from therapist {previous} to {client.therapist_id}", user=user)
    db.session.commit()
    db.session.refresh(client)
    return Outcome(record=client, message=f"{client.full_name} is now with {client.therapist.name}.")


__all__ = ["FORM", "duplicates", "edit", "register", "reassign"]
